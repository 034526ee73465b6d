"""workers.limits: the host-memory cap's pieces (the real cap is tested on real workers in
tests/system/resilience/test_worker_memory.py)."""

from __future__ import annotations

import os
import subprocess
import sys

from workers.limits import cgroup_cap, data_bytes, default_cap, host_memory_bytes


def test_a_cgroup_v2_child_group_gets_memory_max_and_this_process(tmp_path):
    (tmp_path / "cgroup.subtree_control").write_text("cpu")
    group = cgroup_cap(3 * 2**30, tmp_path)
    assert group == tmp_path / f"fastscale-worker-{os.getpid()}"
    assert (group / "memory.max").read_text() == str(3 * 2**30)
    assert (group / "cgroup.procs").read_text() == str(os.getpid())
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+memory"


def test_no_writable_cgroup_means_rlimit_data_only(tmp_path):
    assert cgroup_cap(2**30, None) is None
    assert cgroup_cap(2**30, tmp_path / "absent") is None


def test_the_default_share_and_what_rlimit_data_counts():
    assert 0 < default_cap(4) < default_cap(1) <= host_memory_bytes()
    assert data_bytes() > 0


def test_rlimit_data_stops_an_allocation_past_it_and_the_process_survives():
    code = ("import resource\n"
            "from workers.limits import cap_memory\n"
            "cap_memory(256 * 2**20)\n"
            "try:\n    bytearray(600 * 2**20)\nexcept MemoryError:\n    print('oom')\n"
            "print(len(bytearray(16 * 2**20)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert out.stdout.split() == ["oom", str(16 * 2**20)], out.stderr[-2000:]
