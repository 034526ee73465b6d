"""Commands that use the HTTP API through the public client (fastscale_client): ``scale``,
``sweep``, ``recommend``, ``profiles`` and ``cancel``.

``--url`` (or FASTSCALE_URL) picks the API; by default it is where ``fastscale serve`` binds
(FASTSCALE_HOST, FASTSCALE_PORT). Waiting (``--wait``, sweeps, recommendations) follows the live
event stream and falls back to polling if it breaks. Ids are always printed whole: the API takes
nothing shorter. The client is imported when a command runs, so ``fastscale plan`` needs no API
code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.options import (
    AlphaOpt, ApiKeyOpt, BatchSizeOpt, DeviceOpt, DtypeOpt, FactorOpt, JsonOpt, ModelArg, RoundingOpt, SpecOpt,
    TargetFlopsOpt, TimeBudgetOpt, TimeoutOpt, UrlOpt, base_request, csv, exit_for, fail, profile_request,
)
from cli.render import console, listing_table, print_profile, print_recommendation, print_sweep, progress_bar


def _call(url: Optional[str], api_key: Optional[str], talk):
    """Run ``talk(client)`` against the API; its errors become one line on stderr."""
    import httpx

    from fastscale_client import ApiError, Client

    client = Client(url, api_key)
    try:
        with client:
            return talk(client)
    except ApiError as exc:
        fail(str(exc))
    except httpx.HTTPError as exc:
        fail(f"cannot reach the API at {client.url}: {exc}")


def _dump(doc) -> dict:
    return doc.model_dump(mode="json", exclude_unset=True)


def _print_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def _wait_with_bar(client, rid: str, kind: str, timeout: float, describe) -> dict:
    """Wait for the final document with a transient progress display; ``describe(state)`` says
    (total, completed, text) for each state the stream (or polling) brings."""
    with progress_bar(with_bar=kind != "profile") as bar:
        task = bar.add_task(f"{kind} {rid}: waiting", total=None)

        def update(state: dict) -> None:
            total, completed, text = describe(state)
            bar.update(task, total=total, completed=completed, description=text)

        return _dump(client.wait(rid, timeout, update, kind=kind))


def _describe_profile(pid: str):
    return lambda r: (None, 0, f"profile {pid}: {(r.get('progress') or {}).get('phase') or r['status']}")


def scale(
    model: ModelArg = None,
    spec: SpecOpt = None,
    strategy: Annotated[str, typer.Option("--strategy", "-s")] = "dWr",
    alpha: AlphaOpt = None,
    factor: FactorOpt = None,
    target_flops: TargetFlopsOpt = None,
    rounding: RoundingOpt = "nearest",
    device: DeviceOpt = "auto",
    batch_size: BatchSizeOpt = None,
    modes: Annotated[str, typer.Option("--modes", help="Comma-separated: inference,training.")] = "inference,training",
    dtype: DtypeOpt = "float32",
    channels_last: Annotated[bool, typer.Option("--channels-last")] = False,
    time_budget: TimeBudgetOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Measure again even if cached.")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the result, following its live progress.")] = False,
    timeout: TimeoutOpt = 3600.0,
    url: UrlOpt = None,
    api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Submit a scale + profile request to the service (client)."""
    profile = {**profile_request(device, batch_size, dtype, time_budget), "channels_last": channels_last,
               "modes": csv(modes)}
    request = {"strategy": strategy, "rounding": rounding, "force": force, "profile": profile,
               **base_request(model, spec)}
    for key, value in (("alpha", alpha), ("factor", factor), ("target_flops", target_flops)):
        if value is not None:
            request[key] = value

    def talk(client):
        record = _dump(client.scale(request))
        if wait and record["status"] not in ("finished", "failed", "cancelled"):
            pid = record["id"]
            record = _wait_with_bar(client, pid, "profile", timeout, _describe_profile(pid))  # on stderr
        return record

    record = _call(url, api_key, talk)
    if as_json:
        _print_json(record)
    else:
        if record.get("cached"):
            console.print(f"cached result, measured {age(record.get('cached_age_s') or 0)} ago (--force measures again)")
        print_profile(record)
    if wait or record["status"] in ("failed", "cancelled"):
        exit_for(record["status"], f"profile {record['id']}", (record.get("error") or {}).get("message", ""))


def sweep(
    model: ModelArg = None,
    spec: SpecOpt = None,
    strategies: Annotated[str, typer.Option("--strategies", help="Comma-separated strategies.")] = "w,dw,dwr,dWr",
    factors: Annotated[str, typer.Option("--factors", help="Comma-separated flops factors.")] = "1,2,4,8,16",
    alpha: AlphaOpt = None,
    rounding: RoundingOpt = "nearest",
    device: DeviceOpt = "auto",
    batch_size: BatchSizeOpt = None,
    dtype: DtypeOpt = "float32",
    time_budget: TimeBudgetOpt = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the figure here (.png or .svg).")] = None,
    timeout: TimeoutOpt = 7200.0,
    url: UrlOpt = None,
    api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Profile a model under several strategies and factors; print the analysis, write the figure."""
    strats = [({"strategy": s, "alpha": alpha} if s == "dWr" and alpha is not None else s) for s in csv(strategies)]
    try:
        facts = [float(f) for f in csv(factors)]
    except ValueError:
        fail("--factors: comma-separated numbers, e.g. 1,2,4,8")
    body = {**base_request(model, spec), "strategies": strats, "factors": facts, "rounding": rounding,
            "profile": profile_request(device, batch_size, dtype, time_budget)}

    def talk(client):
        sid = client.sweep(body).id
        state = _wait_with_bar(client, sid, "sweep", timeout,
                               lambda s: (s["total"], s["done"], f"sweep {sid}: {s['done']}/{s['total']} profiles"))
        if out is not None and state["status"] in ("finished", "failed"):
            out.write_bytes(client.sweep_plot(sid, "svg" if out.suffix == ".svg" else "png"))
        return state

    state = _call(url, api_key, talk)
    if as_json:
        _print_json(state)
        return exit_for(state["status"], f"sweep {state['id']}", f"{state['done']} of {state['total']} profiles done")
    console.print(f"sweep [bold]{state['id']}[/bold]: {state['status']}")
    print_sweep(state)
    if out is not None and state["status"] in ("finished", "failed"):
        console.print(f"figure written to {out}")
    exit_for(state["status"], f"sweep {state['id']}", f"{state['done']} of {state['total']} profiles done")


def recommend(
    model: ModelArg = None,
    spec: SpecOpt = None,
    target_flops: Annotated[Optional[float], typer.Option("--target-flops", help="Choose the fastest strategy at these flops.")] = None,
    latency_budget_ms: Annotated[Optional[float], typer.Option("--latency-budget-ms", help="Choose the largest factor that fits.")] = None,
    strategy: Annotated[str, typer.Option("--strategy", help="Strategy scaled under --latency-budget-ms.")] = "dWr",
    candidates: Annotated[str, typer.Option("--candidates", help="Strategies compared at --target-flops.")] = "d,w,r,dw,dr,wr,dwr,dWr",
    mode: Annotated[str, typer.Option("--mode", help="inference or training.")] = "training",
    device: DeviceOpt = "auto",
    batch_size: BatchSizeOpt = None,
    dtype: DtypeOpt = "float32",
    time_budget: TimeBudgetOpt = None,
    total_budget: Annotated[Optional[float], typer.Option(
        "--total-budget", help="Seconds the whole search may take [default: the device class's].")] = None,
    timeout: TimeoutOpt = 7200.0,
    url: UrlOpt = None,
    api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recommend a strategy (--target-flops) or a factor (--latency-budget-ms) from real measurements."""
    body = {**base_request(model, spec), "mode": mode, "profile": profile_request(device, batch_size, dtype, time_budget),
            "strategy": strategy, "candidates": csv(candidates)}
    for key, value in (("target_flops", target_flops), ("latency_budget_ms", latency_budget_ms),
                       ("total_budget_s", total_budget)):
        if value is not None:
            body[key] = value

    def talk(client):
        rid = client.recommend(body).id
        return _wait_with_bar(client, rid, "recommendation", timeout,
                              lambda s: (None, len(s["evidence"]), f"recommend {rid}: {len(s['evidence'])} measured"))

    state = _call(url, api_key, talk)
    if as_json:
        _print_json(state)
    else:
        console.print(f"recommendation [bold]{state['id']}[/bold]: {state['status']}")
        print_recommendation(state, mode)
    exit_for(state["status"], f"recommendation {state['id']}", (state.get("error") or {}).get("message", ""))


def profiles(
    model: Annotated[Optional[str], typer.Option("--model", help="Base model name.")] = None,
    strategy: Annotated[Optional[str], typer.Option("--strategy", "-s")] = None,
    status: Annotated[Optional[str], typer.Option("--status", help="queued, started, finished, failed or cancelled.")] = None,
    device_class: Annotated[Optional[str], typer.Option("--device-class")] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="Created at or after (ISO 8601).")] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many to show (newest first).")] = 20,
    url: UrlOpt = None,
    api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List measured profiles, newest first, with filters."""

    def talk(client):
        items = []
        for page in client.profiles(limit=min(limit, 200), model=model, strategy=strategy, status=status,
                                    device_class=device_class, since=since):
            items += [_dump(i) for i in page.items]
            if len(items) >= limit:
                break
        return items[:limit]

    items = _call(url, api_key, talk)
    if as_json:
        return _print_json(items)
    table = listing_table("id", "model", "strategy", "factor", "status", "inference ms", "training ms", "created")
    for i in items:
        table.add_row(i["id"], i.get("model") or "", i.get("strategy") or "", f"{i.get('factor') or 0:g}", i["status"],
                      f"{i['inference_ms']:.2f}" if i.get("inference_ms") else "-",
                      f"{i['training_ms']:.2f}" if i.get("training_ms") else "-", (i.get("created_at") or "")[:19])
    console.print(table)


def cancel(
    rid: Annotated[str, typer.Argument(help="The id of a profile (or of a sweep or recommendation, with --kind).")],
    kind: Annotated[str, typer.Option("--kind", help="profile, sweep or recommendation.")] = "profile",
    url: UrlOpt = None,
    api_key: ApiKeyOpt = None,
) -> None:
    """Cancel a queued or running profile, sweep or recommendation."""
    if kind not in ("profile", "sweep", "recommendation"):
        fail("--kind: profile, sweep or recommendation")
    doc = _call(url, api_key, lambda client: _dump(client.cancel(rid, kind)))
    asked = " (asked to stop at its next check)" if doc.get("cancel_requested") else ""
    if doc.get("withdrawn"):
        asked = " (your key's interest is withdrawn; another key still waits on it, so it goes on)"
    console.print(f"{kind} {doc['id']}: {doc['status']}{asked}")
