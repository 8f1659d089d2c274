"""Echo server on aiohttp (Debian python3-aiohttp, 3.8), its defaults (compress=True: permessage-deflate on)."""
import asyncio

from aiohttp import WSMsgType, web

import common


async def echo(request):
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for message in ws:
        if message.type == WSMsgType.TEXT:
            await ws.send_str(message.data)
        elif message.type == WSMsgType.BINARY:
            await ws.send_bytes(message.data)
    return ws


async def main():
    args = common.parse_args()
    app = web.Application()
    app.router.add_get("/{tail:.*}", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    plain, tls = common.loopback_socket(), common.loopback_socket()
    await web.SockSite(runner, plain).start()
    await web.SockSite(runner, tls, ssl_context=common.tls_context(args)).start()
    common.ready(plain, tls)
    try:
        await common.until_stopped()
    finally:
        await runner.cleanup()


asyncio.run(main())
