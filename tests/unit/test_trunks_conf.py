"""The trunk parts of the rendered Asterisk tree (asterisk_conf/templates/trunks.*.inc)."""
from __future__ import annotations

import re

import pytest

from core import settings as settings_mod
from core import contract
from asterisk_conf import render
from trunks import model, numbers
from asterisk_conf.trunks import rendered_globals
from trunks.render import globals_of

from .test_asterisk_conf import contexts

TWO_CARRIERS = """
[[trunks]]
name = "telecom"
direction = "both"
hosts = ["10.1.0.1", "10.1.0.2"]
port = 5060
accepts_from = ["10.1.0.0/24"]
channels = 30
calls_per_second = 5

[[trunks]]
name = "unicom"
direction = "out"
hosts = ["10.2.0.1"]
transport = "tcp"
"""


def sections(pjsip: str) -> list[tuple[str, dict]]:
    out = []
    for name, body in re.findall(r"^\[([^\]]+)\]\s*$(.*?)(?=^\[|\Z)", pjsip, flags=re.M | re.S):
        kv = {}
        for line in body.splitlines():
            k, sep, v = line.partition(" = ")
            if sep and not line.startswith(";"):
                kv.setdefault(k.strip(), []).append(v.strip())
        out.append((name, kv))
    return out


@pytest.fixture()
def two(tmp_path):
    centre = tmp_path / "centre.toml"
    text = settings_mod.DEMO_CONFIG.read_text()
    centre.write_text(text[:text.index("[[trunks]]")] + TWO_CARRIERS + text[text.index("# What the centre may"):])
    s = settings_mod.load(env={}, home=str(tmp_path), asterisk_root=str(tmp_path / "root"), config=str(centre))
    return s, render.render(s)


def test_trunks_are_identified_by_source_address_only_and_no_endpoint_is_anonymous(two):
    s, files = two
    secs = sections(files["pjsip.conf"])
    endpoints = {n: kv for n, kv in secs if kv.get("type") == ["endpoint"]}
    assert "anonymous" not in endpoints
    assert dict(secs)["global"]["endpoint_identifier_order"] == ["username,ip"]
    for name in ("trunk-telecom", "trunk-unicom"):
        ep = endpoints[name]
        assert ep["identify_by"] == ["ip"] and ep["context"] == [contract.TRUNK_IN]
        assert ep["direct_media"] == ["no"] and ep["allow_transfer"] == ["no"] and ep["send_pai"] == ["yes"]
    assert endpoints["trunk-unicom"]["transport"] == ["transport-tcp"]
    identify = [kv for n, kv in secs if kv.get("type") == ["identify"]]
    assert identify == [{"type": ["identify"], "endpoint": ["trunk-telecom"], "match": ["10.1.0.0/24"]}]
    # agents keep their own context and are never matched by address
    assert all(kv["context"] == [contract.AGENTS] and "identify_by" not in kv
               for n, kv in endpoints.items() if n.startswith("agent"))


def test_the_outbound_order_tries_every_host_of_every_out_trunk(two):
    s, files = two
    g = rendered_globals(files["extensions.conf"])
    assert g["HL_OUT_TARGETS"] == "telecom/10.1.0.1:5060/udp&telecom/10.1.0.2:5060/udp&unicom/10.2.0.1:5060/tcp"
    assert g == globals_of(model.from_file(s.config))
    assert g["HL_TLIM_telecom"] == "30" and g["HL_TCPS_telecom"] == "5" and "HL_TCPS_unicom" not in g
    assert g["HL_TMAP_telecom_p862112345"] == "12345" and g["HL_TMAP_telecom_02112366"] == "12366"


def test_trunk_calls_are_limited_before_they_enter_and_never_dial(conf_demo):
    _, files = conf_demo
    body = contexts(files["extensions.conf"])[contract.TRUNK_IN]
    assert "Dial(" not in body
    limit = body.index("GROUP_COUNT(${HL_TRUNK}@hltrunk)")
    rate = body.index("@hlrate")
    enter = body.index(f"Goto({contract.INBOUND},")
    assert limit < rate < enter
    assert body.count("Hangup(34)") == 1 and "Hangup(1)" in body   # 503 for the excess, 404 for a wrong number
    # untrusted values reach expressions only filtered (the caller ID, the dialled number)
    for expr in re.findall(r"\$\[(.*?)\]\?", body):
        assert "CALLERID(num)" not in expr and "${EXTEN}" not in expr.replace('"${HL_DIALLED}" != "${EXTEN}"', "")
    # the caller rules of trunks/numbers.py, in order
    rendered = re.findall(r'=~ "(\^[^"]+)"\]\)\)', body)
    assert rendered == [r.pattern for r in numbers.RULES]


def test_the_outbound_route_dials_only_trunk_endpoints_and_refuses_00_and_short_codes(conf_demo):
    s, files = conf_demo
    body = contexts(files["extensions.conf"])[contract.CALLOUT]
    assert re.findall(r"Dial\(([^,/]*)/", body) == ["PJSIP"]
    assert "Dial(PJSIP/trunk-${HL_TRUNK}/sip:${HL_NUM}@" in body
    guard = re.search(r"GotoIf\(\$\[(.*)\]\?refuse\)", body).group(1)
    assert '"${EXTEN:0:2}" = "00"' in guard and "${LEN(${EXTEN})} < 7" in guard
    assert "CALLERID(num)=${HL_CENTRE}" in body
    assert rendered_globals(files["extensions.conf"])["HL_OUT_TARGETS"] == "@sim"   # the demo: simulated citizen


@pytest.fixture()
def conf_demo(tmp_path):
    s = settings_mod.load(env={}, home=str(tmp_path), asterisk_root=str(tmp_path / "root"))
    return s, render.render(s)


def test_registration_renders_from_the_secrets_file_only(tmp_path):
    import os
    centre = tmp_path / "centre.toml"
    text = settings_mod.DEMO_CONFIG.read_text().replace('calls_per_second = 20\n', 'calls_per_second = 20\nregister = true\n', 1)
    centre.write_text(text)
    s = settings_mod.load(env={}, home=str(tmp_path), asterisk_root=str(tmp_path / "root"), config=str(centre))
    secrets = s.state_dir / "trunks.secrets.toml"
    secrets.parent.mkdir(parents=True, exist_ok=True)
    secrets.write_text('[carrier]\nusername = "hotline12345"\npassword = "n0t-in-the-centre-file"\n')
    os.chmod(secrets, 0o600)
    pjsip = render.render(s)["pjsip.conf"]
    kinds = {kv["type"][0]: (n, kv) for n, kv in sections(pjsip) if n.startswith("trunk-carrier")}
    assert kinds["registration"][1]["client_uri"] == ["sip:hotline12345@127.0.0.1:5090;transport=udp"]
    assert kinds["auth"][1]["password"] == ["n0t-in-the-centre-file"]
    assert "n0t-in-the-centre-file" not in centre.read_text()
