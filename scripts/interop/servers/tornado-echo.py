"""Echo server on tornado (Debian python3-tornado, 6.2), its defaults (no compression)."""
import asyncio

import tornado.httpserver
import tornado.web
import tornado.websocket

import common


class Echo(tornado.websocket.WebSocketHandler):
    def check_origin(self, origin):
        return True

    def on_message(self, message):
        self.write_message(message, binary=isinstance(message, bytes))


async def main():
    args = common.parse_args()
    app = tornado.web.Application([(r"/.*", Echo)])
    plain, tls = common.loopback_socket(), common.loopback_socket()
    tornado.httpserver.HTTPServer(app).add_sockets([plain])
    tornado.httpserver.HTTPServer(app, ssl_options=common.tls_context(args)).add_sockets([tls])
    common.ready(plain, tls)
    await common.until_stopped()


asyncio.run(main())
