"""Several Asterisk nodes behind Kamailio (docs/cluster.md): a carrier's calls to the proxy
spread over the nodes, each record names its node, agents registered only with Kamailio
take calls from any node, and a node killed under load stops getting calls."""
from __future__ import annotations

import asyncio
import itertools
import json
import time
from pathlib import Path

import pytest

from cluster import kamailio, nodes, service
from trunks import carrier

pytestmark = pytest.mark.cluster
REPO = Path(__file__).resolve().parents[2]


def tax_calls(n: int, first: int = 0, talk: float = 2.0) -> list[carrier.CarrierCall]:
    """Mandarin (1), tax (2): the two tax agents' phones answer."""
    return [carrier.CarrierCall(to="12345", caller=f"+86139{first + i:08d}", keys="12", wait=1.5, gap=0.8,
                                talk=talk, speech=False) for i in range(n)]


_runs = itertools.count()


async def place(c, calls, rate: float = 2.0, timeout: float = 90) -> carrier.SippResult:
    """SIPp as the carrier, sending to the proxy; each run on ports of its own (below the
    phones' RTP range), so that runs side by side, or one just ended, never collide."""
    t = c.topology
    port = t.base.sip_port + 120 + 10 * (next(_runs) % 20)
    return await carrier.place(t.proxy_host, t.proxy_port, calls, proxy=True, media_ip=t.phones_host,
                               local_port=port, media_port=port + 4, rate=rate, timeout=timeout)


def national(caller: str) -> str:
    return caller.removeprefix("+86")


async def records_for(c, callers: set[str], timeout: float = 60) -> dict[str, dict]:
    """caller (as the centre stores it: national) -> its one ticket with the call record's
    fields, once every caller has one."""
    callers = {national(x) for x in callers}
    deadline = time.monotonic() + timeout
    got: dict[str, dict] = {}
    while time.monotonic() < deadline:
        got = {}
        for tk in await c.store.tickets(limit=500):
            if tk["caller"] in callers:
                assert tk["caller"] not in got, f"two tickets for one call from {tk['caller']}"
                got[tk["caller"]] = tk
        if set(got) == callers:
            return got
        await asyncio.sleep(0.5)
    raise AssertionError(f"no ticket for {sorted(callers - set(got))} within {timeout}s")


async def test_status_names_the_proxy_and_every_node_healthy(cluster):
    st = cluster.status()
    t = cluster.topology
    assert st["proxy"] == {"host": t.proxy_host, "port": t.proxy_port}
    assert [(n["name"], n["address"], n["healthy"]) for n in st["nodes"]] == \
        [(n.name, n.address, True) for n in t.nodes]
    # the rendered config is what runs: the dispatcher probes every node each second
    cfg = cluster.cli("kamailio", "render", "--id", str(t.cid), "--nodes", str(t.count)).stdout
    assert 'modparam("dispatcher", "ds_ping_interval", 1)' in cfg and 'ds_probing_mode", 1)' in cfg
    assert all(f"sip:{n.address}:{t.base.sip_port}" in cfg for n in t.nodes)


async def offers_overlapping(store) -> list[tuple]:
    """From the event log: an agent offered a call while an earlier offer to them was not
    over yet (no answer, or the call's end, not logged before the second offer)."""
    from sqlalchemy import select
    from db.models import EventRow
    async with store.sessions() as s:
        rows = (await s.scalars(select(EventRow).order_by(EventRow.at))).all()
    ends: dict[tuple[str, str], float] = {}
    for r in rows:
        if r.kind in ("call_end", "queue_abandon"):
            ends.setdefault(("*", r.linkedid), r.at)
        elif r.kind == "agent_noanswer":
            ends.setdefault((r.agent, r.linkedid), r.at)
    offers = [(r.agent, r.linkedid, r.at) for r in rows if r.kind == "agent_offer"]
    bad = []
    for agent, lid, at in offers:
        end = min(ends.get((agent, lid), float("inf")), ends.get(("*", lid), float("inf")))
        bad += [(agent, lid, other) for a2, other, at2 in offers if a2 == agent and other != lid and at < at2 < end]
    return bad


async def test_calls_spread_over_nodes_and_agents_registered_with_the_proxy_answer_any_node(cluster):
    calls = tax_calls(6, talk=3.0)
    result = await place(cluster, calls, rate=0.4)
    assert result.answered == 6, result
    got = await records_for(cluster, {c.caller for c in calls})
    by_node: dict[str, int] = {}
    for tk in got.values():
        by_node[tk["node"]] = by_node.get(tk["node"], 0) + 1
    # round robin over three healthy nodes: two calls each
    assert by_node == {"node1": 2, "node2": 2, "node3": 2}, by_node
    answered = [tk for tk in got.values() if tk["disposition"] == "answered"]
    # the tax agents' phones registered with Kamailio only, yet calls of every node reached them
    assert {tk["agent"] for tk in answered} <= {"agent1002", "agent1007"}
    assert {tk["node"] for tk in answered} == {"node1", "node2", "node3"}, \
        [(tk["node"], tk["disposition"], tk["agent"]) for tk in got.values()]
    assert all(tk["linkedid"].startswith(tk["node"] + "-") for tk in got.values())
    # three engines route, two agents: a node never rings an agent another node holds
    assert await offers_overlapping(cluster.store) == []
    # while the cluster runs, the operator's commands read and write its database
    r = cluster.cli("tickets", "list", "--json", "--limit", "50", db=False)
    assert r.returncode == 0, r.stderr
    assert {national(c.caller) for c in calls} <= {tk["caller"] for tk in json.loads(r.stdout)}
    # /status of any node's engine shows every node and its health, as the proxy sees it
    st = await cluster.engine_status(cluster.topology.node("node3"))
    assert [(n["name"], n["healthy"]) for n in st["cluster"]["nodes"]] == \
        [("node1", True), ("node2", True), ("node3", True)]


async def test_a_node_killed_under_load_stops_getting_calls_and_its_calls_keep_one_record(cluster):
    t = cluster.topology
    n2 = t.node("node2")
    s2 = service.node_settings(t, n2)
    journals = s2.host_path(s2.journal_dir)
    # callers who stay in the menu 5 s and hang up: no agent needed, every call its record
    calls = [carrier.CarrierCall(to="12345", caller=f"+86137{i:08d}", keys="", wait=5, talk=0, speech=False)
             for i in range(24)]
    load = asyncio.create_task(place(cluster, calls, rate=4.0, timeout=60))
    await asyncio.sleep(2.5)
    killed_at = time.time()
    assert nodes.asterisk_kill(n2) >= 1
    on_node2 = {p.name.removesuffix(".log") for p in journals.glob("*.log")}   # what died with it
    down_after = None
    while time.time() - killed_at < 10:
        flags = kamailio.destinations(t)
        if not flags.get(f"sip:{n2.address}:{t.base.sip_port}", "").startswith("A"):
            down_after = time.time() - killed_at
            break
        await asyncio.sleep(0.05)
    # ping every second + fr_timer 1 s: marked down within seconds, not tm's default 30 s
    assert down_after is not None and down_after < kamailio.PING_SECONDS + kamailio.FR_TIMER_MS / 1000 + 1, down_after
    print(f"\nCLUSTER node2 killed: marked down by the dispatcher after {down_after:.2f} s; "
          f"{len(on_node2)} call(s) were on it")
    await load
    assert on_node2, "no call was on node2 when it was killed: the load did not reach it"
    # node2 returns: its engine reconnects, ends the journals its Asterisk left, records them
    await asyncio.to_thread(nodes.asterisk_up, s2, n2)
    await asyncio.to_thread(service.wait_healthy, t)
    want = {national(c.caller) for c in calls}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        mine = [tk for tk in await cluster.store.tickets(limit=500) if tk["caller"] in want]
        lost = {lid: await cluster.store.call_record(lid) for lid in on_node2}
        if want <= {tk["caller"] for tk in mine} and all(lost.values()):
            break
        await asyncio.sleep(0.5)
    # every call that was on node2 has its one record (the linkedid is the record's key),
    # cut by its Asterisk's death (calls/orphans.py closed the journals it left) ...
    assert all(lost.values()), [lid for lid, r in lost.items() if not r]
    assert {r["disposition"] for r in lost.values()} == {"cut_by_crash"}, {lid: r["disposition"] for lid, r in lost.items()}
    assert len([tk for tk in mine if tk["linkedid"] in on_node2]) == len(on_node2)
    # ... and every other call exactly one: a call node2 took and died under before it was
    # answered was retried on another node by the proxy (its node2 record says lost)
    for caller in want:
        carried = [tk for tk in mine if tk["caller"] == caller and tk["linkedid"] not in on_node2]
        assert len(carried) <= 1, carried
    late = [tk for tk in mine if tk["node"] == "node2" and tk["linkedid"] not in on_node2
            and _epoch(tk["started_at"]) > killed_at + down_after]
    assert not late, late      # nothing new reached node2 once it was marked down
    for tk in mine:
        if tk["node"] != "node2":   # the other nodes' calls: untouched, the caller hung up as planned
            assert tk["disposition"] == "abandoned_in_ivr", tk
    # a node that returns takes calls again
    again = tax_calls(3, first=500)
    await place(cluster, again, rate=2.0)
    back = await records_for(cluster, {c.caller for c in again})
    assert "node2" in {tk["node"] for tk in back.values()}, back


def _epoch(iso: str) -> float:
    from datetime import datetime
    return datetime.fromisoformat(iso).timestamp()


async def test_a_nodes_routing_engine_killed_its_standby_takes_over_and_no_waiting_call_is_lost(cluster):
    import os
    import signal
    t = cluster.topology
    for n in t.nodes:
        service.engine_up(t, n, "standby")
    logs = {n.name: t.state_dir / n.name / "standby.log" for n in t.nodes}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all("waiting for the routing lease" in _text(p) for p in logs.values()):
        await asyncio.sleep(0.2)
    assert all("waiting for the routing lease" in _text(p) for p in logs.values())
    # both tax agents on short calls, then two patient callers (20 s on the line) waiting
    # for them: a waiting call is lost only if routing loses it
    first = tax_calls(2, first=700, talk=4.0)
    later = tax_calls(2, first=800, talk=20.0)
    since = time.time()
    a = asyncio.create_task(place(cluster, first, rate=4.0))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and await connects_since(cluster.store, since) < 2:
        await asyncio.sleep(0.1)
    assert await connects_since(cluster.store, since) == 2, "the first calls did not reach both agents"
    b = asyncio.create_task(place(cluster, later, rate=4.0))

    async def with_waiting():
        for n in t.nodes:
            if (await cluster.engine_status(n))["acd"]["waiting"] >= 1:
                return n
        return None
    node = None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and node is None:
        node = await with_waiting()
        await asyncio.sleep(0.1)
    assert node is not None, "no call waiting on any node: nothing to take over"
    killed_at = time.monotonic()
    os.kill(service.engine_pid(t, node), signal.SIGKILL)
    resumed_after = None
    while time.monotonic() - killed_at < 15:
        try:
            st = await cluster.engine_status(node)
            # a new engine (younger than the kill) with AMI, FastAGI and the database up
            if st["ok"] and st["uptime"] < time.monotonic() - killed_at + 0.5:
                resumed_after = time.monotonic() - killed_at
                break
        except Exception:  # noqa: BLE001 - the port is closed until the standby listens
            pass
        await asyncio.sleep(0.05)
    print(f"\nCLUSTER {node.name}'s engine killed with a call waiting: its standby routes after {resumed_after} s")
    assert resumed_after is not None and resumed_after < 5, resumed_after
    await a
    await b
    got = await records_for(cluster, {c.caller for c in first + later}, timeout=90)
    # every call that was waiting reached an agent (none lost with the engine) ...
    assert [tk["disposition"] for tk in got.values()] == ["answered"] * 4, \
        [(tk["node"], tk["disposition"]) for tk in got.values()]
    # ... and no agent was offered two calls at once across the takeover
    assert await offers_overlapping(cluster.store) == []
    assert f"routing lease of {node.name} taken" in _text(logs[node.name])


async def connects_since(store, since: float) -> int:
    from sqlalchemy import func, select
    from db.models import EventRow
    async with store.sessions() as s:
        return await s.scalar(select(func.count()).select_from(EventRow).where(
            EventRow.kind == "agent_connect", EventRow.at >= since))


def _text(path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


async def test_the_wallboard_shows_a_dead_node_and_its_return(cluster, browser):
    """A supervisor's wallboard on node1: node3's Asterisk killed turns its row unhealthy
    (the proxy's dispatcher stopped getting answers), and healthy again once it is back."""
    from ..integration.conftest import PASSWORD, browser_login
    t = cluster.topology
    n3 = t.node("node3")
    name = f"wallboard-{int(time.time())}"
    r = cluster.cli("users", "add", name, "--role", "supervisor", stdin=PASSWORD + "\n")
    assert r.returncode == 0, r.stderr
    page = await browser.new_page()
    await browser_login(page, service.node_settings(t, t.node("node1")).http_url, name, "/wallboard")
    rows = page.locator("#nodes tr")
    await page.wait_for_selector("#nodes-tile:not([hidden])")
    assert sorted(await rows.evaluate_all("rs => rs.map(r => r.dataset.node)")) == [n.name for n in t.nodes]
    row = page.locator('#nodes tr[data-node="node3"]')
    assert await row.get_attribute("data-healthy") == "true"
    killed = time.monotonic()
    assert nodes.asterisk_kill(n3) >= 1
    try:
        await page.wait_for_selector('#nodes tr[data-node="node3"][data-healthy="false"]', timeout=15_000)
        shown_down = time.monotonic() - killed
        assert await page.locator('#nodes tr[data-node="node1"]').get_attribute("data-healthy") == "true"
        assert await page.locator('#nodes tr[data-node="node3"] td:last-child').get_attribute("class") == "bad"
        (REPO / "build").mkdir(exist_ok=True)
        await page.screenshot(path=str(REPO / "build" / "cluster-wallboard-node-down.png"), full_page=True)
    finally:
        s3 = service.node_settings(t, n3)
        await asyncio.to_thread(nodes.asterisk_up, s3, n3)
        await asyncio.to_thread(service.wait_healthy, t)
    await page.wait_for_selector('#nodes tr[data-node="node3"][data-healthy="true"]', timeout=20_000)
    print(f"\nCLUSTER wallboard: node3 shown down {shown_down:.2f} s after its Asterisk was killed, "
          f"healthy again once back")
