"""[[trunks]] as data (trunks/model.py): what a centre file may say, and clear errors."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from core import settings as settings_mod
from trunks import model
from trunks.errors import TrunkInvalid

ENTRIES = {"12345", "12366", "12340"}


def plan(*tables, **kw):
    return model.load(list(tables), entries=ENTRIES, centre_number="12345", **kw)


def test_the_demo_centre_ships_trunk_carrier_accepting_loopback():
    p = model.from_centre(settings_mod.load_centre(settings_mod.DEMO_CONFIG))
    carrier = p.named("carrier")
    assert carrier.inbound and carrier.accepts_from == ("127.0.0.1",) and carrier.transport == "udp"
    assert carrier.numbers["+862112345"] == "12345" and carrier.numbers["02112366"] == "12366"
    assert [t.name for t in p.outbound] == ["sim"]


def test_defaults_and_number_maps():
    p = plan({"name": "c1", "hosts": ["10.0.0.1"], "numbers": {"88888888": "12345"}}, numbering={"area_code": "21"})
    t = p.named("c1")
    assert (t.direction, t.port, t.transport, t.codecs, t.dtmf_mode) == ("both", 5060, "udp", ("ulaw", "alaw"), "rfc4733")
    assert t.accepts_from == ("10.0.0.1",)           # a carrier's address accepts its own calls
    assert t.numbers["88888888"] == "12345" and t.numbers["00862112366"] == "12366" and t.numbers["12340"] == "12340"
    assert plan({"name": "c1", "hosts": ["10.0.0.1"]}).named("c1").numbers == {e: e for e in ENTRIES}


@pytest.mark.parametrize("table, needle", [
    ({"name": "Carrier", "hosts": ["10.0.0.1"]}, "name"),
    ({"name": "c;1", "hosts": ["10.0.0.1"]}, "name"),
    ({"name": "c", "hosts": ["10.0.0.1"], "password": "x"}, "secrets file"),
    ({"name": "c", "hosts": ["10.0.0.1"], "username": "x"}, "secrets file"),
    ({"name": "c", "hosts": ["10.0.0.1"], "direction": "sideways"}, "direction"),
    ({"name": "c", "hosts": ["10.0.0.1"], "transport": "sctp"}, "transport"),
    ({"name": "c", "hosts": []}, "at least one carrier host"),
    ({"name": "c", "hosts": ["a b"]}, "hosts"),
    ({"name": "c", "hosts": ["h\n[x]"]}, "hosts"),
    ({"name": "c", "hosts": ["sbc.example"], "direction": "in"}, "accepts_from"),
    ({"name": "c", "hosts": ["10.0.0.1"], "accepts_from": ["0.0.0.0/0"]}, "anonymous endpoint"),
    ({"name": "c", "hosts": ["10.0.0.1"], "accepts_from": ["not-an-ip"]}, "not an IP address"),
    ({"name": "c", "hosts": ["10.0.0.1"], "accepts_from": "10.0.0.1"}, "list of addresses"),
    ({"name": "c", "hosts": ["10.0.0.1"], "port": 0}, "port"), ({"name": "c", "hosts": ["10.0.0.1"], "port": "5060"}, "port"),
    ({"name": "c", "hosts": ["10.0.0.1"], "channels": True}, "channels"),
    ({"name": "c", "hosts": ["10.0.0.1"], "calls_per_second": -1}, "calls_per_second"),
    ({"name": "c", "hosts": ["10.0.0.1"], "codecs": ["ulaw", "speex;x"]}, "codecs"),
    ({"name": "c", "hosts": ["10.0.0.1"], "dtmf_mode": "sip-info"}, "dtmf_mode"),
    ({"name": "c", "hosts": ["10.0.0.1"], "numbers": {"02112345": "99999"}}, "entry numbers"),
    ({"name": "c", "hosts": ["10.0.0.1"], "numbers": {"12345": "12366"}}, "already reaches"),
    ({"name": "c", "hosts": ["10.0.0.1"], "numbers": {"1234a": "12345"}}, "not a dialled number"),
    ({"name": "c", "hosts": ["10.0.0.1"], "nmbers": {}}, "unknown key"),
    ({"name": "c", "kind": "sim", "direction": "in"}, "sim trunk"),
    ({"name": "c", "hosts": ["10.0.0.1"], "register": "yes"}, "register"),
    ({"name": "c", "hosts": ["10.0.0.1"], "secrets_file": "relative.toml"}, "absolute"),
    ("carrier", "must be a table"),
])
def test_bad_trunks_are_refused_naming_the_table_and_key(table, needle):
    with pytest.raises(TrunkInvalid, match=needle):
        plan(table)


def test_names_unique_and_one_source_address_one_trunk():
    with pytest.raises(TrunkInvalid, match="unique"):
        plan({"name": "c", "hosts": ["10.0.0.1"]}, {"name": "c", "hosts": ["10.0.0.2"]})
    with pytest.raises(TrunkInvalid, match="both accept 10.0.0.1"):
        plan({"name": "a", "hosts": ["10.0.0.1"]}, {"name": "b", "hosts": ["10.0.0.9"], "accepts_from": ["10.0.0.1"]})
    with pytest.raises(TrunkInvalid, match="array of tables"):
        model.load("x", entries=ENTRIES, centre_number="12345")
    with pytest.raises(TrunkInvalid, match="area_code"):
        plan(numbering={"area_code": "021"})


def test_registration_credentials_come_from_a_0600_secrets_file(tmp_path):
    t = plan({"name": "c", "hosts": ["10.0.0.1"], "register": True}).named("c")
    with pytest.raises(TrunkInvalid, match="does not exist"):
        model.registration(t, tmp_path)
    f = tmp_path / "trunks.secrets.toml"
    f.write_text('[c]\nusername = "centre"\npassword = "s3cr3t"\n')
    os.chmod(f, 0o644)
    with pytest.raises(TrunkInvalid, match="mode 0644"):
        model.registration(t, tmp_path)
    os.chmod(f, 0o600)
    reg = model.registration(t, tmp_path)
    assert (reg.username, reg.password) == ("centre", "s3cr3t") and "s3cr3t" not in repr(reg)
    f.write_text('[c]\nusername = "centre"\npassword = "a\\nb"\n')
    with pytest.raises(TrunkInvalid, match="password"):
        model.registration(t, tmp_path)
    f.write_text('[other]\nusername = "u"\npassword = "p"\n')
    with pytest.raises(TrunkInvalid, match=r"no \[c\] table"):
        model.registration(t, tmp_path)
    assert model.registration(plan({"name": "d", "hosts": ["10.0.0.2"]}).named("d"), tmp_path) is None


def test_hotline_check_validates_trunks(tmp_path):
    bad = tmp_path / "centre.toml"
    bad.write_text(settings_mod.DEMO_CONFIG.read_text().replace('accepts_from = ["127.0.0.1"]',
                                                                'accepts_from = ["0.0.0.0/0"]'))
    env = {**os.environ, "HOTLINE_CONFIG": str(bad), "HOTLINE_HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "hotline.cli", "check"], capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "[trunk-invalid]" in r.stderr and "anonymous endpoint" in r.stderr
    env["HOTLINE_CONFIG"] = str(settings_mod.DEMO_CONFIG)
    r = subprocess.run([sys.executable, "-m", "hotline.cli", "check"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert "trunks ok: carrier (in, udp 127.0.0.1:5090, accepts 127.0.0.1; 60 channels, 20/s per source)" in r.stdout
    assert "outbound ok: through sim;" in r.stdout
