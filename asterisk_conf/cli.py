"""`hotline systemd render|prepare|wait-booted`: the units, and the steps they run.

Wire with `register(sub, _settings, _prompts)` in hotline/cli.py's parser(): `prompts`
synthesises the menus' prompts (the IVR is a higher layer than this folder).
"""
from __future__ import annotations

import os
import sys
from functools import partial
from pathlib import Path

from asterisk_conf import process, systemd


def register(subparsers, load_settings, prompts) -> None:
    p = subparsers.add_parser("systemd", help="run the hotline as a service: units, and the steps they run")
    sub = p.add_subparsers(dest="systemd_action", required=True)
    r = sub.add_parser("render", help="the units and the logrotate snippet of this instance")
    r.add_argument("--out", help="write the files into this folder (default: print them)")
    sub.add_parser("prepare", help="ExecStartPre of the Asterisk unit: render its config and prompts")
    w = sub.add_parser("wait-booted", help="ExecStartPost of the Asterisk unit: wait until fully booted")
    w.add_argument("--wait", type=float, default=60.0, help="seconds (default 60)")
    p.set_defaults(fn=partial(_run, load_settings, prompts))


def _settings_file(args) -> Path | None:
    raw = args.settings or os.environ.get("HOTLINE_SETTINGS")
    return Path(raw) if raw else None


def _run(load_settings, prompts, args) -> int:
    s = load_settings(args)
    action = args.systemd_action
    if action == "render":
        files = systemd.render(s, settings_file=_settings_file(args))
        for warning in systemd.exposed_secrets(s, _settings_file(args)):
            print(f"systemd: warning: {warning}", file=sys.stderr)
        if args.out:
            for path in systemd.write(files, Path(args.out)):
                print(f"systemd: wrote {path}")
        else:
            for name, text in files.items():
                print(f"# ---- {name}\n{text}")
    elif action == "prepare":
        systemd.prepare(s, prompts)
    elif action == "wait-booted":
        process.wait_booted(s, args.wait)
    return 0
