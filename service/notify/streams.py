"""How many Server-Sent Events streams an API process holds open: at most
FASTSCALE_MAX_EVENT_STREAMS in all (503 beyond) and FASTSCALE_MAX_EVENT_STREAMS_PER_CLIENT per key,
or per address without keys (429 beyond), refused before any 200 is sent (issue 23: one client
opened 200 streams; some got a 200 head and then a traceback). A slot is given back when its stream
ends; one whose stream never started (the client left before the first byte) lapses after the
maximum stream age, so nothing leaks for good.
"""

from __future__ import annotations

import itertools
import threading
import time

from service.errors import RateLimited, StreamsBusy

_ids = itertools.count()


class StreamSlots:
    def __init__(self, total: int, per_client: int, max_age_s: float):
        self.total, self.per_client, self.max_age_s = total, per_client, max_age_s
        self.open: dict[int, tuple[str, float]] = {}  # slot -> (client, taken at)
        self.lock = threading.Lock()  # sync routes take slots from the thread pool

    def _lapse(self) -> None:
        oldest = time.monotonic() - self.max_age_s - 60
        for slot in [s for s, (_, at) in self.open.items() if at < oldest]:
            del self.open[slot]

    def take(self, client: str) -> int:
        """A slot for ``client``'s new stream, or RateLimited (429) / StreamsBusy (503)."""
        with self.lock:
            return self._take(client)

    def _take(self, client: str) -> int:
        self._lapse()
        mine = sum(1 for who, _ in self.open.values() if who == client)
        if mine >= self.per_client:
            raise RateLimited(f"this client already has {mine} event streams open here (at most {self.per_client}, "
                              "FASTSCALE_MAX_EVENT_STREAMS_PER_CLIENT); close one, or poll", headers={"Retry-After": "5"})
        if len(self.open) >= self.total:
            raise StreamsBusy(f"{len(self.open)} event streams are open on this API process (at most {self.total}, "
                              "FASTSCALE_MAX_EVENT_STREAMS); retry, or poll")
        slot = next(_ids)
        self.open[slot] = (client, time.monotonic())
        return slot

    def give_back(self, slot: int) -> None:
        with self.lock:
            self.open.pop(slot, None)
