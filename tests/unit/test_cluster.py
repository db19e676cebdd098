"""The cluster's pure parts: topology, the rendered Kamailio config and node settings, the
SIPp scenario through a proxy."""
from __future__ import annotations

from asterisk_conf import render
from cluster import kamailio
from cluster.topology import Topology
from core import settings as settings_mod
from trunks import carrier


def topo(tmp_path, n=3, cid=5) -> Topology:
    return Topology(cid, n, settings_mod.load(env={}, home=str(tmp_path), sip_port=29060))


def test_nodes_get_their_own_namespaces_and_addresses_and_never_another_hosts(tmp_path):
    t = topo(tmp_path)
    assert [(n.name, n.netns, n.veth, n.host_side, n.address) for n in t.nodes] == [
        ("node1", "hlc5-n1", "hlc5n1", "10.177.5.5", "10.177.5.6"),
        ("node2", "hlc5-n2", "hlc5n2", "10.177.5.9", "10.177.5.10"),
        ("node3", "hlc5-n3", "hlc5n3", "10.177.5.13", "10.177.5.14")]
    assert all(len(n.veth) <= 15 for n in Topology(63, 16, t.base).nodes)
    s = t.settings(t.node("node2"))
    assert (s.node, s.instance, s.bind, s.agi_host, s.sip_proxy) == \
        ("node2", "hlc5n2", "10.177.5.10", "10.177.5.9", "10.177.5.9:29160")


def test_kamailio_config_probes_every_node_and_takes_calls_only_from_carriers(tmp_path):
    t = topo(tmp_path)
    out = kamailio.render(t)
    cfg, dispatch = out["kamailio.cfg"], out["dispatcher.list"]
    assert 'modparam("dispatcher", "ds_probing_mode", 1)' in cfg
    assert 'modparam("dispatcher", "ds_ping_interval", 1)' in cfg
    assert 'modparam("tm", "fr_timer", 1000)' in cfg          # a dead node is marked in ~2 s, not 30
    assert "src_ip == 127.0.0.1" in cfg                        # the demo carrier's accepts_from
    assert 'save("location")' in cfg and 'lookup("location")' in cfg
    assert "ds_next_dst()" in cfg
    rows = [line.split() for line in dispatch.splitlines() if not line.startswith("#")]
    assert [r[1] for r in rows] == [f"sip:{n.address}:29060" for n in t.nodes]
    assert rows[1][4] == "socket=udp:10.177.5.9:29160;name=node2"


def test_a_node_rings_agents_through_the_proxy_and_accepts_the_carrier_from_it(tmp_path):
    t = topo(tmp_path)
    s = t.settings(t.node("node1"))
    conf = render.render(s)
    pjsip = conf["pjsip.conf"]
    assert "contact = sip:agent1002@10.177.5.5:29160" in pjsip
    assert "match = 10.177.5.5" in pjsip
    assert "send_connected_line = no" in pjsip
    assert "agi://10.177.5.5:" in conf["extensions.conf"]
    assert "permit = 10.177.5.5/255.255.255.255" in conf["manager.conf"]
    # a single node renders as before: phones register on Asterisk itself
    plain = render.render(settings_mod.load(env={}, home=str(tmp_path)))["pjsip.conf"]
    assert "contact = sip:agent1002@" not in plain and "max_contacts = 1" in plain
    assert "send_connected_line" not in plain


def test_sipp_follows_the_record_route_through_a_proxy():
    text = carrier.through_proxy(carrier.UAC.read_text())
    assert 'rrs="true"' in text
    assert text.count("[routes]") == 2
    assert "ACK [next_url] SIP/2.0" in text and "BYE [next_url] SIP/2.0" in text



DISPATCHER_LIST = """{
\tNRSETS: 1
\tRECORDS: {
\t\tSET: {
\t\t\tID: 1
\t\t\tTARGETS: {
\t\t\t\tDEST: {
\t\t\t\t\tURI: sip:10.177.6.10:30060
\t\t\t\t\tFLAGS: IP
\t\t\t\t\tPRIORITY: 0
\t\t\t\t\tATTRS: {
\t\t\t\t\t\tBODY: socket=udp:10.177.6.9:30160;name=node2
\t\t\t\t\t\tDUID: <null string>
\t\t\t\t\t}
\t\t\t\t}
\t\t\t\tDEST: {
\t\t\t\t\tURI: sip:10.177.6.6:30060
\t\t\t\t\tFLAGS: AP
\t\t\t\t\tPRIORITY: 0
\t\t\t\t\tATTRS: {
\t\t\t\t\t\tBODY: socket=udp:10.177.6.5:30160;name=node1
\t\t\t\t\t}
\t\t\t\t}
\t\t\t}
\t\t}
\t}
}
"""


def test_the_nodes_health_is_read_from_the_dispatchers_list(monkeypatch):
    """kamcmd's answer as Kamailio 5.6 printed it here (node2 inactive, node1 active)."""
    import subprocess

    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0, DISPATCHER_LIST, ""))
    assert kamailio.nodes_at("/nowhere") == [
        {"name": "node1", "address": "10.177.6.6", "healthy": True},
        {"name": "node2", "address": "10.177.6.10", "healthy": False}]
