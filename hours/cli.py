"""`hotline hours at|check`: ask the calendar before a call does.

Wire with `register(sub, _settings)` in hotline/cli.py's parser(); each handler is stored as
`args.fn` like the other commands and returns the exit code.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime
from functools import partial
from zoneinfo import ZoneInfo

from core.errors import BadRequest, HotlineError

from hours import config
from hours.calendar import coverage, decide


def register(subparsers, load_settings) -> None:
    h = subparsers.add_parser("hours", help="business calendar: opening hours, holidays, closures")
    sub = h.add_subparsers(dest="hours_action", required=True)
    at = sub.add_parser("at", help="what a call at a given moment would get, and why")
    at.add_argument("when", help='"YYYY-MM-DD HH:MM" in the calendar\'s timezone')
    at.add_argument("--to", help="dialled number (default: the centre number)")
    at.add_argument("--json", action="store_true")
    at.set_defaults(fn=partial(cmd_at, load_settings=load_settings))
    ck = sub.add_parser("check", help="validate [hours]; exit 1 if holiday data is missing")
    ck.add_argument("--today", help="YYYY-MM-DD to check from (default: today)")
    ck.set_defaults(fn=partial(cmd_check, load_settings=load_settings))


def _calendar(s):
    return config.load_file(s.config, {d.code for d in s.centre.departments})


def _today(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()


def cmd_at(args, load_settings) -> int:
    s = load_settings(args)
    cal = _calendar(s)
    try:
        when = datetime.fromisoformat(args.when)
    except ValueError:
        raise BadRequest(f'hours at: {args.when!r} is not "YYYY-MM-DD HH:MM"') from None
    number = args.to or s.centre.centre_number
    entries = s.centre.entry_numbers()
    if number not in entries:
        raise BadRequest(f"hours at: {number} is not an entry number ({', '.join(sorted(entries))})")
    dep = entries[number]
    d = decide(cal, when, dep.code if dep else None)
    warnings = coverage(_today(cal.timezone), cal)
    at = when.replace(tzinfo=ZoneInfo(cal.timezone)) if when.tzinfo is None else when
    if args.json:
        print(json.dumps({
            "open": d.open, "reason": d.reason, "number": number, "department": d.department,
            "at": at.isoformat(), "timezone": cal.timezone, "working_day": d.working_day,
            "next_open": d.next_open.isoformat() if d.next_open else None, "warnings": warnings,
        }, ensure_ascii=False))
    else:
        nxt = f"; next open {d.next_open:%Y-%m-%d %H:%M}" if d.next_open else ""
        state = "OPEN" if d.open else "CLOSED"
        print(f"{number} at {at:%Y-%m-%d %H:%M} {cal.timezone}: {state} - {d.reason}{nxt}")
        for w in warnings:
            print(f"hours: WARNING {w}", file=sys.stderr)
    return 0


def cmd_check(args, load_settings) -> int:
    s = load_settings(args)
    cal = _calendar(s)
    try:
        today = date.fromisoformat(args.today) if args.today else _today(cal.timezone)
    except ValueError:
        raise BadRequest(f"hours check: --today {args.today!r} is not YYYY-MM-DD") from None
    warnings = coverage(today, cal)
    for w in warnings:
        print(f"hours: WARNING {w}")
    if not warnings:
        print(f"hours ok: holiday data for {today.year} and {today.year + 1}; "
              f"{len(cal.departments)} departments with own hours, {len(cal.overrides)} overrides, "
              f"{len(cal.closures)} closures")
    return 1 if warnings else 0


if __name__ == "__main__":  # pragma: no cover - `python -m hours.cli` before it is wired in
    from core import settings

    p = argparse.ArgumentParser(prog="hours")
    p.add_argument("--settings")
    register(p.add_subparsers(dest="cmd", required=True), lambda a: settings.load(a.settings))
    a = p.parse_args()
    try:
        sys.exit(a.fn(a))
    except HotlineError as e:
        sys.exit(f"hours: error [{e.id}]: {e}")
