"""uvicorn's HTTP protocol with a deadline on request headers.

uvicorn closes a kept-alive connection that stays idle (``timeout_keep_alive``), but not one that
was opened and never sent anything, nor one that dribbles its request line and headers a byte at
a time: h11 and httptools only wait for more data. Here each request's headers must be complete
within ``CHATBOT_HEADER_TIMEOUT_S`` of the connection opening (first request) or of the request's
first byte (later requests on a kept-alive connection); past it the client gets 408 and the
connection is closed. Once the headers are in, the request's own time budget applies.

It also makes graceful shutdown drain what clients sent before it. uvicorn's ``shutdown`` closes at
once every connection with no request in progress, including one whose next request is already in
the socket buffer or half parsed: that request, sent before the signal, would get no response.
Here such a connection is kept until that request is answered (with ``Connection: close``); an
idle one is closed as before. uvicorn waits for the connections up to ``timeout_graceful_shutdown``.

    uvicorn.Config(app, http=HTTPProtocol)        # or http=PROTOCOL (its import path)
"""

from __future__ import annotations

import array
import asyncio
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

PROTOCOL = "chatbot.web.protocol:HTTPProtocol"  # for uvicorn.run(..., workers=N): picklable
_SLOW = b"The request headers took too long to arrive."
REQUEST_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_SLOW), _SLOW)
)


class HTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """httptools' protocol when installed, else h11's; both set ``self.cycle`` when a request's
    headers are complete."""

    timeout_s: float = 10.0  # set from the settings by ``configure`` before serving

    @classmethod
    def configure(cls, timeout_s: float) -> None:
        cls.timeout_s = timeout_s

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._header_timer: asyncio.TimerHandle | None = None
        self._partial = False  # bytes of a request whose headers are not complete yet
        self._draining = False  # shutdown came while that request (or one in the buffer) was arriving
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._header_timer is None and self._between_requests():
            self._arm()  # the first byte of the next request on a kept-alive connection
        super().data_received(data)
        transport: Any = self.transport
        if not self._between_requests() or transport.get_protocol() is not self:  # headers in, or upgraded
            self._disarm()
            self._partial = False
            if self._draining and self.cycle is not None:
                self.cycle.keep_alive = False  # answered, then closed (its task has not run yet)
        else:
            self._partial = True

    def shutdown(self) -> None:
        """Called by uvicorn's graceful shutdown for every open connection."""
        if self._between_requests() and (self._partial or self._data_waiting()):
            self._draining = True  # a request sent before the shutdown: read it, answer it, close
            return
        super().shutdown()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _data_waiting(self) -> bool:
        """Bytes the client sent that the event loop has not read yet (peeked, not consumed)."""
        sock = self.transport.get_extra_info("socket")
        try:
            import fcntl
            import termios

            waiting = array.array("i", [0])
            fcntl.ioctl(sock.fileno(), termios.FIONREAD, waiting)  # bytes in the receive buffer
            return waiting[0] > 0
        except (AttributeError, ImportError, OSError, ValueError):  # no socket, or not on POSIX
            return False

    def _between_requests(self) -> bool:
        cycle = self.cycle
        return cycle is None or bool(cycle.response_complete)

    def _arm(self) -> None:
        self._disarm()
        if self.timeout_s > 0:
            self._header_timer = self.loop.call_later(self.timeout_s, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing() and self._between_requests():
            self.transport.write(REQUEST_TIMEOUT_RESPONSE)
            self.transport.close()
