"""HTTP routes of the command centre. Wire with `add_routes(app, live, event_log)`.

- GET /wallboard                      the wall screen (the page asks for a token; data below)
- GET /api/v1/wallboard               the board now (JSON)
- GET /api/v1/wallboard/stream        the board pushed as server-sent events on every change
- GET /api/v1/reports/kpi             ?from=&to= (ISO dates or epoch) &interval=900|1800|3600|86400
                                      &group_by=department,language,agent &format=json|csv
- GET /api/v1/reports/definitions     the written KPI definitions
- GET /api/v1/reports/staffing        Erlang C agents needed per interval vs logged in
                                      (&target_sl=0.8&target_s=15)
- GET /api/v1/reports/queue_log       Asterisk-compatible queue_log lines for the period
- GET /api/v1/reports/digest          the leadership digest (&format=csv), see reports/digest.py
- GET /digest                         the digest page (asks for a token)
"""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from zoneinfo import ZoneInfo

from pathlib import Path

from aiohttp import web

from core.errors import BadRequest
from web import sse
from web.app import dumps, page, roles

from tickets.store import digest_rows, dispatch_history

from reports import csv_export, digest, kpi, queue_log, staffing
from reports.live import Live

LIVE = web.AppKey("live", Live)
EVENT_LOG = web.AppKey("event_log", object)
STORE = web.AppKey("report_store", object)
TZ = "Asia/Shanghai"

PAGES = Path(__file__).with_name("pages")



def _when(raw: str | None, default: float, name: str) -> float:
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an ISO date/time or epoch seconds") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(TZ))
    return dt.timestamp()


async def _period(request: web.Request) -> tuple[list, float, float]:
    live = request.app[LIVE]
    now = live.clock()
    since = _when(request.query.get("from"), live.day_start or now - 86400, "from")
    until = _when(request.query.get("to"), now, "to")
    if not since < until or until - since > 366 * 86400:
        raise BadRequest("from must be before to, at most a year apart")
    events = await request.app[EVENT_LOG].read(since=since, until=until)
    return events, since, until


@roles("supervisor", "ops")
async def board(request: web.Request) -> web.Response:
    return web.json_response(await request.app[LIVE].fresh_board(), dumps=dumps)


@roles("supervisor", "ops")
async def stream(request: web.Request) -> web.StreamResponse:
    live = request.app[LIVE]
    await live.fresh_board()   # the nodes' health read now (a cluster), then the board as listened to
    q = live.listen()
    return await sse.stream(request, q, "board", first=live.board(), close=lambda: live.unlisten(q))


@roles("supervisor", "ops", "auditor")
async def kpis(request: web.Request) -> web.Response:
    events, since, until = await _period(request)
    interval = request.query.get("interval", "3600")
    if interval not in ("900", "1800", "3600", "86400"):
        raise BadRequest("interval must be 900, 1800, 3600 or 86400 seconds")
    group_by = tuple(g for g in request.query.get("group_by", "department").split(",") if g)
    try:
        rows = kpi.compute(events, group_by=group_by, interval=int(interval), tz=TZ, until=until)
    except ValueError as e:
        raise BadRequest(str(e)) from None
    if request.query.get("format") == "csv":
        return web.Response(text=csv_export.to_csv(rows, group_by=group_by), content_type="text/csv",
                            headers={"Content-Disposition": 'attachment; filename="kpi.csv"'})
    items = [{k: v for k, v in asdict(r).items() if not k.startswith("_")} for r in rows]
    return web.json_response({"from": since, "to": until, "interval": int(interval), "group_by": list(group_by),
                              "items": items, "missed_callbacks": kpi.missed_callbacks(events)}, dumps=dumps)


@roles("supervisor", "ops", "auditor")
async def definitions(request: web.Request) -> web.Response:
    return web.json_response(kpi.DEFINITIONS, dumps=dumps)


@roles("supervisor", "ops")
async def staffing_advice(request: web.Request) -> web.Response:
    events, since, until = await _period(request)
    try:
        target_sl = float(request.query.get("target_sl", "0.8"))
        target_s = float(request.query.get("target_s", "15"))
        interval = int(request.query.get("interval", "1800"))
    except ValueError:
        raise BadRequest("target_sl, target_s and interval must be numbers") from None
    if not (0 < target_sl < 1 and 0 < target_s <= 600 and interval in (900, 1800, 3600)):
        raise BadRequest("target_sl in (0,1), target_s in (0,600], interval 900/1800/3600")
    rows = kpi.compute(events, group_by=(), interval=interval, tz=TZ, until=until)
    advice = staffing.advise(rows, target_sl=target_sl, target_s=target_s, default_aht_s=180.0)
    return web.json_response({"items": [asdict(a) for a in advice]}, dumps=dumps)


@roles("supervisor", "ops", "auditor")
async def queue_log_text(request: web.Request) -> web.Response:
    events, _, _ = await _period(request)
    return web.Response(text=queue_log.format_queue_log(events), content_type="text/plain")


@roles("supervisor", "ops", "auditor")
async def leadership_digest(request: web.Request) -> web.Response:
    live = request.app[LIVE]
    now = live.clock()
    since = _when(request.query.get("from"), now - 7 * 86400, "from")
    until = _when(request.query.get("to"), now, "to")
    if not since < until or until - since > 366 * 86400:
        raise BadRequest("from must be before to, at most a year apart")
    rows = await digest_rows(request.app[STORE], since - (until - since), until)
    d = digest.build(rows, since, until, now, history=await dispatch_history(request.app[STORE], since, until))
    if request.query.get("format") == "csv":
        return web.Response(text=digest.to_csv(d), content_type="text/csv",
                            headers={"Content-Disposition": 'attachment; filename="digest.csv"'})
    return web.json_response(d, dumps=dumps)


def add_routes(app: web.Application, live: Live, event_log, store) -> None:
    app[LIVE] = live
    app[EVENT_LOG] = event_log
    app[STORE] = store
    app.router.add_get("/digest", page("digest.html", PAGES))
    app.router.add_get("/api/v1/reports/digest", leadership_digest)
    app.router.add_get("/wallboard", page("wallboard.html", PAGES))
    app.router.add_get("/api/v1/wallboard", board)
    app.router.add_get("/api/v1/wallboard/stream", stream)
    app.router.add_get("/api/v1/reports/kpi", kpis)
    app.router.add_get("/api/v1/reports/definitions", definitions)
    app.router.add_get("/api/v1/reports/staffing", staffing_advice)
    app.router.add_get("/api/v1/reports/queue_log", queue_log_text)
