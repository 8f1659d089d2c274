"""Shared by the Python echo servers: arguments, sockets on 127.0.0.1 port 0, the ready line, SIGTERM.

Each server listens twice, plain (ws://) and TLS (wss://, the certificate from --cert/--key), prints one
JSON line {"ws": <port>, "wss": <port>} once both accept connections, and exits on SIGTERM or SIGINT.
"""
import argparse
import asyncio
import json
import signal
import socket
import ssl


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    return parser.parse_args()


def tls_context(args):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    return context


def loopback_socket():
    """A listening TCP socket on 127.0.0.1, port chosen by the kernel."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def ready(plain, tls):
    print(json.dumps({"ws": plain.getsockname()[1], "wss": tls.getsockname()[1]}), flush=True)


async def until_stopped():
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    await stop
