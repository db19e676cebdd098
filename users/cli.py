"""`hotline users add|list|disable|enable|reset`: accounts, managed by ops on the server.
Passwords come from standard input (one line), never from the command line, where `ps` and
shell history would keep them."""
from __future__ import annotations

import asyncio
import getpass
import json
import sys

from core.errors import BadRequest


def _password(args) -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise BadRequest("the passwords differ")
        return first
    line = sys.stdin.readline()
    if not line:
        raise BadRequest("give the password on standard input (one line)")
    return line.rstrip("\r\n")


def cmd_users(args, settings_of) -> int:
    from db.database import Database
    from users.store import UserStore
    s = settings_of(args)
    departments = {d.code for d in s.centre.departments}
    if args.action == "add" and args.department is not None and args.department not in departments:
        raise BadRequest(f"{args.department!r} is not a department of the centre ({', '.join(sorted(departments))})")
    if args.action in ("add", "disable", "enable", "reset") and not args.name:
        raise BadRequest(f"users {args.action} needs a username")
    password = _password(args) if args.action in ("add", "reset") else ""

    async def main():
        store = Database(s.database_url)
        try:
            await store.migrate()
            users = UserStore(store)
            if args.action == "add":
                return [await users.add(args.name, password, args.role, agent_id=args.agent,
                                        department=args.department)]
            if args.action == "disable":
                return [await users.disable(args.name)]
            if args.action == "enable":
                return [await users.enable(args.name)]
            if args.action == "reset":
                return [await users.reset(args.name, password)]
            return await users.users()
        finally:
            await store.close()
    rows = asyncio.run(main())
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    print(f"{'username':16} {'role':10} {'agent':6} {'department':10} state")
    for u in rows:
        state = "disabled" if u["disabled"] else (f"locked until {u['locked_until'][:16]}" if u["locked_until"]
                                                   else "active")
        print(f"{u['username']:16} {u['role']:10} {u['agent_id'] or '-':6} {u['department'] or '-':10} {state}")
    return 0


def register(sub, settings_of) -> None:
    u = sub.add_parser("users", help="user accounts: add, list, disable, enable, reset (password on stdin)")
    u.add_argument("action", choices=["add", "list", "disable", "enable", "reset"])
    u.add_argument("name", nargs="?", help="username")
    u.add_argument("--role", help="agent, supervisor, department, ops or auditor (add)")
    u.add_argument("--agent", help="agent id of the person's line (agents)")
    u.add_argument("--department", help="department code (department role)")
    u.add_argument("--json", action="store_true")
    u.set_defaults(fn=lambda args: cmd_users(args, settings_of))
