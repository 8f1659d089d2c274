"""Echo server on autobahn (Debian python3-autobahn, 22.7) over asyncio, its defaults (no compression)."""
import asyncio

from autobahn.asyncio.websocket import WebSocketServerFactory, WebSocketServerProtocol

import common


class Echo(WebSocketServerProtocol):
    def onMessage(self, payload, isBinary):
        self.sendMessage(payload, isBinary)


async def main():
    args = common.parse_args()
    loop = asyncio.get_running_loop()
    factory = WebSocketServerFactory()
    factory.protocol = Echo
    plain, tls = common.loopback_socket(), common.loopback_socket()
    servers = [
        await loop.create_server(factory, sock=plain),
        await loop.create_server(factory, sock=tls, ssl=common.tls_context(args)),
    ]
    common.ready(plain, tls)
    try:
        await common.until_stopped()
    finally:
        for server in servers:
            server.close()


asyncio.run(main())
