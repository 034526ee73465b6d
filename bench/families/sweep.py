"""The paper's analysis of ConvNeXt and ViT through a running service: POST /sweep per model
(w, dw, dWr at 1, 2, 4 by default), wait, print Pearson r of time with flops, params and acts
over distinct stable models per mode, and save the plot.

Against ``fastscale serve`` (any device; the figures say which). On a small CPU box keep it to
inference at batch 1: python bench/families/sweep.py --url http://127.0.0.1:8000 --device cpu
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import httpx


def run(client: httpx.Client, model: str, args) -> dict:
    profile = {"device": args.device, "batch_size": args.batch, "modes": args.modes, "time_budget_s": args.budget}
    body = {"model": model, "strategies": args.strategies, "factors": args.factors, "profile": profile}
    r = client.post("/sweep", json=body)
    r.raise_for_status()
    sid, started = r.json()["id"], time.monotonic()
    while True:
        state = client.get(f"/sweep/{sid}").json()
        if state["status"] in ("finished", "failed", "cancelled"):
            break
        if time.monotonic() - started > args.timeout:
            raise TimeoutError(f"sweep {sid} of {model} still {state['status']} after {args.timeout:g} s")
        time.sleep(2)
    stem = model.replace("/", "_")
    for ext in ("png", "svg"):
        figure = client.get(f"/sweep/{sid}/plot.{ext}")
        if figure.status_code == 200:
            (args.out / f"{stem}.{ext}").write_bytes(figure.content)
    (args.out / f"{stem}.json").write_text(json.dumps(state, indent=1))
    return state


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--models", nargs="+", default=["ViT-S/16", "ConvNeXt-T"])
    ap.add_argument("--strategies", nargs="+", default=["w", "dw", "dWr"])
    ap.add_argument("--factors", nargs="+", type=float, default=[1, 2, 4])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--modes", nargs="+", default=["inference"])
    ap.add_argument("--budget", type=float, default=2.0, help="per-mode timed budget, s")
    ap.add_argument("--timeout", type=float, default=3600.0)
    ap.add_argument("--out", type=Path, default=Path("."))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with httpx.Client(base_url=args.url, timeout=30) as client:
        for model in args.models:
            state = run(client, model, args)
            analysis = state.get("analysis") or {}
            print(f"{model}: sweep {state['id']} {state['status']}, {state['measurement']}")
            for mode in args.modes:
                points = (analysis.get("points") or {}).get(mode, {})
                r = (analysis.get("pearson") or {}).get(mode, {})
                print(f"  {mode}: distinct {points.get('distinct')}, stable {points.get('stable')}; "
                      + ", ".join(f"r(time, {k}) = {v:.3f}" if v is not None else f"r(time, {k}) = n/a"
                                  for k, v in r.items()))
            for row in state["rows"]:
                print(f"    {row['label']:>4} x{row['factor']:g}: flops {row['flops']:.3g} acts {row['acts']:.3g} "
                      f"inference {row.get('inference_ms')} ms (stable {row.get('inference_stable')})")


if __name__ == "__main__":
    main()
