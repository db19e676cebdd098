"""The rendered Asterisk tree against core/contract.py and the security rules."""
from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from core import settings as settings_mod
from core import contract
from asterisk_conf import render

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def conf(tmp_path):
    s = settings_mod.load(env={}, home=str(tmp_path), asterisk_root=str(tmp_path / "root"))
    return s, render.render(s)


def contexts(extensions: str) -> dict[str, str]:
    """context name -> its body."""
    parts = re.split(r"^\[([^\]]+)\]\s*$", extensions, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def _contract_names(prefixes: tuple[str, ...]) -> dict[str, str]:
    return {k: v for k, v in vars(contract).items() if k.isupper() and isinstance(v, str) and k.startswith(prefixes)}


# contract constants that are contexts: every str constant that is not a variable, an event,
# a journal kind, an AGI route or a file suffix
NOT_CONTEXTS = ("V_", "G_", "EV_", "J_", "AGI_", "JOURNAL_")
CONTEXTS = {k: v for k, v in vars(contract).items()
            if k.isupper() and isinstance(v, str) and not k.startswith(NOT_CONTEXTS)}


def test_every_contract_context_is_defined_and_every_defined_context_is_in_the_contract(conf):
    _, files = conf
    defined = set(contexts(files["extensions.conf"])) - {"globals", "general"}
    assert len(CONTEXTS) >= 20
    assert set(CONTEXTS.values()) == defined


def test_every_hl_name_the_dialplan_uses_is_in_the_contract(conf):
    """Variables and globals: the rendered dialplan spells only names the contract holds
    (prefix names such as HL_IF_<id> by their prefix), and uses every one of them."""
    _, files = conf
    names = set(_contract_names(("V_", "G_")).values())
    prefixes = tuple(v for v in names if v.endswith("_"))
    used = set(re.findall(r"\bHL_[A-Z0-9_]+", files["extensions.conf"]))
    unknown = {u for u in used if u not in names and u not in contract.DIALPLAN_LOCALS and not u.startswith(prefixes)}
    assert not unknown
    assert {v for v in names if not v.endswith("_")} - used <= {contract.V_TICKET}   # TICKET: engine-only


def test_journal_kinds_and_user_event_fields_match_the_contract(conf):
    _, files = conf
    ext = files["extensions.conf"]
    written = set(re.findall(r"=\$\{STRFTIME\(,,%s\.%3q\)\} ([a-z_]+)", ext))
    assert written == set(contract.JOURNAL_KINDS)
    sent: dict[str, set[tuple[str, ...]]] = {}
    for name, body in re.findall(r"UserEvent\((Hotline\w+),([^\n]*)", ext):
        fields = tuple(f.split(":")[0].strip() for f in body.split(",") if ":" in f)
        sent.setdefault(name, set()).add(fields)
    assert set(sent) == set(contract.EV_FIELDS)
    for name, variants in sent.items():
        for fields in variants:
            assert fields == contract.EV_FIELDS[name], (name, fields)


def test_python_spells_no_dialplan_name_outside_the_contract():
    """Contexts, variables, globals and UserEvent names appear in Python only through the
    contract module (the templates get it as C)."""
    names = set(CONTEXTS.values()) | set(_contract_names(("V_", "G_", "EV_")).values())
    offenders = []
    for path in REPO.glob("*/**/*.py"):
        if path.name == "contract.py" or {".venv", "tests", "build"} & set(path.parts):
            continue
        text = path.read_text()
        offenders += [f"{path.relative_to(REPO)}: {n}" for n in names if f'"{n}' in text or f"'{n}" in text]
        # no dialplan variable spelled in Python at all: it comes from the contract
        offenders += [f"{path.relative_to(REPO)}: {m}" for m in re.findall(r"[\"']HL_[A-Z0-9_]+", text)]
    assert not offenders


def test_inbound_calls_cannot_reach_an_outbound_route(conf):
    """From INBOUND, following Goto/Gosub/Queue/hangup handlers and the engine's Redirect
    targets (WAIT -> DELIVER, MAX_WAIT), a call may only Dial configured agent lines and never
    reaches CALLBACK or CALLOUT, the one context that dials the outside world."""
    s, files = conf
    ctx = contexts(files["extensions.conf"])
    redirects = {contract.WAIT: [contract.DELIVER, contract.MAX_WAIT]}
    # carrier trunks' calls enter at TRUNK_IN (then INBOUND): the same walk covers them
    seen, todo = set(), [contract.INBOUND, contract.TRUNK_IN]
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
            contract.DELIVER, contract.MAX_WAIT, contract.TRUNK_IN} <= seen
    assert f"Goto({contract.INBOUND}," in ctx[contract.TRUNK_IN]
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
