"""uvicorn's HTTP protocols with the limits they lack: a deadline for each request's head, a cap
on open connections in all and per client address.

uvicorn closes idle keep-alive connections, but a connection that sends a partial request head
(or one byte of it now and then) stays open for ever. 2 x 9,990 such connections exhausted the
API's file descriptors: /healthz timed out, and asyncio logged every failed accept (52 MB in
35 s). Here a connection whose request head is not complete ``header_timeout_s`` after it opened
(or after its previous response) is closed, and connections beyond ``max_connections`` (or beyond
``max_per_client`` from one address) are closed as soon as they are accepted, well before the
descriptors run out. Refusals are logged through the rate-limited handler (service.logs).

The guard is one mixin over either of uvicorn's parsers: httptools (C, what ``uvicorn[standard]``
installs and uvicorn prefers; about 0.3 ms less per request here) when it is importable, else h11.
Each says in its own terms whether a request head is still awaited.
"""

from __future__ import annotations

import logging
from collections import Counter

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools not installed: h11 serves
    HttpToolsProtocol = None

log = logging.getLogger("fastscale.serve")


class Guard:
    """The limits, for a uvicorn protocol class to inherit before its own (see the module doc)."""

    header_timeout_s: float = 10.0
    max_connections: int = 1000
    max_per_client: int = 0  # 0: no per-address cap (behind a proxy every peer is the proxy)
    per_client: Counter = Counter()  # open connections per peer address, shared by the server

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self._header_timer = None
        self._peer = (transport.get_extra_info("peername") or ("?",))[0]
        self._refused = self._over_cap()
        if self._refused:
            self.transport = transport
            transport.abort()
            return
        self.per_client[self._peer] += 1
        super().connection_made(transport)
        self._arm_header_timer()

    def _over_cap(self) -> bool:
        if len(self.server_state.connections) >= self.max_connections:
            log.warning("connection refused: %d connections open (FASTSCALE_MAX_CONNECTIONS)", self.max_connections)
            return True
        if self.max_per_client and self.per_client[self._peer] >= self.max_per_client:
            log.warning("connection refused: a client has %d connections open (FASTSCALE_MAX_CONNECTIONS_PER_CLIENT)",
                        self.max_per_client)
            return True
        return False

    def connection_lost(self, exc) -> None:
        if self._refused:
            return
        self._cancel_header_timer()
        self.per_client[self._peer] -= 1
        if self.per_client[self._peer] <= 0:
            del self.per_client[self._peer]
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_timed_out)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timed_out(self) -> None:
        """Close the connection if its request head has still not arrived in full."""
        self._header_timer = None
        if self._head_awaited() and not self.transport.is_closing():
            log.warning("closed a connection that sent no complete request head in %g s (FASTSCALE_HEADER_TIMEOUT_S)",
                        self.header_timeout_s)
            self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_header_timer()  # the next request's head is due in time too

    def _head_awaited(self) -> bool:
        raise NotImplementedError


class GuardedH11Protocol(Guard, H11Protocol):
    def _head_awaited(self) -> bool:
        return self.conn.their_state is h11.IDLE


if HttpToolsProtocol is not None:
    class GuardedHttpToolsProtocol(Guard, HttpToolsProtocol):
        """httptools parses whatever arrives, pipelined heads included: heads whose response is
        not complete yet are counted, and none means one is awaited."""

        _open_heads = 0

        def on_headers_complete(self) -> None:
            self._open_heads += 1
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            self._open_heads = max(0, self._open_heads - 1)
            super().on_response_complete()

        def _head_awaited(self) -> bool:
            return self._open_heads == 0


def guarded_protocol(header_timeout_s: float, max_connections: int, max_per_client: int,
                     parser: str = "auto") -> type:
    """The protocol class for one server, its limits bound as class attributes (uvicorn builds
    one instance per connection from the class it is given). ``parser``: ``httptools``, ``h11``
    or ``auto`` (httptools when installed)."""
    use_httptools = parser == "httptools" or (parser == "auto" and HttpToolsProtocol is not None)
    if use_httptools and HttpToolsProtocol is None:
        raise ValueError("the httptools parser was asked for but httptools is not installed")
    base = GuardedHttpToolsProtocol if use_httptools else GuardedH11Protocol
    return type(base.__name__, (base,), {
        "header_timeout_s": header_timeout_s, "max_connections": max_connections,
        "max_per_client": max_per_client, "per_client": Counter()})
