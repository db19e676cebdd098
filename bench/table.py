"""Markdown tables for the benchmarks' printed results: first column left, numbers right."""
from __future__ import annotations

from collections.abc import Callable, Iterable


def markdown(columns: list[tuple[str, Callable[[dict], object]]], rows: Iterable[dict]) -> str:
    lines = ["| " + " | ".join(h for h, _ in columns) + " |",
             "|---|" + "---:|" * (len(columns) - 1)]
    lines += ["| " + " | ".join(str(fn(r)) for _, fn in columns) + " |" for r in rows]
    return "\n".join(lines)
