"""The paper's figure for a sweep: time vs flops per strategy, and time vs acts with the fit.

matplotlib with the Agg backend (no display), one row per measured mode.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def sweep_figure(rows: list[dict], analysis: dict, title: str, fmt: str = "png") -> bytes:
    modes = [m for m in ("training", "inference") if any(r.get(f"{m}_ms") is not None for r in rows)]
    fig, axes = plt.subplots(len(modes), 2, figsize=(11, 4.2 * len(modes)), squeeze=False)
    strategies = sorted({r["label"] for r in rows})
    markers = "osD^v<>ph*"
    for i, mode in enumerate(modes):
        ax_f, ax_a = axes[i]
        pts = [r for r in rows if r.get(f"{mode}_ms") is not None]
        for j, label in enumerate(strategies):
            mine = sorted((r for r in pts if r["label"] == label), key=lambda r: r["flops"])
            ax_f.plot([r["flops"] / 1e9 for r in mine], [r[f"{mode}_ms"] for r in mine], marker=markers[j % 10],
                      label=label)
            ax_a.scatter([r["acts"] / 1e6 for r in mine], [r[f"{mode}_ms"] for r in mine], marker=markers[j % 10],
                         label=label)
        fit = analysis.get("fit", {}).get(mode)
        r_acts = (analysis.get("pearson", {}).get(mode) or {}).get("acts")
        if fit and pts:
            xs = sorted(r["acts"] for r in pts)
            ax_a.plot([x / 1e6 for x in (xs[0], xs[-1])], [fit["a_ms"] + fit["b_ms_per_act"] * x for x in (xs[0], xs[-1])],
                      "k--", label=f"fit: r = {r_acts:.3f}, R² = {fit['r2']:.3f}" if r_acts is not None else "fit")
        r_flops = (analysis.get("pearson", {}).get(mode) or {}).get("flops")
        ax_f.set_title(f"{mode} time vs flops" + (f" (r = {r_flops:.3f})" if r_flops is not None else ""))
        ax_a.set_title(f"{mode} time vs activations")
        ax_f.set_xlabel("flops (GFLOPs, multiply-adds)")
        ax_a.set_xlabel("activations (millions)")
        for ax in (ax_f, ax_a):
            ax.set_ylabel(f"{mode} time per batch (ms)")
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=110)
    plt.close(fig)
    return buf.getvalue()
