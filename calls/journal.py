"""Parse journal lines written by the dialplan: '<epoch.ms> <kind> key=value ...'."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote


@dataclass(frozen=True)
class Entry:
    ts: float
    kind: str
    fields: dict[str, str]


def parse_line(line: str) -> Entry | None:
    """One journal line; None for a line that is not one (torn write, garbage)."""
    parts = line.strip().split(" ")
    if len(parts) < 2:
        return None
    try:
        ts = float(parts[0])
    except ValueError:
        return None
    fields = {}
    for p in parts[2:]:
        key, sep, value = p.partition("=")
        if sep and key:
            fields[key] = unquote(value, errors="replace")
    return Entry(ts, parts[1], fields)


def parse(text: str) -> list[Entry]:
    return [e for e in (parse_line(line) for line in text.splitlines()) if e is not None]


def is_complete(entries: list[Entry]) -> bool:
    return any(e.kind == "end" for e in entries)
