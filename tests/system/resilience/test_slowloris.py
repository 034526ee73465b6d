"""Issue 13, item 7: half-open connections cannot take the API down. Against a real
`fastscale serve` with a small descriptor limit: a flood of connections that never finish their
request head is capped per client and closed at the header deadline, /healthz keeps answering
from another address, idle keep-alive connections are closed, and the log stays small."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from tests.system.live_api import LiveApi

pytestmark = pytest.mark.serial  # timing-sensitive: run alone (Makefile)

ATTACKER = "127.0.0.2"  # all of 127/8 is loopback on Linux: a second client address


@pytest.fixture(params=["httptools", "h11"])
def api(redis_url, request):
    """The API on each HTTP parser the guard wraps (httptools is the default where installed)."""
    live = LiveApi(redis_url, {"FASTSCALE_HEADER_TIMEOUT_S": "3", "FASTSCALE_KEEP_ALIVE_TIMEOUT_S": "1",
                               "FASTSCALE_MAX_CONNECTIONS_PER_CLIENT": "20", "FASTSCALE_HTTP_PARSER": request.param},
                   nofile=512).wait_ready()
    yield live
    live.stop()


def half_open(port: int) -> socket.socket | None:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2, source_address=(ATTACKER, 0))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # a request head that never ends
        return s
    except OSError:
        return None


def closed_by_server(s: socket.socket) -> bool:
    s.settimeout(0.01)
    try:
        return s.recv(1024) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except (socket.timeout, BlockingIOError):
        return False


def test_a_flood_of_half_open_connections_is_capped_and_timed_out(api):
    log_before = api.log_bytes()
    flood = [s for s in (half_open(api.port) for _ in range(700)) if s is not None]
    time.sleep(1.5)  # the server has accepted (and refused) what it will
    open_now = [s for s in flood if not closed_by_server(s)]
    started = time.perf_counter()
    health = httpx.get(api.url + "/healthz", timeout=5)
    health_s = time.perf_counter() - started
    time.sleep(2.5)  # past the 3 s header deadline
    still_open = [s for s in open_now if not closed_by_server(s)]
    for s in flood:
        s.close()
    assert health.status_code == 200 and health_s < 1, health_s
    assert len(open_now) <= 20, len(open_now)  # the per-client cap
    assert still_open == []  # the header deadline closed the rest
    assert api.log_bytes() - log_before < 50_000, api.log_bytes() - log_before


def test_a_trickled_head_and_an_idle_keep_alive_are_closed(api):
    trickle = socket.create_connection(("127.0.0.1", api.port), timeout=5)
    trickle.sendall(b"GET /healthz HTTP/1.1\r\n")
    for _ in range(8):  # a byte every half second: never idle, never done
        time.sleep(0.5)
        try:
            trickle.sendall(b"X")
        except OSError:
            break
    assert closed_by_server(trickle) or trickle.recv(1024) == b""
    idle = socket.create_connection(("127.0.0.1", api.port), timeout=5)
    idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = b""
    while b'"ok"}' not in answer:
        answer += idle.recv(4096)
    assert b"200 OK" in answer
    time.sleep(1.8)  # the 1 s keep-alive timeout
    assert closed_by_server(idle)
