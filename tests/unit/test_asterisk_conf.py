"""The rendered Asterisk tree against hotline/contract.py and the security rules."""
from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from hotline import contract, settings as settings_mod
from hotline.asterisk import render

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def conf(tmp_path):
    s = settings_mod.load(env={}, home=str(tmp_path), asterisk_root=str(tmp_path / "root"))
    return s, render.render(s)


def contexts(extensions: str) -> dict[str, str]:
    """context name -> its body."""
    parts = re.split(r"^\[([^\]]+)\]\s*$", extensions, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def test_every_contract_context_is_defined(conf):
    _, files = conf
    defined = contexts(files["extensions.conf"])
    names = [v for k, v in vars(contract).items()
             if k.isupper() and isinstance(v, str) and k in ("INBOUND", "SIM_TRUNK", "SIM_CALLER", "START", "ROUTE",
                                                              "QUEUE", "CONNECT", "END", "AGENTS", "NATIVE_MENU",
                                                              "LOCAL_AGENTS")]
    assert len(names) == 11
    for name in names:
        assert name in defined, f"context {name} missing from extensions.conf"


def test_python_spells_no_context_name_outside_the_contract():
    names = {contract.INBOUND, contract.SIM_TRUNK, contract.SIM_CALLER, contract.START, contract.ROUTE,
             contract.QUEUE, contract.CONNECT, contract.END, contract.AGENTS, contract.NATIVE_MENU}
    offenders = []
    for path in REPO.glob("*/**/*.py"):
        if path.name == "contract.py" or ".venv" in path.parts or "tests" in path.parts:
            continue
        text = path.read_text()
        offenders += [f"{path.relative_to(REPO)}: {n}" for n in names if f'"{n}"' in text or f"'{n}'" in text]
    assert not offenders


def test_inbound_calls_cannot_reach_an_outbound_route(conf):
    """From INBOUND, following Goto/Gosub/Queue/hangup handlers and the engine's Redirect
    targets (WAIT -> DELIVER, MAX_WAIT), a call may only Dial configured agent lines and never
    reaches CALLBACK or CALLOUT, the one context that dials the outside world."""
    s, files = conf
    ctx = contexts(files["extensions.conf"])
    redirects = {contract.WAIT: [contract.DELIVER, contract.MAX_WAIT]}
    seen, todo = set(), [contract.INBOUND]
    while todo:
        name = todo.pop()
        if name in seen or name not in ctx:
            continue
        seen.add(name)
        body = ctx[name]
        for target in re.findall(r"Dial\(([^,)]*)", body):
            assert target == "${HL_IF_${EXTEN}}", f"{name} dials {target}"
        todo += re.findall(r"(?:Goto|Gosub)\(([\w-]+),", body)
        todo += re.findall(r"Queue\([^)]*,([\w-]+)\)", body)
        todo += re.findall(r"hangup_handler_push\)=([\w-]+),", body)
        todo += redirects.get(name, [])
    assert {contract.START, contract.ROUTE, contract.QUEUE, contract.CONNECT, contract.END, contract.WAIT,
            contract.DELIVER, contract.MAX_WAIT} <= seen
    assert not seen & {contract.AGENTS, contract.CALLBACK, contract.CALLOUT}
    # the lines DELIVER may ring are the configured agents' own interfaces, nothing else
    lines = dict(re.findall(r"^HL_IF_(\w+) = (.+)$", files["extensions.conf"], flags=re.M))
    assert lines == {a.id: a.interface for a in s.agents}
    assert all(v.startswith("PJSIP/agent") or v.endswith(f"@{contract.LOCAL_AGENTS}") for v in lines.values())


def test_callout_is_reached_only_from_the_callback_context(conf):
    _, files = conf
    ctx = contexts(files["extensions.conf"])
    users = [name for name, body in ctx.items() if f"@{contract.CALLOUT}" in body or f"({contract.CALLOUT}," in body]
    assert users == [contract.CALLBACK]
    assert "FILTER(0-9," in ctx[contract.CALLBACK]   # digits only reach the outbound route


def test_listeners_bind_loopback_and_the_ami_secret_is_per_install(conf, tmp_path):
    s, files = conf
    assert "bindaddr = 127.0.0.1" in files["manager.conf"]
    assert "bind = 127.0.0.1:" in files["pjsip.conf"]
    secret = (s.state_dir / "ami.secret").read_text().strip()
    assert len(secret) >= 24 and f"secret = {secret}" in files["manager.conf"]
    assert stat.S_IMODE((s.state_dir / "ami.secret").stat().st_mode) == 0o600
    other = settings_mod.load(env={}, home=str(tmp_path / "other"), asterisk_root=str(tmp_path / "root"))
    assert render.render(other)["manager.conf"] != files["manager.conf"]
    # least privilege: no command/config/system write for the engine's AMI user
    write = re.search(r"^write = (.*)$", files["manager.conf"], re.M).group(1).split(",")
    assert not {"command", "config", "system", "all"} & set(write)


def test_every_department_number_enters_and_has_a_queue(conf):
    s, files = conf
    inbound = contexts(files["extensions.conf"])[contract.INBOUND]
    queues = contexts(files["queues.conf"])
    for number, dep in s.centre.entry_numbers().items():
        assert f"exten => {number},1," in inbound
    for d in s.centre.departments:
        assert d.queue in queues and "member => PJSIP/" in queues[d.queue]


def test_agent_names_cannot_break_out_of_config_values():
    assert render.sipsafe('Evil"\n[x]\ntype=endpoint') == "Evilxtypeendpoint"
