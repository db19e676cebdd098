"""`hotline kamailio render` and `hotline cluster up | down | status`. Wired in hotline/cli.py."""
from __future__ import annotations

import json

from cluster import kamailio, service
from cluster.topology import Topology


def _topology(args, settings_of) -> Topology:
    s = settings_of(args)
    count = args.nodes
    if count is None:
        known = service.read_state(s, args.id) or {}
        count = int(known.get("nodes") or 3)
    return Topology(args.id, count, s)


def register(sub, settings_of) -> None:
    k = sub.add_parser("kamailio", help="the SIP proxy in front of the cluster's nodes")
    k.add_argument("action", choices=["render"])
    k.add_argument("--nodes", type=int, default=None)
    k.add_argument("--id", type=int, default=0, help="cluster id (its addresses: 10.177.<id>.0/24)")
    k.set_defaults(fn=lambda args: _render(_topology(args, settings_of)))
    c = sub.add_parser("cluster", help="N Asterisk nodes behind Kamailio on this machine (network namespaces)")
    c.add_argument("action", choices=["up", "down", "status"])
    c.add_argument("--nodes", type=int, default=None, help="up: how many nodes (default 3)")
    c.add_argument("--id", type=int, default=0, help="cluster id (its addresses: 10.177.<id>.0/24)")
    c.add_argument("--json", action="store_true")
    c.add_argument("--standby", action="store_true", help="up: a standby engine per node (takes over routing)")
    c.set_defaults(fn=lambda args: _cluster(args, _topology(args, settings_of)))


def _render(t: Topology) -> int:
    for name, text in kamailio.render(t).items():
        print(f"# ---- {name}\n{text}")
    return 0


def _cluster(args, t: Topology) -> int:
    if args.action == "up":
        service.up(t, standby=args.standby)
        st = service.wait_healthy(t)
    elif args.action == "down":
        out = service.down(t)
        print(json.dumps(out) if args.json else
              f"cluster {t.cid}: down ({out['engines']} engines, {out['asterisk']} nodes stopped"
              f"{', kamailio' if out['kamailio'] else ''}){'; left: ' + ', '.join(out['removed']) if out['removed'] else ''}")
        return 1 if out["removed"] else 0
    else:
        st = service.status(t)
    if args.json:
        print(json.dumps(st))
    else:
        print(f"proxy {st['proxy']['host']}:{st['proxy']['port']} (kamailio {'up' if st['kamailio'] else 'down'}), "
              f"database {st['db_url']}")
        for n in st["nodes"]:
            print(f"  {n['name']:8} {n['address']:14} {'healthy' if n['healthy'] else 'DOWN':8} "
                  f"engine {'up' if n['engine'] else 'down'}")
    return 0 if all(n["healthy"] for n in st["nodes"]) else 3
