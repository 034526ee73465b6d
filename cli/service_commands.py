"""Commands that run the service: ``serve``, ``worker`` and ``hash-key`` (operators). The client
commands (``scale``, ``sweep``, ``recommend``, ...) are cli.client_commands'.

Their heavy imports (uvicorn and the app, the supervisor, settings) happen when a command runs, so
``fastscale plan`` works without the service stack installed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.options import fail


def serve(
    host: Annotated[Optional[str], typer.Option(help="Bind address (FASTSCALE_HOST, default 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port (FASTSCALE_PORT, default 8000).")] = None,
    data_dir: Annotated[Optional[Path], typer.Option("--data-dir", help="Embedded Redis data (FASTSCALE_DATA_DIR).")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", help="Local workers beside the API (0: none).")] = None,
    device: Annotated[Optional[str], typer.Option("--device", help="Local workers' device: auto, cpu or cuda.")] = None,
) -> None:
    """Start the API, local workers and (without REDIS_URL) an embedded Redis, in one command."""
    from cli.serve import serve as run_serve

    run_serve(host, port, data_dir, workers, device)


def worker(
    device: Annotated[str, typer.Option("--device", help="auto: one worker per visible GPU, else CPU workers.")] = "auto",
    cpu_workers: Annotated[int, typer.Option("--cpu-workers", help="CPU workers when there is no GPU.")] = 1,
    grace: Annotated[float, typer.Option("--grace", help="Seconds a worker may take to finish its job on SIGTERM.")] = 300.0,
    check: Annotated[bool, typer.Option("--check", help="Health check: exit 0 if every worker here is alive.")] = False,
) -> None:
    """Run workers only (GPU hosts): one process per GPU, pinned with CUDA_VISIBLE_DEVICES."""
    import logging

    from service.settings import get_settings
    from workers.supervisor import run_workers

    if check:
        from workers.health import check as check_beats

        healthy, lines = check_beats(get_settings().worker_heartbeat_dir)
        typer.echo("\n".join(lines))
        raise typer.Exit(0 if healthy else 1)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    url = get_settings().redis_url
    if not url:
        fail("REDIS_URL is not set: workers need the Redis the API uses")
    try:
        run_workers(device, cpu_workers, url, grace)
    except (RuntimeError, ValueError) as exc:
        fail(str(exc))


def hash_key_cmd(key: Annotated[Optional[str], typer.Argument(help="The API key (read from stdin if omitted).")] = None) -> None:
    """Print the SHA-256 digest to put in FASTSCALE_API_KEY_HASHES (the key itself is never stored)."""
    from service.access.auth import MIN_KEY_CHARS, hash_key

    key = key if key is not None else sys.stdin.readline().rstrip("\n")
    if len(key) < MIN_KEY_CHARS:
        fail(f"the key is too short: use at least {MIN_KEY_CHARS} random characters (e.g. `openssl rand -hex 24`)")
    typer.echo(hash_key(key))
