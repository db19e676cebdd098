"""HTTP routes of the scorecards. Wire with `add_routes(app, store, timezone, clock)`.

- GET /scorecard                               the page (supervisors, ops, auditors)
- GET /api/v1/scorecard?month=2026-11          {"month", "from", "to", "response_hours",
                                               "departments": [...], "agents": [...], "definitions"}
- GET /api/v1/scorecard.csv?month=&part=departments|agents   the same as CSV

The month is the centre's calendar month (its timezone); without `month`, the current one.
Definitions: scorecard/figures.py (the same text is in the answer's `definitions`).
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import web

from core.errors import BadRequest
from web.app import dumps, role_page, roles

from scorecard import figures
from scorecard.store import rows

SCORECARD = web.AppKey("scorecard", dict)
PAGES = Path(__file__).with_name("pages")
ALLOWED = frozenset({"supervisor", "ops", "auditor"})


def month_bounds(month: str | None, now: datetime, tz: str) -> tuple[str, float, float]:
    zone = ZoneInfo(tz)
    if month is None:
        local = now.astimezone(zone)
        y, m = local.year, local.month
    else:
        if not re.fullmatch(r"(20[0-9]{2})-(0[1-9]|1[0-2])", month):
            raise BadRequest("month must be YYYY-MM (2000-2099)", field="month")
        y, m = int(month[:4]), int(month[5:])
    start = datetime(y, m, 1, tzinfo=zone)
    end = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=zone)
    return f"{y:04d}-{m:02d}", start.timestamp(), end.timestamp()


async def _cards(request: web.Request) -> dict:
    cfg = request.app[SCORECARD]
    now = cfg["clock"]()
    month, since, until = month_bounds(request.query.get("month"), now, cfg["timezone"])
    history, calls, on_spot = await rows(cfg["store"], since, until)
    depts = figures.departments(history, since, until, now.timestamp(), cfg["response_hours"])
    return {"month": month, "from": since, "to": until, "response_hours": cfg["response_hours"],
            "departments": [{**figures.public(c), "name": cfg["names"].get(c.department, c.department)}
                            for c in depts],
            "agents": [figures.public(c) for c in figures.agents(calls, on_spot)],
            "definitions": figures.DEFINITIONS}


@roles("supervisor", "ops", "auditor")
async def scorecard(request: web.Request) -> web.Response:
    """A month's scorecards of departments and agents, with their definitions."""
    return web.json_response(await _cards(request), dumps=dumps)


def _cell(v) -> str:
    if v is None:
        return ""
    s = str(v)
    return "'" + s if s.startswith(("=", "+", "@", "\t", "\r")) or (s.startswith("-") and not _number(s)) else s


def _number(s: str) -> bool:
    return re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", s) is not None


@roles("supervisor", "ops", "auditor")
async def scorecard_csv(request: web.Request) -> web.Response:
    part = request.query.get("part", "departments")
    if part not in ("departments", "agents"):
        raise BadRequest("part must be departments or agents", field="part")
    body = await _cards(request)
    cols = figures.columns(figures.DepartmentCard if part == "departments" else figures.AgentCard)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(cols)
    for item in body[part]:
        w.writerow([_cell(item[c]) for c in cols])
    return web.Response(body=("\ufeff" + buf.getvalue()).encode(), headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="scorecard-{part}-{body["month"]}.csv"'})


def add_routes(app: web.Application, store, timezone: str, clock: Callable[[], datetime],
               response_hours: float = 24.0, names: dict[str, str] | None = None) -> None:
    """`names`: department code -> name, for the page."""
    app[SCORECARD] = {"store": store, "timezone": timezone, "clock": clock, "response_hours": response_hours,
                      "names": dict(names or {})}
    app.router.add_get("/scorecard", role_page("scorecard.html", PAGES, ALLOWED))
    app.router.add_get("/api/v1/scorecard", scorecard)
    app.router.add_get("/api/v1/scorecard.csv", scorecard_csv)
