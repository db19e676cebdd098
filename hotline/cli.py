"""The `hotline` command."""
from __future__ import annotations

import argparse
import dataclasses
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

from core import settings as settings_mod
from core import contract
from core.errors import ConfigInvalid, HotlineError

log = logging.getLogger("hotline")
SWITCH_INTERVAL = 0.0005   # seconds (see cmd_serve)


def _settings(args) -> settings_mod.Settings:
    s = settings_mod.load(args.settings, home=args.home, instance=args.instance, db_url=args.db_url)
    if not s.db_url and getattr(args, "fn", None) not in _OWN_DATABASE:
        # while a cluster runs, the operator commands act on the cluster's database
        from cluster.service import running_database
        url = running_database(s.home)
        if url:
            s = dataclasses.replace(s, db_url=url)
    return s


def cmd_asterisk(args) -> int:
    from asterisk_conf import install, process, render
    s = _settings(args)
    if args.action == "install":
        install.install(s)
        _prompts(s)
    elif args.action == "up":
        _prompts(s)
        print(f"asterisk: {process.up(s)} ({s.instance}, AMI {s.bind}:{s.ami_port}, SIP {s.bind}:{s.sip_port})")
    elif args.action == "down":
        print("asterisk: stopped" if process.down(s) else "asterisk: was not running")
    elif args.action == "status":
        st = process.status(s)
        print(json.dumps(st, indent=2))
        return 0 if st["running"] else 3
    elif args.action == "render":
        for name, text in render.render(s).items():
            print(f";; ---- {name}\n{text}")
    return 0


def _prompts(s) -> None:
    from ivr import loader, prompts
    from asterisk_conf import install
    menu, problems = loader.load_all(s.menus, s.centre)
    if menu is None or loader.errors(problems):
        raise ConfigInvalid("menus do not pass `hotline ivr check`:\n" + "\n".join(map(str, loader.errors(problems))))
    n = prompts.build(s.root, menu, install.asterisk_ids(s.root))
    if n:
        print(f"prompts: synthesised {n} files")


def cmd_ivr(args) -> int:
    from ivr import loader
    s = _settings(args)
    menu, problems = loader.load_all(Path(args.dir) if args.dir else s.menus, s.centre)
    if args.action == "check":
        for p in problems:
            print(p)
        errs = loader.errors(problems)
        print(f"ivr check: {len(errs)} errors, {len(problems) - len(errs)} warnings"
              + (f", menu {menu.version}" if menu else ""))
        return 1 if errs or menu is None else 0
    if menu is None:
        for p in problems:
            print(p)
        return 1
    from ivr.simulate import walk
    print(walk(menu, args.to, [k.strip() for k in args.keys.split(",")] if args.keys else [],
               remembered=args.remembered))
    return 0


def cmd_serve(args) -> int:
    from hotline.app import Engine
    s = _settings(args)
    phones = False if args.no_agents else None
    engine = Engine(s, phones=phones)
    # the event loop answers AGI; a worker thread (SQLite driver, journal reads) holding the
    # GIL makes it wait up to the switch interval, 5 ms by default: a tenth of that bounds
    # the stall well inside the 2 ms round-trip budget
    sys.setswitchinterval(SWITCH_INTERVAL)

    async def main():
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        ready = asyncio.Event()
        lease = None
        if getattr(args, "lease", False):
            # a cluster node's engines: the holder of the node's lease routes, the others wait
            from cluster.lease import Lease
            lease = Lease(s.database_url, s.node, s.state_dir)
        with contextlib.suppress(asyncio.CancelledError):
            if lease is not None:
                print(f"hotline: waiting for the routing lease of {s.node}", flush=True)
                await lease.acquire()
                engine.started = time.time()   # /status uptime: since this engine routes
                log.warning("routing lease of %s taken (pid %s): this engine routes the node now", s.node,
                            os.getpid())
            runner = asyncio.ensure_future(engine.run(ready))
            await ready.wait()
            print(f"hotline: serving. Status {s.http_url}/status · API {s.http_url}/api/v1/tickets · "
                  f"place a call: hotline call --from 13800138000 --to {s.centre.centre_number} --dtmf 1w2",
                  flush=True)
            if lease is None:
                await runner
                return
            lost = asyncio.ensure_future(lease.lost())
            try:
                await asyncio.wait({runner, lost}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                lost.cancel()
                if not runner.done():   # the lease is gone: a successor routes, this engine must not
                    runner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await runner
                await lease.release()
    asyncio.run(main())
    return 0


def cmd_run(args) -> int:
    from asterisk_conf import install, process
    s = _settings(args)
    install.install(s)
    _prompts(s)
    print(f"asterisk: {process.up(s)}")
    return cmd_serve(args)


# an engine has its own database (a cluster's engines get theirs in their settings)
_OWN_DATABASE = {cmd_serve, cmd_run}


def cmd_call(args) -> int:
    from ami.session import AmiSession
    from asterisk_conf import secrets
    from calls.dialer import SimCall, new_linkedid, originate, validate
    from tickets.store import Store
    s = _settings(args)
    if args.sip:   # over the trunk: SIPp is the carrier (trunks/carrier.py)
        from trunks.cli import sip_call
        return sip_call(args, s)
    call = SimCall(to=args.to, caller=args.caller, dtmf=args.dtmf or "", talk=args.talk, wait=args.wait)
    validate(call)

    async def main() -> dict | None:
        ami = AmiSession(s.bind, s.ami_port, secrets.AMI_USER, secrets.ami_secret(s.state_dir),
                         events=False, name="call")
        store = Store(s.database_url)
        async with asyncio.TaskGroup() as tg:
            owner = tg.create_task(ami.run())
            try:
                await ami.wait_connected(10)
                linkedid = new_linkedid(s.node)
                await originate(ami, call, linkedid)
                print(f"call: {linkedid} placed to {call.to}", file=sys.stderr)
                deadline = time.monotonic() + call.wait + call.talk + args.timeout
                while time.monotonic() < deadline:
                    with contextlib.suppress(HotlineError):
                        found = await store.tickets(linkedid=linkedid, limit=1)
                        if found:
                            return found[0]
                    await asyncio.sleep(0.5)
                return None
            finally:
                owner.cancel()
                await store.close()

    ticket = asyncio.run(main())
    if ticket is None:
        print("call: no ticket appeared in time (is `hotline serve` running?)", file=sys.stderr)
        return 1
    print(json.dumps(ticket, ensure_ascii=False, indent=2))
    return 0


def cmd_tickets(args) -> int:
    from tickets.store import Store
    s = _settings(args)

    async def main():
        store = Store(s.database_url)
        try:
            await store.migrate()
            return await store.tickets(caller=args.caller, dialed=args.dialed, limit=args.limit)
        finally:
            await store.close()
    items = asyncio.run(main())
    if args.json:
        print(json.dumps(items, ensure_ascii=False, indent=2))
        return 0
    print(f"{'id':>5}  {'created':19}  {'caller':15} {'dialed':6} {'lang':4} {'dept':8} "
          f"{'disposition':18} {'wait':>6} {'talk':>6} agent")
    for t in items:
        print(f"{t['id']:>5}  {(t['created_at'] or '')[:19]:19}  {t['caller'][:15]!s:15} {t['dialed']:6} "
              f"{t['language'] or '-':4} {t['department'] or '-':8} {t['disposition'] or '-':18} "
              f"{_num(t['wait_seconds']):>6} {_num(t['talk_seconds']):>6} {t['agent'] or '-'}")
    return 0


def _num(v) -> str:
    return "-" if v is None else f"{v:.1f}"


def cmd_info(args) -> int:
    from asterisk_conf import secrets
    s = _settings(args)
    info = {
        "ami": {"host": s.bind, "port": s.ami_port, "username": secrets.AMI_USER,
                "secret": secrets.ami_secret(s.state_dir)},
        "http": s.http_url,
        "inbound_context": contract.INBOUND,
        "sim_trunk_context": contract.SIM_TRUNK,
        "caller_context": contract.SIM_CALLER,
        "entry_numbers": sorted(s.centre.entry_numbers()),
        "node": s.node,
    }
    from trunks.cli import info_trunks
    info["trunks"] = info_trunks(s)
    print(json.dumps(info, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in info.items()))
    return 0


def cmd_token(args) -> int:
    from tickets.store import Store
    s = _settings(args)

    async def main():
        store = Store(s.database_url)
        try:
            await store.migrate()
            if args.user:   # a token that acts as this person (their role, their name in history)
                from users.store import UserStore
                return await UserStore(store).create_token(args.user, args.name or "")
            if not args.role:
                raise ConfigInvalid("token create needs --role ROLE (or --user USERNAME)")
            return await store.create_token(args.role, args.name or "")
        finally:
            await store.close()
    print(asyncio.run(main()))
    return 0


def cmd_recordings(args) -> int:
    from datetime import UTC, datetime
    from recordings import purge, retention
    from tickets.store import Store
    s = _settings(args)
    days = retention.load(s.config)

    async def main():
        store = Store(s.database_url)
        try:
            await store.migrate()
            return await purge.purge(store, days, datetime.now(UTC), dry_run=args.dry_run)
        finally:
            await store.close()
    report = asyncio.run(main())
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for r in report:
            print(f"{r['id']:>6}  {r['kind']:9} {r['category']:16} {r['created_at'][:19]}  {r['action']}")
        done = sum(r["action"] in ("deleted", "would delete") for r in report)
        print(f"recordings: {done} {'would be ' if args.dry_run else ''}deleted, {len(report) - done} kept")
    return 0


def cmd_db(args) -> int:
    from tickets.store import Store
    s = _settings(args)

    async def main():
        store = Store(s.database_url)
        try:
            await store.migrate()
        finally:
            await store.close()
    asyncio.run(main())
    print("db: at head")
    return 0


def cmd_check(args) -> int:
    from acd import config as acd_config
    s = _settings(args)
    acd = acd_config.load(s.centre.acd, {d.code for d in s.centre.departments})
    print(f"settings ok: {len(s.centre.departments)} departments, {len(s.centre.agents)} agents, "
          f"entry numbers {', '.join(sorted(s.centre.entry_numbers()))}")
    print(f"acd ok: ring {acd.ring_seconds} s, wrap-up {acd.wrapup_seconds:g} s, RONA pause after "
          f"{acd.rona_max_misses}, relaxation: " + " -> ".join(st.describe() for st in acd.default_steps))
    from surveys import config as survey_config
    survey = survey_config.load(s.centre.survey)
    print(f"survey ok: {'on' if survey.enabled else 'off'}, {survey.delay_minutes} min after the answer, "
          f"calls {','.join(map(str, survey.hours))}, {survey.max_attempts} attempts")
    from trunks.cli import check_lines
    for line in check_lines(s):
        print(line)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hotline", description=__doc__)
    p.add_argument("--settings", help="TOML settings file (also HOTLINE_SETTINGS)")
    p.add_argument("--home", help="state folder (default /var/lib/hotline)")
    p.add_argument("--instance", help="instance name (default main)")
    p.add_argument("--db-url", help="SQLAlchemy URL (also HOTLINE_DB_URL)")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)
    from acd.cli import register as register_agents
    from trunks.cli import register as register_trunks
    register_trunks(sub, _settings)
    from hours.cli import register as register_hours
    register_hours(sub, _settings)
    register_agents(sub, _settings)
    from users.cli import register as register_users
    register_users(sub, _settings)
    from catalogue.cli import register as register_catalogue
    from tickets.workflow import Category
    register_catalogue(sub, _settings, {c.value for c in Category})
    from cluster.cli import register as register_cluster
    register_cluster(sub, _settings)
    from asterisk_conf.cli import register as register_systemd
    register_systemd(sub, _settings, _prompts)
    a = sub.add_parser("asterisk", help="install / up / down / status / render")
    a.add_argument("action", choices=["install", "up", "down", "status", "render"])
    a.set_defaults(fn=cmd_asterisk)
    for name, fn, text in (("serve", cmd_serve, "run the engine"),
                           ("run", cmd_run, "install what is missing, start Asterisk and the engine")):
        sp = sub.add_parser(name, help=text)
        sp.add_argument("--no-agents", action="store_true", help="do not start the demo SIP phones")
        sp.add_argument("--lease", action="store_true", help="a cluster node's engine: route only while holding "
                        "the node's routing lease; a second engine with --lease is its standby")
        sp.set_defaults(fn=fn)
    v = sub.add_parser("ivr", help="check or simulate the menus")
    v.add_argument("action", choices=["check", "simulate"])
    v.add_argument("--dir", help="menu folder (default: settings menus)")
    v.add_argument("--to", default="12345", help="dialled number (simulate)")
    v.add_argument("--keys", default="", help="keys pressed, comma separated; t = timeout (simulate)")
    v.add_argument("--remembered", help="language remembered for the caller (simulate)")
    v.set_defaults(fn=cmd_ivr)
    c = sub.add_parser("call", help="place a simulated citizen's call and print its ticket")
    c.add_argument("--from", dest="caller", required=True)
    c.add_argument("--to", required=True)
    c.add_argument("--dtmf", default="")
    c.add_argument("--talk", type=float, default=5)
    c.add_argument("--wait", type=float, default=1.5, help="seconds before the first digit")
    c.add_argument("--timeout", type=float, default=60, help="extra seconds to wait for the ticket")
    c.add_argument("--sip", action="store_true", help="over the carrier trunk: SIPp sends the INVITE, "
                   "the caller in From and P-Asserted-Identity (--from anonymous: withheld), RFC 4733 keys, speech")
    c.add_argument("--source", default="127.0.0.1", help="the carrier's address (--sip)")
    c.set_defaults(fn=cmd_call)
    t = sub.add_parser("tickets", help="list tickets")
    t.add_argument("action", choices=["list"])
    t.add_argument("--caller")
    t.add_argument("--dialed")
    t.add_argument("--limit", type=int, default=20)
    t.add_argument("--json", action="store_true")
    t.set_defaults(fn=cmd_tickets)
    i = sub.add_parser("info", help="connection facts for outside tools")
    i.add_argument("--json", action="store_true")
    i.set_defaults(fn=cmd_info)
    k = sub.add_parser("token", help="API tokens")
    k.add_argument("action", choices=["create"])
    k.add_argument("--role", help="a role token (agent, supervisor, department, ops, auditor)")
    k.add_argument("--user", help="a token of this user: acts as them")
    k.add_argument("--name")
    k.set_defaults(fn=cmd_token)
    r = sub.add_parser("recordings", help="retention: delete what is due (never legal holds)")
    r.add_argument("action", choices=["purge"])
    r.add_argument("--dry-run", action="store_true")
    r.add_argument("--json", action="store_true")
    r.set_defaults(fn=cmd_recordings)
    d = sub.add_parser("db", help="database")
    d.add_argument("action", choices=["upgrade"])
    d.set_defaults(fn=cmd_db)
    ch = sub.add_parser("check", help="validate settings and the centre file")
    ch.set_defaults(fn=cmd_check)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("alembic", "aiosqlite", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if args.verbose:
        for name in ("hotline", "ivr", "acd", "agi_scripts", "calls", "tickets"):
            logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        return args.fn(args)
    except HotlineError as e:
        print(f"hotline: error [{e.id}]: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
