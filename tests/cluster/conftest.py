"""A cluster on this machine: Kamailio, three Asterisk nodes in network namespaces, an engine
per node (separate processes), one database; the demo's SIP agents on baresip phones that
register with Kamailio only. Run as a pytest process of its own: `-m cluster`.

The cluster id is the test slot (HOTLINE_TEST_SLOT), its addresses 10.177.<slot>.0/24. The
fixture removes what an earlier, interrupted run left before it starts, and everything it
made when it ends, whether the tests passed or not.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from acd.softphones import Softphones
from cluster import kamailio, nodes, service
from cluster.topology import Topology
from core.centre import load_centre
from tickets.store import Store
from ..databases import DATABASES
from ..integration.conftest import browser, own_database, slot_settings  # noqa: F401 - browser: a fixture

pytestmark = pytest.mark.cluster
SLOT = int(os.environ.get("HOTLINE_TEST_SLOT", "6"))
REPO = Path(__file__).resolve().parents[2]


def cluster_centre(menus: Path) -> None:
    """The demo centre with quick ACD timings: 1 s wrap-up, 8 s ring."""
    centre = menus.parent / "centre.toml"
    text = centre.read_text().replace("wrapup_seconds = 10", "wrapup_seconds = 1")
    centre.write_text(text.replace("ring_seconds = 15", "ring_seconds = 8"))


@dataclasses.dataclass
class Cluster:
    topology: Topology
    store: Store
    phones: Softphones | None = None

    @property
    def nodes(self):
        return self.topology.nodes

    def cli(self, *args: str, timeout: float = 60, db: bool = True, stdin: str | None = None
            ) -> subprocess.CompletedProcess:
        """The `hotline` command with the cluster's settings (as an operator would run it);
        `db` False: without a database setting (the running cluster's is used)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")} | \
            nodes.env_of(self.topology.base)
        if not db:
            env.pop("HOTLINE_DB_URL", None)
        return subprocess.run([sys.executable, "-m", "hotline.cli", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=timeout, input=stdin)

    def status(self) -> dict:
        r = self.cli("cluster", "status", "--id", str(self.topology.cid), "--nodes", str(self.topology.count),
                     "--json")
        return json.loads(r.stdout)

    async def engine_status(self, node) -> dict:
        s = service.node_settings(self.topology, node)
        async with aiohttp.ClientSession() as http, http.get(f"{s.http_url}/status") as r:
            return await r.json()


async def engines_ready(c: Cluster, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    pending = set(c.nodes)
    while pending and time.monotonic() < deadline:
        for n in list(pending):
            with contextlib.suppress(aiohttp.ClientError, OSError, ValueError):
                st = await c.engine_status(n)
                if st.get("ok"):
                    pending.discard(n)
        await asyncio.sleep(0.3)
    assert not pending, f"engines not healthy: {[n.name for n in pending]}"


def registered(t: Topology) -> set[str]:
    out = kamailio.rpc(t, "ul.dump", "brief")
    return {line.split(":", 1)[1].strip() for line in out.splitlines() if line.strip().startswith("AoR:")}


@pytest.fixture(scope="module", params=DATABASES)
async def cluster(request, tmp_path_factory):
    # a fixed folder of the slot's (not pytest's rotating temp): the engines' and Kamailio's
    # logs of a failed run stay there to read, until the next run empties it
    home = Path(f"/tmp/hotline-cluster-test{SLOT}") / request.param
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    menus = tmp_path_factory.mktemp("cluster-menus")
    base = slot_settings(home, menus)
    cluster_centre(menus)
    db = await own_database("test_cluster") if request.param == "postgres" else \
        f"sqlite+aiosqlite:///{home / 'cluster.db'}"
    base = dataclasses.replace(base, db_url=db, centre=load_centre(base.config))
    t = Topology(SLOT, 3, base)
    await asyncio.to_thread(service.down, t)   # an earlier, interrupted run's leftovers
    c = Cluster(t, Store(db))
    try:
        await asyncio.to_thread(service.up, t)
        await asyncio.to_thread(service.wait_healthy, t)
        await engines_ready(c)
        agents = list(base.centre.sip_agents)
        phone_settings = dataclasses.replace(base, bind=t.phones_host, sip_port=t.proxy_port)
        c.phones = Softphones(phone_settings, agents, home / "phones")
        task = asyncio.create_task(c.phones.run())
        try:
            want = {a.endpoint for a in agents}
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not registered(t) >= want:
                await asyncio.sleep(0.3)
            assert registered(t) >= want, f"phones not registered with Kamailio: {c.phones.log_tail()}"
            yield c
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        await c.store.close()
        left = await asyncio.to_thread(service.down, t)
        assert not left["removed"], f"cluster leftovers: {left['removed']}"


def pytest_collection_modifyitems(config, items):
    """The cluster tests run only as a group of their own (`-m cluster`, after the other runs:
    they start three Asterisk nodes and Kamailio). In any other run they are deselected, not
    skipped: `-m "not postgres"` and `-m postgres` leave them out."""
    if "cluster" in (config.getoption("markexpr") or ""):
        return
    here = Path(__file__).resolve().parent
    mine = [i for i in items if i.path.resolve().is_relative_to(here)]
    if mine:
        config.hook.pytest_deselected(items=mine)
        items[:] = [i for i in items if i not in mine]
