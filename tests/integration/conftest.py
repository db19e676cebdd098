"""Real Asterisk 22 (instance 'test', its own ports), real baresip phones, both databases.

One Asterisk and one set of phones for the session; the engine runs in-process once per
database (SQLite, then PostgreSQL) and can be stopped and restarted by a test.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from acd import config as acd_config
from acd.softphones import Softphones
from hotline import settings as settings_mod
from hotline.ami.session import AmiSession
from hotline.app import Engine
from hotline.asterisk import install, process, secrets
from hotline.dialer import SimCall, new_linkedid, originate
from ivr import loader, prompts
from ..databases import DATABASES

WORKING_DAY = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
TEST_ACD = acd_config.load({"wrapup_seconds": 0, "ring_seconds": 5, "max_wait_seconds": 90, "rona_max_misses": 2,
                            "relax": {"default": ["0:3", "2:1", "4:1::cmn", "6:1:general"]}})
# Lines only the ACD tests use; logged out at every engine start so that they never take
# another test's call. 2004 is a SIP phone of its own that dials feature codes.
TEST_AGENTS = """
[[agents]]
id = "2001"
name = "never answers"
line = "local-ring"
skills = ["ecology:cmn:5"]

[[agents]]
id = "2002"
name = "answers and stays"
line = "local-talk"
skills = ["ecology:cmn:3"]

[[agents]]
id = "2003"
name = "supervisor's line"
line = "local-talk"
skills = []

[[agents]]
id = "2004"
name = "feature code phone"
skills = ["prices:cmn:2"]
"""
TEST_LINES = ("2001", "2002", "2003", "2004")
PG_URL = os.environ.get("HOTLINE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
ROOT = Path(os.environ.get("HOTLINE_ASTERISK_ROOT", "/var/lib/hotline/asterisk-root"))


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory) -> settings_mod.Settings:
    home = tmp_path_factory.mktemp("home")
    menus = tmp_path_factory.mktemp("menus")  # a copy the hot-reload test may edit
    for f in loader.FLOWS.glob("*.toml"):
        shutil.copy(f, menus / f.name)
    centre = menus.parent / "centre.toml"   # the demo centre plus lines the ACD tests need
    centre.write_text(settings_mod.DEMO_CONFIG.read_text() + TEST_AGENTS)
    # each of the side-by-side runs of scripts/test.sh (HOTLINE_TEST_SLOT) gets its own
    # Asterisk instance and ports: 5000 lower per slot, all below the ephemeral range
    n = int(os.environ.get("HOTLINE_TEST_SLOT", "0"))
    o = -5000 * n
    return settings_mod.load(env={}, home=str(home), instance=f"test{n}" if n else "test", asterisk_root=str(ROOT),
                             menus=str(menus), verbose_log=True, config=str(centre),
                             ami_port=25038 + o, agi_port=24573 + o, sip_port=25060 + o, phones_port=25070 + o,
                             rtp_start=26000 + o, rtp_end=26999 + o, http_port=28345 + o, journal_sweep_seconds=0.5,
                             queue_timeout=120, node="testnode")


@pytest.fixture(scope="session")
def asterisk(base_settings):
    s = base_settings
    assert install.is_installed(s.root), f"no Asterisk root at {s.root}: run scripts/bootstrap.sh"
    prompts.build(s.root, loader.load_all(s.menus, s.centre)[0], install.asterisk_ids(s.root))
    process.down(s)
    inst = s.host_path(s.inst_in_root)
    # channel names restart with Asterisk: an earlier run's log would be read as this run's
    (inst / "log" / "verbose.log").unlink(missing_ok=True)
    process.up(s)
    # journals and recordings of an earlier run would be folded into this run's records
    for sub in ("journal", "recordings"):
        for f in (inst / sub).iterdir():
            f.unlink()
    yield s
    process.down(s)


async def registered(s, endpoints: list[str]) -> set[str]:
    out = (await asyncio.to_thread(process.rx, s, "pjsip show contacts")).stdout
    return {e for e in endpoints if re.search(rf"Contact:\s+{e}/sip:", out)}


@pytest.fixture(scope="session")
async def phones(asterisk):
    s = asterisk
    agents = [a for a in s.centre.sip_agents if a.id not in TEST_LINES]
    sp = Softphones(s, agents, s.state_dir / "phones")
    task = asyncio.create_task(sp.run())
    endpoints = [a.endpoint for a in agents]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and await registered(s, endpoints) != set(endpoints):
        await asyncio.sleep(0.3)
    missing = set(endpoints) - await registered(s, endpoints)
    assert not missing, f"SIP phones not registered: {missing}"
    yield sp
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.fixture(scope="session")
async def driver(asterisk):
    """The test's own AMI connection: places calls whether the engine runs or not."""
    s = asterisk
    ami = AmiSession(s.bind, s.ami_port, secrets.AMI_USER, secrets.ami_secret(s.state_dir), name="driver")
    task = asyncio.create_task(ami.run())
    await ami.wait_connected(10)
    yield ami
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def reset_postgres(url: str) -> None:
    eng = create_async_engine(url)
    async with eng.begin() as conn:
        # everything an earlier run (or an earlier migration) left behind
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await eng.dispose()


async def own_database(name: str) -> str:
    """A PostgreSQL database of the test's own beside PG_URL's (created once, emptied now):
    the SQLite worker's tests must not touch the database the PostgreSQL worker's engine uses."""
    import asyncpg
    from sqlalchemy.engine import make_url
    url = make_url(PG_URL)
    conn = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            except asyncpg.DuplicateDatabaseError:
                pass   # the other worker created it meanwhile
    finally:
        await conn.close()
    own = url.set(database=name).render_as_string(hide_password=False)
    await reset_postgres(own)
    return own


class Harness:
    """An engine that a test may stop and start again (same settings, same database)."""

    def __init__(self, settings):
        self.settings = settings
        self.engine: Engine | None = None
        self.task: asyncio.Task | None = None

    async def start(self) -> Engine:
        self.engine = Engine(self.settings, phones=False)
        # office hours matter to the department numbers: unless a test says otherwise it is
        # Friday 27 November 2026, 10:00 in Beijing (a working day, tax is open)
        self.engine.now = lambda: WORKING_DAY
        # quick wrap-up and relaxation so that tests do not wait on the demo's timings
        self.engine.acd.configure(TEST_ACD)
        ready = asyncio.Event()
        self.task = asyncio.create_task(self.engine.run(ready))
        waiter = asyncio.create_task(ready.wait())
        await asyncio.wait({waiter, self.task}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if self.task.done():
            self.task.result()  # the engine could not start: show why
        waiter.cancel()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            st = await self.engine.status()
            if st["ok"] and self.engine.db_migrated and self.engine.acd.loaded:
                for line in TEST_LINES:
                    if self.engine.acd.board.agent(line).state != "logged_out":
                        self.engine.acd.agent_action(line, "logout", by="test")
                return self.engine
            await asyncio.sleep(0.1)
        st = await self.engine.status()
        await self.stop()  # never leave a half-started engine running behind a failed test
        raise AssertionError(f"engine not healthy: {st}")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None

    @property
    def store(self):
        assert self.engine is not None
        return self.engine.store


@pytest.fixture(scope="session", params=DATABASES)
async def hotline(request, asterisk, phones, tmp_path_factory):
    import dataclasses
    if request.param == "postgres":
        await reset_postgres(PG_URL)
        s = dataclasses.replace(asterisk, db_url=PG_URL)
    else:
        db = tmp_path_factory.mktemp("db") / "hotline.db"
        s = dataclasses.replace(asterisk, db_url=f"sqlite+aiosqlite:///{db}")
    h = Harness(s)
    await h.start()
    yield h
    await h.stop()


async def call(driver: AmiSession, s, to: str, caller: str = "13800138000", dtmf: str = "",
               talk: float = 3, wait: float = 1.5, play: str = "") -> str:
    linkedid = new_linkedid(s.node)
    await originate(driver, SimCall(to=to, caller=caller, dtmf=dtmf, talk=talk, wait=wait, play=play), linkedid)
    return linkedid


async def ticket_for(store, linkedid: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await store.tickets(linkedid=linkedid, limit=1)
        if found:
            return found[0]
        await asyncio.sleep(0.25)
    raise AssertionError(f"no ticket for {linkedid} within {timeout}s")
