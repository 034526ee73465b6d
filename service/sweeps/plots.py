"""The paper's figure for a sweep: time vs flops per strategy, and time vs acts with the fit.

matplotlib with the Agg backend (no display), one row per measured mode. What the figure may not
hide (issue #10, requirement 4): unstable points are drawn hollow (they are left out of r and the
fit), each panel says over how many distinct stable models r was computed or that it could not
be, and the title names the device, batch size and dtype the times belong to.
"""

from __future__ import annotations

import io

import matplotlib

from service.context import Services
from service.errors import NotFinished
from service.ids import content_id
from service.sweeps.document import load_sweep

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MARKERS = "osD^v<>ph*"
PLOT_VERSION = 2  # part of every cached figure's version: bump when the figure's drawing changes


def _scatter(ax, xs, ys, stable, marker: str, color, label: str | None) -> None:
    """Filled markers for stable points, hollow ones for unstable points."""
    for keep, face in ((True, color), (False, "none")):
        pts = [(x, y) for x, y, s in zip(xs, ys, stable) if s is keep]
        if pts:
            ax.scatter(*zip(*pts), marker=marker, facecolors=face, edgecolors=color, zorder=3,
                       label=label if keep or not any(stable) else None)


def _strategy(ax_f, ax_a, mine: list[dict], mode: str, marker: str, color, label: str) -> None:
    ms = [r[f"{mode}_ms"] for r in mine]
    stable = [r.get(f"{mode}_stable") is True for r in mine]
    ax_f.plot([r["flops"] / 1e9 for r in mine], ms, color=color, alpha=0.5)
    _scatter(ax_f, [r["flops"] / 1e9 for r in mine], ms, stable, marker, color, label)
    _scatter(ax_a, [r["acts"] / 1e6 for r in mine], ms, stable, marker, color, label)


def _r_text(analysis: dict, mode: str, metric: str) -> str:
    r = (analysis.get("pearson", {}).get(mode) or {}).get(metric)
    pts = analysis.get("points", {}).get(mode, {})
    if r is None:
        return f"r: too few stable points ({pts.get('stable', 0)} of {pts.get('distinct', 0)} models)"
    return f"r = {r:.3f} over {pts.get('stable')} stable of {pts.get('distinct')} models"


def _fit_line(ax_a, pts: list[dict], fit: dict | None) -> None:
    if not fit or not pts:
        return
    xs = sorted(r["acts"] for r in pts)
    ax_a.plot([x / 1e6 for x in (xs[0], xs[-1])], [fit["a_ms"] + fit["b_ms_per_act"] * x for x in (xs[0], xs[-1])],
              "k--", label=f"fit (stable only): R² = {fit['r2']:.3f}")


def _panel_row(axes, rows: list[dict], analysis: dict, mode: str, strategies: list[str]) -> None:
    ax_f, ax_a = axes
    pts = [r for r in rows if r.get(f"{mode}_ms") is not None]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for j, label in enumerate(strategies):
        mine = sorted((r for r in pts if r["label"] == label), key=lambda r: r["flops"])
        if mine:
            _strategy(ax_f, ax_a, mine, mode, MARKERS[j % len(MARKERS)], colors[j % len(colors)], label)
    _fit_line(ax_a, pts, analysis.get("fit", {}).get(mode))
    ax_f.set_title(f"{mode} time vs flops ({_r_text(analysis, mode, 'flops')})", fontsize=9)
    ax_a.set_title(f"{mode} time vs activations ({_r_text(analysis, mode, 'acts')})", fontsize=9)
    ax_f.set_xlabel("flops (GFLOPs, multiply-adds)")
    ax_a.set_xlabel("activations (millions)")
    for ax in (ax_f, ax_a):
        ax.set_ylabel(f"{mode} time per batch (ms)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)


def _unstable_note(analysis: dict, modes: list[str]) -> str:
    points = analysis.get("points", {})
    counts = [f"{m}: {points.get(m, {}).get('unstable', 0)} of {points.get(m, {}).get('distinct', 0)}" for m in modes]
    return "hollow markers: unstable measurements, left out of r and the fit (distinct models unstable, " + \
        "; ".join(counts) + ")"


def sweep_figure(rows: list[dict], analysis: dict, title: str, fmt: str = "png") -> bytes:
    modes = [m for m in ("training", "inference") if any(r.get(f"{m}_ms") is not None for r in rows)]
    fig, axes = plt.subplots(max(1, len(modes)), 2, figsize=(11, 4.2 * max(1, len(modes))), squeeze=False)
    strategies = sorted({r["label"] for r in rows})
    for i, mode in enumerate(modes):
        _panel_row(axes[i], rows, analysis, mode, strategies)
    fig.suptitle(f"{title}\n{_unstable_note(analysis, modes)}", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=110)
    plt.close(fig)
    return buf.getvalue()


def _title(sweep: dict) -> str:
    m = sweep["measurement"]
    on = f"{m['device']} ({m['device_class']})" if m.get("device") else m["device_class"]
    layout = ", channels_last" if m.get("channels_last") else ""
    return f"{sweep['base']} on {on}: batch {m.get('batch_size')}, {m.get('dtype')}{layout}"


def sweep_plot(c: Services, sid: str, fmt: str) -> bytes:
    """The sweep's figure as PNG or SVG bytes; only once every row is done.

    Rendering costs 0.4-0.7 s of CPU, so each figure is kept in Redis beside a version (a hash of
    the rows it shows): a repeated GET renders nothing until a row changes (a re-measurement).
    """
    sweep = load_sweep(c, sid)
    if sweep["status"] not in ("finished", "failed"):
        raise NotFinished(f"sweep {sid} is not done yet ({sweep['done']}/{sweep['total']}); poll GET /sweep/{sid}")
    version = content_id({"rows": sweep["rows"], "measurement": sweep["measurement"], "plot": PLOT_VERSION})
    key = c.keys.sweep_plot(sid, fmt)
    cached_version, image = c.redis.hmget(key, ["version", "image"])
    if cached_version is not None and cached_version.decode() == version and image is not None:
        return image
    rows = [r for r in sweep["rows"] if r["status"] == "finished"]
    image = sweep_figure(rows, sweep["analysis"], _title(sweep), fmt)
    pipe = c.redis.pipeline()
    pipe.hset(key, mapping={"version": version, "image": image})
    pipe.expire(key, c.settings.result_ttl_s)
    pipe.execute()
    return image
