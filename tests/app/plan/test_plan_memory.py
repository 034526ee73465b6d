"""Issue 13, item 13: requests that differ only in what the plan ignores (a pycls config's free
text) do not grow the API: the plan cache is keyed on the parsed request."""

from __future__ import annotations

import gc
import resource

PYCLS = {"MODEL": {"TYPE": "anynet", "NUM_CLASSES": 10},
         "ANYNET": {"STEM_TYPE": "simple_stem_in", "STEM_W": 8, "BLOCK_TYPE": "res_bottleneck_block",
                    "DEPTHS": [1, 1], "WIDTHS": [16, 32], "STRIDES": [2, 2], "BOT_MULS": [1.0, 1.0],
                    "GROUP_WS": [8, 8]},
         "TRAIN": {"IM_SIZE": 64}}


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()


def test_ignored_config_text_does_not_grow_the_api(service):
    def post(i: int) -> None:
        r = service.post("/plan", json={"spec": {**PYCLS, "DESC": f"{i} " + "x" * 200_000}, "factor": 2})
        assert r.status_code == 200 and r.json()["base"]["pycls_config"]["DESC"].startswith(f"{i} ")

    for i in range(20):  # warm up: allocator arenas, the first plan
        post(i)
    gc.collect()
    before = rss_bytes()
    for i in range(20, 170):
        post(i)
    gc.collect()
    grown = rss_bytes() - before
    assert grown < 25 * 2**20, f"150 requests grew the process by {grown / 2**20:.0f} MB"
