"""`hotline trunks show|apply|citizen`, the trunk lines of `hotline check` and `hotline info`,
and `hotline call --sip` (a citizen's call over a trunk, SIPp as the carrier). Wired in
hotline/cli.py."""
from __future__ import annotations

import asyncio
import json
import sys
import time

from trunks import carrier as sipp, model


def _plan(s) -> model.TrunkPlan:
    return model.from_centre(s.centre)


def check_lines(s) -> list[str]:
    """Raises TrunkInvalid (with the table and key) when the trunks are wrong."""
    plan = _plan(s)
    lines = []
    for t in plan.trunks:
        model.registration(t, s.state_dir)   # a registering trunk's secrets file must be there, 0600
        if t.kind == "sim":
            lines.append(f"trunks ok: {t.name} (out, the simulated citizen)")
            continue
        where = ", ".join(f"{h}:{t.port}" for h in t.hosts)
        accepts = f", accepts {', '.join(t.accepts_from)}" if t.inbound else ""
        lines.append(f"trunks ok: {t.name} ({t.direction}, {t.transport} {where}{accepts}; {t.channels} channels, "
                     f"{t.calls_per_second}/s per source{', registers' if t.register else ''})")
    p = plan.policy
    lines.append(f"outbound ok: through {', '.join(t.name for t in plan.outbound) or 'no trunk'}; allow "
                 f"{', '.join(p.allow)}; never 00, {', '.join(p.premium_prefixes)} or numbers under {p.min_length} "
                 f"digits; {p.max_concurrent} at once, {p.max_attempts_per_day} attempts per number and day")
    return lines


def info_trunks(s) -> list[dict]:
    """`hotline info --json` "trunks": where an outside SIP client sends its INVITE (the
    centre's SIP address) and which source addresses each trunk accepts."""
    return [{"name": t.name, "host": s.bind, "port": s.sip_port, "transport": t.transport,
             "accepts_from": list(t.accepts_from)} for t in _plan(s).inbound]


def sip_call(args, s) -> int:
    """`hotline call --sip`: SIPp delivers the call to the centre over the trunk."""
    from tickets.store import Store
    call = sipp.CarrierCall(to=args.to, caller="" if args.caller in ("", "anonymous") else args.caller,
                            keys=args.dtmf or "", wait=args.wait, talk=args.talk)
    call.validate()

    async def main():
        result = await sipp.place(s.bind, s.sip_port, [call], source=args.source,
                                  timeout=call.wait + call.talk + 60)
        print(f"call: sipp {result.responses} (exit {result.returncode})", file=sys.stderr)
        if not result.answered:
            return result, None
        store = Store(s.database_url)
        try:
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                found = await store.tickets(limit=20)
                for t in found:   # the newest ticket of this trunk call
                    if t.get("trunk") and t["dialed"] and time.time() - _epoch(t["created_at"]) < args.timeout + 60:
                        return result, t
                await asyncio.sleep(0.5)
        finally:
            await store.close()
        return result, None

    result, ticket = asyncio.run(main())
    if not result.answered:
        print(f"call: not answered: {result.responses or result.stderr.strip()[-300:]}", file=sys.stderr)
        return 1
    if ticket is None:
        print("call: answered, but no ticket appeared in time (is `hotline serve` running?)", file=sys.stderr)
        return 1
    print(json.dumps(ticket, ensure_ascii=False, indent=2))
    return 0


def _epoch(iso: str | None) -> float:
    from datetime import datetime
    return datetime.fromisoformat(iso).timestamp() if iso else 0.0


def register(subparsers, load_settings) -> None:
    t = subparsers.add_parser("trunks", help="carrier trunks: show, apply a change, run a citizen (SIPp UAS)")
    sub = t.add_subparsers(dest="trunks_action", required=True)
    sh = sub.add_parser("show", help="the trunks of the centre file and what Asterisk is given")
    sh.add_argument("--json", action="store_true")
    sub.add_parser("apply", help="render and apply a changed [[trunks]] (PJSIP reload, no call dropped)")
    c = sub.add_parser("citizen", help="answer the centre's outbound calls as a citizen (SIPp UAS)")
    c.add_argument("--port", type=int, default=5090)
    c.add_argument("--key", default="", help="the survey answer the citizen keys")
    c.add_argument("--unavailable", action="store_true", help="answer 503 (a carrier out of service)")

    def run(args) -> int:
        s = load_settings(args)
        if args.trunks_action == "show":
            from .render import globals_of
            plan = _plan(s)
            data = {"trunks": [{"name": x.name, "direction": x.direction, "kind": x.kind, "hosts": list(x.hosts),
                                "port": x.port, "transport": x.transport, "accepts_from": list(x.accepts_from),
                                "channels": x.channels, "calls_per_second": x.calls_per_second,
                                "numbers": x.numbers, "register": x.register} for x in plan.trunks],
                    "globals": globals_of(plan)}
            print(json.dumps(data, indent=2) if args.json else "\n".join(check_lines(s)))
            return 0
        if args.trunks_action == "apply":
            from .apply import apply
            out = apply(s)
            print(json.dumps(out, indent=2))
            return 1 if out["errors"] else 0

        async def citizen():
            async with sipp.Citizen(args.port, key=args.key, unavailable=args.unavailable):
                print(f"citizen: answering on 127.0.0.1:{args.port} (Ctrl-C ends)", file=sys.stderr)
                await asyncio.Event().wait()
        try:
            asyncio.run(citizen())
        except KeyboardInterrupt:
            pass
        return 0
    t.set_defaults(fn=run)
