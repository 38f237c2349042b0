"""A small HTTP proxy for the tests: asyncio on its own thread, 127.0.0.1, port 0.

``CONNECT host:port`` opens a tunnel (RFC 9110 section 9.3.6); a request in absolute form
(``GET http://host:port/path``, RFC 9112 section 3.2.2) is forwarded in origin form. After either,
bytes are relayed both ways until one side closes. ``auth=("user", "pw")`` makes it answer 407
to any request without those Basic credentials. ``mode`` makes it misbehave instead:
``"refuse"`` (407 to everything), ``"close"`` (closes after reading the request), ``"garbage"``
(answers bytes that are not HTTP) or ``"silent"`` (never answers).

``heads`` holds every request head it received (request line and headers, as text). With
``tls`` (a server ``ssl.SSLContext``) it is an https:// proxy: TLS to the proxy, then the same.

``LocalSocks`` is a SOCKS5 server (RFC 1928 CONNECT, RFC 1929 username/password) in the same
style, with its own misbehaving modes; ``requests`` holds each CONNECT's (address type, address).
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import threading
from typing import Optional

MODES = ("relay", "refuse", "close", "garbage", "silent")


class _Server:
    """An asyncio server on its own thread (127.0.0.1, port 0); subclasses define ``_serve``."""

    scheme = "http"

    def __init__(self, tls: Optional[ssl.SSLContext] = None) -> None:
        self._tls = tls
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the test proxy did not start")

    @property
    def port(self) -> int:
        return self._port

    def url(self, userinfo: str = "", scheme: str = "") -> str:
        scheme = scheme or ("https" if self._tls else self.scheme)
        return f"{scheme}://{userinfo + '@' if userinfo else ''}127.0.0.1:{self.port}"

    def close(self) -> None:
        async def stop() -> None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the proxy ------------------------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._tasks: set[asyncio.Task[None]] = set()

        async def start() -> None:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0, ssl=self._tls)
            self._port = int(self._server.sockets[0].getsockname()[1])

        self._loop.run_until_complete(start())
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(asyncio.sleep(0))
        self._loop.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            await self._serve(reader, writer)
        except (
            asyncio.CancelledError,
            ConnectionError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ssl.SSLError,
        ):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError


class LocalProxy(_Server):
    def __init__(
        self, mode: str = "relay", auth: Optional[tuple[str, str]] = None, tls: Optional[ssl.SSLContext] = None
    ) -> None:
        assert mode in MODES, mode
        self.mode = mode
        self.expected = None if auth is None else "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        self.heads: list[str] = []
        super().__init__(tls)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        self.heads.append(head)
        lines = head.split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        if self.mode == "close":
            return
        if self.mode == "garbage":
            writer.write(b"\x16\x03\x01 not an HTTP answer\r\n\r\n")
            await writer.drain()
            return
        if self.mode == "silent":
            await reader.read()  # until the client gives up
            return
        if self.mode == "refuse" or (self.expected and headers.get("proxy-authorization") != self.expected):
            body = b"proxy authentication required"
            writer.write(
                b'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\n'
                b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
            )
            await writer.drain()
            return
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            up_reader, up_writer = await asyncio.open_connection(host.strip("[]"), int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        else:
            assert target.startswith("http://"), f"not an absolute-form target: {target!r}"
            authority, slash, path = target[len("http://") :].partition("/")
            host, _, port = authority.rpartition(":") if ":" in authority else (authority, "", "80")
            up_reader, up_writer = await asyncio.open_connection(host.strip("[]"), int(port))
            kept = [line for line in lines[1:] if line and not line.lower().startswith(("proxy-", "connection:"))]
            request_line = f"{method} {slash}{path} {version}"
            up_writer.write(("\r\n".join([request_line, *kept, "Connection: close"]) + "\r\n\r\n").encode("latin-1"))
            upload = asyncio.ensure_future(_pipe(reader, up_writer))  # the request body, if any
            # One request per connection: the answer says so, so the client never sends a second
            # (the upstream would get it in absolute form).
            answer = (await up_reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            answer = [line for line in answer if line and not line.lower().startswith("connection:")]
            writer.write(("\r\n".join([*answer, "Connection: close"]) + "\r\n\r\n").encode("latin-1"))
            await _pipe(up_reader, writer)
            upload.cancel()


SOCKS_MODES = ("relay", "refuse", "wrong_version", "close", "garbage", "silent", "unreachable")


class LocalSocks(_Server):
    """SOCKS5: ``auth`` requires those RFC 1929 credentials (method 0x02 only). Modes:
    ``"refuse"`` (no acceptable method), ``"close"`` (closes after the greeting), ``"garbage"``
    (answers bytes that are not SOCKS5), ``"silent"`` (never answers), ``"unreachable"`` (CONNECT
    reply 0x04, host unreachable), ``"wrong_version"`` (an HTTP answer to the greeting)."""

    scheme = "socks5"

    def __init__(self, mode: str = "relay", auth: Optional[tuple[str, str]] = None) -> None:
        assert mode in SOCKS_MODES, mode
        self.mode = mode
        self.auth = auth
        self.requests: list[tuple[int, str]] = []
        super().__init__()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        version, count = await reader.readexactly(2)
        methods = await reader.readexactly(count)
        assert version == 5, version
        if self.mode == "close":
            return
        if self.mode == "silent":
            await reader.read()
            return
        if self.mode in ("garbage", "wrong_version"):
            writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n" if self.mode == "wrong_version" else b"\x05\x7f")
            await writer.drain()
            return
        wanted = 0x02 if self.auth else 0x00
        if self.mode == "refuse" or wanted not in methods:
            writer.write(b"\x05\xff")
            await writer.drain()
            return
        writer.write(bytes([5, wanted]))
        if self.auth:  # RFC 1929
            _, ulen = await reader.readexactly(2)
            user = (await reader.readexactly(ulen)).decode()
            (plen,) = await reader.readexactly(1)
            password = (await reader.readexactly(plen)).decode()
            ok = (user, password) == self.auth
            writer.write(b"\x01\x00" if ok else b"\x01\x01")
            await writer.drain()
            if not ok:
                return
        _, command, _, kind = await reader.readexactly(4)
        assert command == 1, command
        if kind == 1:
            host = ".".join(str(b) for b in await reader.readexactly(4))
        elif kind == 4:
            import ipaddress

            host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
        else:
            (size,) = await reader.readexactly(1)
            host = (await reader.readexactly(size)).decode()
        port = int.from_bytes(await reader.readexactly(2), "big")
        self.requests.append((kind, host))
        if self.mode == "unreachable":
            writer.write(b"\x05\x04\x00\x01\x00\x00\x00\x00\x00\x00")
            await writer.drain()
            return
        loopback = host in ("localhost", "::1")  # the fake provider listens on 127.0.0.1 only
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1" if loopback else host, port)
        writer.write(b"\x05\x00\x00\x01\x7f\x00\x00\x01" + port.to_bytes(2, "big"))
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()
