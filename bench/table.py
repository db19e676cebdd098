"""Markdown tables for the benchmarks' printed results: first column left, numbers right."""
from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence


def markdown(columns: list[tuple[str, Callable[[dict], object]]], rows: Iterable[dict]) -> str:
    lines = ["| " + " | ".join(h for h, _ in columns) + " |",
             "|---|" + "---:|" * (len(columns) - 1)]
    lines += ["| " + " | ".join(str(fn(r)) for _, fn in columns) + " |" for r in rows]
    return "\n".join(lines)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The exact q-quantile of the samples (nearest rank: a value that was measured, never
    one interpolated inside a histogram bucket); None without samples."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def load_average() -> str:
    """The machine's 1/5/15-minute load average (the benchmark machine is shared: say so)."""
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())
