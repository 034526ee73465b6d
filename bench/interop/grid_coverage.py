"""How many plans of the grid (every zoo base x every named strategy x factors 1.5, 4, 16 x both
roundings) each export format expresses exactly, and the reasons for the rest, as a table.

    .venv/bin/python -m bench.interop.grid_coverage

Pure planning and recipe writing: no library is imported (the tests build what it counts).
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.table import Table

from fastscale import zoo
from tests.interop.grid import coverage, plans


def main() -> None:
    start = time.perf_counter()
    total = sum(len(plans(b)) for b in zoo.paper_names())
    table = Table(title=f"Grid: {len(zoo.paper_names())} bases x 8 strategies x 3 factors x 2 roundings = {total} plans")
    for col in ("format", "expressed", "refused", "reason (count)"):
        table.add_column(col)
    for fmt, (n, reasons) in coverage().items():
        why = "\n".join(f"{count}: {head}" for head, count in sorted(reasons.items(), key=lambda kv: -kv[1]))
        table.add_row(fmt, str(n), str(total - n), why or "-")
    Console(width=160).print(table)
    print(f"({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
