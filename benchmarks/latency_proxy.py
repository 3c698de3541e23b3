"""A loopback TCP proxy that adds a fixed delay to every HTTP request: object-store figures at
the first-byte latency of a real region, from a server on this machine.

Each connection's client-to-server bytes are forwarded in order; the first bytes a client
sends after the server has answered (or the connection's first bytes) start a new request
and wait ``delay`` seconds before they go on. The rest of a request (a PUT's body) and every
server byte flow at once. So each request costs one delay more, as a round trip to a remote
endpoint would, however its client pools connections.

    python benchmarks/latency_proxy.py --upstream 127.0.0.1:PORT --delay-ms 30
    # prints the proxy's URL; point OBJECT_STORE_ENDPOINT (or a client) at it

or in a script: ``with LatencyProxy("127.0.0.1", port, 0.030) as url: ...``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import threading
from types import TracebackType


class LatencyProxy:
    """The proxy, served by its own event loop on a thread; ``requests`` counts requests."""

    def __init__(self, host: str, port: int, delay_s: float) -> None:
        self.upstream = (host, port)
        self.delay = delay_s
        self.requests = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.AbstractServer | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.url = ""

    def __enter__(self) -> str:
        self._thread.start()
        self._ready.wait()
        return self.url

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._connection, "127.0.0.1", 0))
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._ready.set()
        self._loop.run_forever()

    async def _connection(self, client_r: asyncio.StreamReader,
                          client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_w.close()
            return
        answered = [True]  # has the server spoken since the client last did?

        async def upward() -> None:
            while data := await client_r.read(1 << 16):
                if answered[0]:
                    answered[0] = False
                    self.requests += 1
                    await asyncio.sleep(self.delay)
                server_w.write(data)
                await server_w.drain()
            server_w.close()

        async def downward() -> None:
            while data := await server_r.read(1 << 20):
                answered[0] = True
                client_w.write(data)
                await client_w.drain()
            client_w.close()

        with contextlib.suppress(OSError, asyncio.CancelledError):
            await asyncio.gather(upward(), downward())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upstream", required=True, help="HOST:PORT of the real server")
    ap.add_argument("--delay-ms", type=float, default=30.0)
    args = ap.parse_args()
    host, port = args.upstream.rsplit(":", 1)
    with LatencyProxy(host, int(port), args.delay_ms / 1000) as url:
        print(url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
