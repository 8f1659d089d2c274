"""Echo server on python-websockets (Debian python3-websockets, 10.4), its defaults (permessage-deflate on)."""
import asyncio

import websockets

import common


async def echo(ws, _path=None):
    async for message in ws:
        await ws.send(message)


async def main():
    args = common.parse_args()
    plain, tls = common.loopback_socket(), common.loopback_socket()
    async with websockets.serve(echo, sock=plain), websockets.serve(echo, sock=tls, ssl=common.tls_context(args)):
        common.ready(plain, tls)
        await common.until_stopped()


asyncio.run(main())
