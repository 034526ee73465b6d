"""What the CLI prints: rich tables for plans, profiles, sweeps and recommendations, progress bars,
and human-readable numbers (the JSON output always carries the exact integers)."""

from __future__ import annotations

from typing import Optional

from rich.console import Console
from rich.table import Table

console = Console()


def si(n: float, unit: str = "") -> str:
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {prefix}{unit}"
    return f"{n:g} {unit}".strip()


def _arch_rows(base_arch: dict, arch: dict) -> list[tuple[str, str, str]]:
    keys = [k for k in ("depths", "widths", "group_ws", "bot_muls", "exp_ratios", "stem_w", "head_w") if k in arch]
    return [(k, str(base_arch.get(k, "-")), str(arch[k])) for k in keys]


def _verification_table(verification: dict) -> Table:
    vt = Table("metric", "analytic", "counted on meta", "agree", header_style="bold")
    for m in ("flops", "params", "acts"):
        a, c = verification["analytic"][m], verification["counted"][m]
        vt.add_row(m, f"{a:,}", f"{c:,}", "yes" if a == c else "[red]NO[/red]")
    return vt


def print_plan(plan: dict, verification: Optional[dict] = None) -> None:
    base, strat = plan["base"], plan["strategy"]
    alpha = f" (alpha {strat['alpha']:g})" if strat["alpha"] is not None else ""
    ex = strat["exponents"]
    console.print(
        f"[bold]{base['name']}[/bold] scaled by [bold]{strat['name']}[/bold]{alpha}: "
        f"e_d={ex['d']:.3g} e_w={ex['w']:.3g} e_r={ex['r']:.3g} e_g={ex['g']:.3g}, rounding {plan['rounding']}"
    )
    table = Table(show_header=True, header_style="bold")
    table.add_column("")
    table.add_column("base", justify="right")
    table.add_column("scaled", justify="right")
    table.add_column("growth", justify="right")
    table.add_row("resolution", str(base["resolution"]), str(plan["resolution"]), "")
    for row in _arch_rows(plan["base"]["arch"] if base["family"] != "regnet" else {}, plan["arch"]):
        table.add_row(*row, "")
    for m in ("flops", "params", "acts"):
        table.add_row(m, si(base["complexity"][m]), si(plan["complexity"][m]), f"{plan['growth'][m]:.3f}x")
    console.print(table)
    miss = plan["achieved_factor"] / plan["requested_factor"] - 1
    console.print(f"requested {plan['requested_factor']:.4g}x flops, achieved {plan['achieved_factor']:.4g}x ({miss:+.2%})")
    if plan.get("memory"):
        print_memory(plan["memory"])
    if verification is not None:
        console.print(_verification_table(verification))


def print_memory(memory: dict) -> None:
    """The predicted peaks of a plan's ``memory`` object, one line per mode."""
    inf, train = memory["inference"], memory["training"]
    console.print(f"predicted memory at batch {memory['batch_size']}, {memory['dtype']} on {memory['device']}: "
                  f"inference {si(inf['predicted_bytes'], 'B')}, training {si(train['predicted_bytes'], 'B')} "
                  f"(saved activations {si(train['saved_activation_bytes'], 'B')})")


def print_models(rows: list[dict]) -> None:
    table = Table("model", "family", "res", "flops", "params", "acts", header_style="bold")
    for r in rows:
        table.add_row(r["name"], r["family"], str(r["resolution"]), si(r["flops"]), si(r["params"]), si(r["acts"]))
    console.print(table)


def _folding(table: Table) -> Table:
    """Cells wrap inside a number rather than end in an ellipsis (a figure is never cut)."""
    for column in table.columns:
        column.overflow = "fold"
    return table


def print_profile(record: dict) -> None:
    console.print(f"profile [bold]{record['id']}[/bold]: {record['status']} on {record.get('device_class')}")
    if record.get("plan"):
        print_plan(record["plan"])
    if record.get("error"):
        console.print(f"[red]{record['error']['type']}: {record['error']['message']}[/red]")
    result = record.get("result")
    if not result:
        return
    dev = result["device"]
    console.print(f"device: {dev.get('name')} torch {dev.get('torch')} cuda {dev.get('cuda')} cudnn {dev.get('cudnn')} "
                  f"dtype {dev.get('dtype')}")
    table = Table("mode", "median ms", "ci95 ms", "p10..p90 ms", "n", "stop", "stable", "img/s", "peak memory",
                  header_style="bold")
    for mode in ("inference", "training"):
        m = result.get(mode)
        if not m:
            continue
        mem = si(m["peak_memory_bytes"], "B") if m.get("peak_memory_bytes") else "-"
        table.add_row(mode, f"{m['median_ms']:.3f}", f"{m['ci95_low_ms']:.3f}..{m['ci95_high_ms']:.3f}",
                      f"{m['p10_ms']:.2f}..{m['p90_ms']:.2f}", str(m["n"]), str(m.get("stop_reason") or "-"),
                      "yes" if m["stable"] else "no",
                      f"{m['throughput_per_s']:.1f}", mem)
    console.print(_folding(table))


def _ms(value) -> str:
    return f"{value:.2f}" if value else "-"


def _r(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def _timed(row: dict, mode: str) -> str:
    """A time with what it is worth: n, and 'unstable' in red when its CI is over +-1 %."""
    if row.get(f"{mode}_ms") is None:
        return "-"
    n = row.get(f"{mode}_n")
    text = f"{row[f'{mode}_ms']:.2f}" + (f" (n={n})" if n is not None else "")
    return text if row.get(f"{mode}_stable") is True else f"[red]{text} unstable[/red]"


def _measurement_line(m: dict) -> str:
    device = f"{m['device']} ({m['device_class']})" if m.get("device") else m.get("device_class")
    return (f"measured on {device}: batch {m.get('batch_size')}, {m.get('dtype')}"
            + (", channels_last" if m.get("channels_last") else "") + f", budget {m.get('time_budget_s')} s per mode")


def print_analysis(analysis: dict) -> None:
    """Per mode: r over distinct stable models, or plainly why there is none."""
    for mode, corr in analysis.get("pearson", {}).items():
        pts = analysis.get("points", {}).get(mode, {})
        counts = f"{pts.get('stable', '?')} stable of {pts.get('distinct', '?')} distinct models"
        if all(v is None for v in corr.values()):
            console.print(f"[red]{mode}: no correlation: {pts.get('note', counts)}[/red]")
            continue
        console.print(f"{mode}: Pearson r  flops {_r(corr['flops'])}  params {_r(corr['params'])}  "
                      f"acts {_r(corr['acts'])}  ({counts})")
        if pts.get("unstable"):
            console.print(f"[yellow]  left out as unstable: {', '.join(pts.get('excluded', []))}[/yellow]")


def print_sweep(state: dict) -> None:
    if state.get("measurement"):
        console.print(_measurement_line(state["measurement"]))
    table = Table("strategy", "s", "flops", "acts", "inference ms", "training ms", "status", header_style="bold")
    for r in state["rows"]:
        table.add_row(r["label"], f"{r['factor']:g}", si(r.get("flops", 0)), si(r.get("acts", 0)),
                      _timed(r, "inference"), _timed(r, "training"), r["status"])
    console.print(_folding(table))
    print_analysis(state.get("analysis", {}))


def print_recommendation(state: dict, mode: str) -> None:
    table = Table("strategy", "factor", "flops", f"{mode} ms", "budget s", "status", header_style="bold")
    for r in state["evidence"]:
        table.add_row(r["strategy"], f"{r['factor']:.4g}", si(r["flops"]), _timed(r, mode),
                      f"{r['time_budget_s']:g}" if r.get("time_budget_s") else "-", r["status"])
    console.print(table)
    if state.get("chosen"):
        ch = state["chosen"]
        console.print(f"[bold]chosen:[/bold] {ch['strategy']} at {ch['factor']:.4g}x: {ch['why']}")
    if state.get("note"):
        console.print(f"[yellow]{state['note']}[/yellow]")


def id_column(header: str = "id"):
    """A table column for ids: never cut with an ellipsis (the API takes nothing shorter), folded
    onto a second line only where the terminal is narrower than an id."""
    from rich.table import Column

    return Column(header, overflow="fold", min_width=32)


def listing_table(*headers: str) -> Table:
    """A listing whose first column is an id: every cell folds (wraps inside the word) instead of
    being cut with an ellipsis, so a model name or a status is never a prefix either."""
    from rich.table import Column

    return Table(id_column(headers[0]), *(Column(h, overflow="fold") for h in headers[1:]), header_style="bold")


class ProgressLines:
    """Progress for a log, not a terminal: one plain line on stderr, with the elapsed time, each
    time the description changes, and at least every ``every_s`` while it waits (a redirected
    ``--wait`` or sweep is never silent for minutes)."""

    def __init__(self, stream=None, every_s: float = 30.0):
        import sys
        import threading
        import time

        self.stream, self.every_s, self.clock = stream or sys.stderr, every_s, time.monotonic
        self.start, self.last, self.text = self.clock(), None, {}
        self.lock, self.done = threading.Lock(), threading.Event()
        self.beat = threading.Thread(target=self._keep_alive, daemon=True)

    def __enter__(self) -> "ProgressLines":
        if self.every_s > 0:
            self.beat.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()

    def _keep_alive(self) -> None:
        """Between events (a sweep's rows finish minutes apart) repeat the last line every every_s."""
        while not self.done.wait(min(self.every_s, 1.0)):
            for task, text in list(self.text.items()):
                self.update(task, description=text)

    def add_task(self, description: str, total=None) -> int:
        self.update(0, description=description)
        return 0

    def update(self, task: int, total=None, completed=None, description: str = "") -> None:
        with self.lock:
            now = self.clock()
            if description != self.text.get(task) or self.last is None or now - self.last >= self.every_s:
                self.text[task], self.last = description, now
                self.stream.write(f"[{now - self.start:7.1f} s] {description}\n")
                self.stream.flush()


def progress_bar(with_bar: bool):
    """Progress on stderr (stdout stays clean for --json): a transient rich display on a terminal,
    plain lines (ProgressLines) when stderr goes to a file or pipe."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    err = Console(stderr=True)
    if not err.is_terminal:
        return ProgressLines()
    columns = (TextColumn("{task.description}"), BarColumn()) if with_bar else (SpinnerColumn(), TextColumn("{task.description}"))
    return Progress(*columns, TimeElapsedColumn(), console=err, transient=True)
