"""`hotline agents list|add|set|remove|sip`: the agent directory from a shell.

Writes go straight to the database (no engine needed); a running engine notices the new
directory generation within its poll interval and updates routing and Asterisk. Wire with
`register(sub, _settings)` in hotline/cli.py's parser().
"""
from __future__ import annotations

import asyncio
import getpass
import json
from functools import partial

from asterisk_conf import secrets
from core.errors import Conflict

from acd.directory import AgentDirectory


def register(subparsers, load_settings) -> None:
    a = subparsers.add_parser("agents", help="agents and skills: list, add, set, remove, sip credentials")
    sub = a.add_subparsers(dest="agents_action", required=True)
    ls = sub.add_parser("list", help="the directory")
    ls.add_argument("--json", action="store_true")
    add = sub.add_parser("add", help="a new agent (logged out until they log in)")
    add.add_argument("id")
    add.add_argument("--name")
    add.add_argument("--line", default="sip")
    add.add_argument("--skill", action="append", default=[], help="department:language:level, repeatable")
    st = sub.add_parser("set", help="change name, line or skills (skills replace the old list)")
    st.add_argument("id")
    st.add_argument("--name")
    st.add_argument("--line")
    st.add_argument("--skill", action="append", help="department:language:level, repeatable")
    st.add_argument("--no-skills", action="store_true", help="remove every skill")
    rm = sub.add_parser("remove", help="out of routing; the endpoint goes")
    rm.add_argument("id")
    sp = sub.add_parser("sip", help="the agent's phone settings")
    sp.add_argument("id")
    for p in (ls, add, st, rm, sp):
        p.set_defaults(fn=partial(cmd_agents, load_settings=load_settings))


async def _noop(agents) -> dict:
    return {"engine": "a running engine applies the change within its poll interval"}


def cmd_agents(args, load_settings) -> int:
    from acd.agent_store import AgentDirectoryStore
    from tickets.store import Store
    s = load_settings(args)
    by = f"cli:{getpass.getuser()}"

    async def main():
        store = Store(s.database_url)
        try:
            await store.migrate()
            rows = AgentDirectoryStore(store)
            await rows.seed(s.agents)
            d = AgentDirectory(rows, s.agents, {x.code for x in s.centre.departments}, _noop)
            act = args.agents_action
            if act == "list":
                return [dict(id=a.id, name=a.name, line=a.line,
                             skills=[f"{k.department}:{k.language}:{k.level}" for k in a.skills])
                        for a in (await rows.load())[1]]
            if act == "add":
                return await d.add({"id": args.id, "name": args.name or args.id, "line": args.line,
                                    "skills": args.skill}, by)
            if act == "set":
                body = {k: v for k, v in (("name", args.name), ("line", args.line)) if v is not None}
                if args.skill is not None or args.no_skills:
                    body["skills"] = [] if args.no_skills else args.skill
                return await d.update(args.id, body, by)
            if act == "remove":
                return await d.remove(args.id, by)
            agent = await rows.get(args.id)
            if agent["line"] != "sip":
                raise Conflict(f"agent {args.id} is on a {agent['line']} line, not a SIP phone")
            return {"agent": args.id, "username": f"agent{args.id}", "registrar": f"{s.bind}:{s.sip_port}",
                    "password": secrets.agent_password(s.state_dir, args.id)}
        finally:
            await store.close()

    out = asyncio.run(main())
    if args.agents_action == "list" and not args.json:
        for a in out:
            print(f"{a['id']:>8}  {a['line']:11} {a['name'][:24]:24} {' '.join(a['skills'])}")
    else:
        print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0
