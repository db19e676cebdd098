"""Report rows (KpiRow, Advice) -> CSV text with a header row. Pure.

Columns: interval_start (ISO 8601 with offset), interval_s, one column per group key, then the
figures in their dataclass order; private sums (names starting with "_") are left out.
None is written as an empty cell and floats with 4 decimals.
"""
from __future__ import annotations

import csv
import io
from dataclasses import fields
from datetime import datetime

from reports.kpi import KpiRow

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, float):
        return f"{v:.4f}"
    if isinstance(v, datetime):
        return v.isoformat()
    s = str(v)
    # Spreadsheets run a cell that starts like a formula; a group value (an agent name, say)
    # must stay text when the command centre opens the file.
    return "'" + s if s.startswith(_FORMULA_START) else s


def to_csv(rows: list, *, row_type: type = KpiRow, group_by: tuple[str, ...] = ()) -> str:
    """CSV text of rows of one dataclass type that has a `group` dict. The columns come from
    the first row; with no rows, from row_type and group_by, so an empty report still has
    its header."""
    names = [f.name for f in fields(rows[0] if rows else row_type) if not f.name.startswith("_")]
    keys = list(rows[0].group) if rows else list(group_by)
    header = []
    for n in names:
        header.extend(keys if n == "group" else [n])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")  # RFC 4180 line ends
    w.writerow(header)
    for r in rows:
        line = []
        for n in names:
            line.extend([r.group.get(k) for k in keys] if n == "group" else [getattr(r, n)])
        w.writerow([_cell(v) for v in line])
    return buf.getvalue()
