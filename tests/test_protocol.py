"""``chatbot.web.protocol`` through raw sockets against real uvicorn (in a thread, with the protocol
``serve`` uses) around a tiny app: the header deadline, and a graceful shutdown that answers a
request already sent on an idle kept-alive connection. ``test_faults.py`` checks both on a real
``chatbot serve`` process."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn

from chatbot.web.protocol import HTTPProtocol
from conftest import free_port

TIMEOUT_S = 1.0
SLACK_S = 1.0  # timer and scheduling latency on a loaded 2-core machine


LOOPS: list[asyncio.AbstractEventLoop] = []


async def app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    LOOPS.append(asyncio.get_running_loop())
    if scope["path"] == "/slow":
        await asyncio.sleep(TIMEOUT_S * 2)  # a response longer than the header deadline
    if scope["path"] == "/block":
        time.sleep(1.0)  # holds the event loop: what a client sends meanwhile stays in the socket buffer
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@contextmanager
def running(protocol: type | str = HTTPProtocol, loop: str = "auto") -> Iterator[tuple[uvicorn.Server, int, threading.Thread]]:
    HTTPProtocol.configure(TIMEOUT_S)
    number = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=number, log_level="warning",
                                           http=protocol, loop=loop, timeout_keep_alive=30,
                                           timeout_graceful_shutdown=10))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline
        time.sleep(0.05)
    try:
        yield server, number, thread
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with running() as (_, number, _):
        yield number


def dribble(sock: socket.socket, data: bytes, every_s: float, stop_after_s: float) -> tuple[bytes, float]:
    """Send ``data`` a byte at a time until the server answers or closes; (what it sent, seconds)."""
    t0 = time.monotonic()
    sock.settimeout(every_s)
    received = b""
    for byte in data:
        try:
            sock.send(bytes([byte]))
        except OSError:
            break
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            chunk = None
        except OSError:
            break
        if chunk is not None:
            received += chunk
            if not chunk:
                break
        if time.monotonic() - t0 > stop_after_s:
            break
    return received, time.monotonic() - t0


def read_all(sock: socket.socket, limit_s: float) -> bytes:
    sock.settimeout(limit_s)
    out = b""
    try:
        while chunk := sock.recv(4096):
            out += chunk
    except (TimeoutError, OSError):
        pass
    return out


def test_a_dribbled_request_line_is_closed_with_408_within_the_deadline(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        received, took = dribble(sock, b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 200, 0.2, 10)
        received += read_all(sock, SLACK_S)
    assert received.startswith(b"HTTP/1.1 408"), received[:100]
    assert TIMEOUT_S - 0.1 <= took <= TIMEOUT_S + SLACK_S, took


def test_a_connection_that_sends_nothing_is_closed(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        t0 = time.monotonic()
        received = read_all(sock, TIMEOUT_S + SLACK_S + 1)
        took = time.monotonic() - t0
    assert received.startswith(b"HTTP/1.1 408") and took <= TIMEOUT_S + SLACK_S, (received[:60], took)


def test_the_next_request_on_a_kept_alive_connection_has_the_same_deadline(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        time.sleep(TIMEOUT_S + 0.5)  # idle between requests: the keep-alive timeout (30 s) applies, not this one
        received, took = dribble(sock, b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 200, 0.2, 10)
        received += read_all(sock, SLACK_S)
    assert received.startswith(b"HTTP/1.1 408") and took <= TIMEOUT_S + SLACK_S, (received[:60], took)


def test_prompt_headers_and_a_long_response_are_not_cut(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        received, _ = dribble(sock, b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n", 0.01, 5)  # ~0.3 s of headers
        received += read_all(sock, TIMEOUT_S * 3)
    assert received.startswith(b"HTTP/1.1 200") and received.endswith(b"ok"), received[:200]


def test_shutdown_answers_a_request_sent_before_it_on_an_idle_connection() -> None:
    """Deterministic: the request is in the socket buffer, unread, when shutdown reaches its
    connection (uvicorn's own protocol closes that connection and the request is lost). On asyncio's
    loop the order is fixed: a callback queued while the loop is held runs before the next reads."""
    with running(loop="asyncio") as (server, number, thread):
        idle = socket.create_connection(("127.0.0.1", number))
        busy = socket.create_connection(("127.0.0.1", number))
        try:
            idle.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            idle.settimeout(5)
            first = b""
            while not first.endswith(b"ok"):
                first += idle.recv(4096)
            assert first.startswith(b"HTTP/1.1 200")  # answered in full; the connection is now idle, kept alive
            busy.sendall(b"GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.4)  # the event loop is held by /block
            idle.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # sent before the shutdown, not yet read
            loop = LOOPS[-1]

            def shut_down() -> None:  # what uvicorn's shutdown does first, ahead of the pending read
                server.should_exit = True
                for connection in list(server.server_state.connections):
                    connection.shutdown()

            loop.call_soon_threadsafe(shut_down)
            answer = read_all(idle, 5)
            assert answer.startswith(b"HTTP/1.1 200") and b"connection: close" in answer.lower(), answer[:200]
            assert read_all(busy, 5).startswith(b"HTTP/1.1 200")
            thread.join(10)
            assert not thread.is_alive()
        finally:
            idle.close()
            busy.close()
