"""Real Asterisk 22 (instance 'test', its own ports), real baresip phones, both databases.

One Asterisk and one set of phones for the session; the engine runs in-process once per
database (SQLite, then PostgreSQL) and can be stopped and restarted by a test.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import async_playwright
from PIL import Image, ImageDraw
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from acd import config as acd_config
from acd.softphones import Softphones
from core import settings as settings_mod
from ami.session import AmiSession
from hotline.app import Engine
from asterisk_conf import install, process, secrets
from calls.dialer import SimCall, new_linkedid, originate
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
    return slot_settings(tmp_path_factory.mktemp("home"), tmp_path_factory.mktemp("menus"))


def slot_settings(home: Path, menus: Path) -> settings_mod.Settings:
    """The test instance of HOTLINE_TEST_SLOT: the demo centre plus the ACD tests' lines, the
    menus copied into `menus` (the hot-reload test edits the copy). tests/fixtures/record.py
    starts the same instance through this and `start_asterisk`."""
    for f in loader.FLOWS.glob("*.toml"):
        shutil.copy(f, menus / f.name)
    centre = menus.parent / "centre.toml"   # the demo centre plus lines the ACD tests need
    centre.write_text(settings_mod.DEMO_CONFIG.read_text() + TEST_AGENTS)
    n = int(os.environ.get("HOTLINE_TEST_SLOT", "0"))
    return settings_mod.load(env={}, home=str(home), instance=f"test{n}" if n else "test", asterisk_root=str(ROOT),
                             menus=str(menus), verbose_log=True, config=str(centre), journal_sweep_seconds=0.5,
                             queue_timeout=120, node="testnode", **slot_ports(n))


def slot_ports(n: int) -> dict[str, int]:
    """Each side-by-side run (HOTLINE_TEST_SLOT) gets its own Asterisk instance and ports, all
    below the ephemeral range: slots 0-4 are 5000 apart (slot 4 is the demo's own ports),
    slots 5-7 sit in the gaps above 29000 with a smaller RTP range."""
    if 0 <= n <= 4:
        o = -5000 * n
        return dict(ami_port=25038 + o, agi_port=24573 + o, sip_port=25060 + o, phones_port=25070 + o,
                    rtp_start=26000 + o, rtp_end=26999 + o, http_port=28345 + o)
    if 5 <= n <= 7:
        b = 29000 + 1000 * (n - 5)
        return dict(ami_port=b + 38, agi_port=b + 73, sip_port=b + 60, phones_port=b + 70,
                    rtp_start=b + 400, rtp_end=b + 999, http_port=b + 345)
    raise ValueError(f"HOTLINE_TEST_SLOT must be 0-7, got {n}")


@pytest.fixture(scope="session")
def asterisk(base_settings):
    s = base_settings
    start_asterisk(s)
    yield s
    process.down(s)


def start_asterisk(s: settings_mod.Settings) -> None:
    """(Re)start the slot's Asterisk with the prompts built and no leftovers of an earlier run."""
    assert install.is_installed(s.root), f"no Asterisk root at {s.root}: run scripts/bootstrap.sh"
    prompts.build(s.root, loader.load_all(s.menus, s.centre)[0], install.asterisk_ids(s.root))
    process.down(s)
    stop_leftover_phones(s)
    inst = s.host_path(s.inst_in_root)
    # channel names restart with Asterisk: an earlier run's log would be read as this run's
    (inst / "log" / "verbose.log").unlink(missing_ok=True)
    process.up(s)
    # journals and recordings of an earlier run would be folded into this run's records
    for sub in ("journal", "recordings"):
        for f in (inst / sub).iterdir():
            f.unlink()


def stop_leftover_phones(s: settings_mod.Settings) -> None:
    """A baresip or SIPp an earlier, killed run left on this slot's phone ports would make this
    run's phones exit with 98 (address in use): stop it. Nothing but those two is touched."""
    lo, hi = s.phones_port, s.phones_port + 40
    out = subprocess.run(["ss", "-Hulpn"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = re.search(r":(\d+)\s+\S+\s+users:\(\(\"(baresip|sipp)\",pid=(\d+)", line)
        if m and lo <= int(m.group(1)) <= hi:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(m.group(3)), signal.SIGKILL)


async def registered(s, endpoints: list[str]) -> set[str]:
    out = (await asyncio.to_thread(process.rx, s, "pjsip show contacts")).stdout
    return {e for e in endpoints if re.search(rf"Contact:\s+{e}/sip:", out)}


@pytest.fixture(scope="session")
async def phones(asterisk):
    async with demo_phones(asterisk) as sp:
        yield sp


@contextlib.asynccontextmanager
async def demo_phones(s):
    """baresip phones for the demo agents, registered (the ACD tests' lines are not phones)."""
    agents = [a for a in s.centre.sip_agents if a.id not in TEST_LINES]
    sp = Softphones(s, agents, s.state_dir / "phones")
    task = asyncio.create_task(sp.run())
    try:
        endpoints = [a.endpoint for a in agents]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not task.done() and await registered(s, endpoints) != set(endpoints):
            await asyncio.sleep(0.3)
        missing = set(endpoints) - await registered(s, endpoints)
        # a baresip that exits (a port held by another process) says why in its log
        assert not missing, f"SIP phones not registered: {sorted(missing)}; baresip's log:\n{sp.log_tail()}"
        yield sp
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture(scope="session")
async def driver(asterisk):
    async with driver_session(asterisk) as ami:
        yield ami


@contextlib.asynccontextmanager
async def driver_session(s):
    """The test's own AMI connection: places calls whether the engine runs or not."""
    ami = AmiSession(s.bind, s.ami_port, secrets.AMI_USER, secrets.ami_secret(s.state_dir), name="driver")
    task = asyncio.create_task(ami.run())
    try:
        await ami.wait_connected(10)
        yield ami
    finally:
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
        await self.engine.acd.configure(TEST_ACD)
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
                        await self.engine.acd.agent_action(line, "logout", by="test")
                return self.engine
            await asyncio.sleep(0.1)
        st = await self.engine.status()
        await self.stop()  # never leave a half-started engine running behind a failed test
        raise AssertionError(f"engine not healthy: {st}")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            done, _ = await asyncio.wait({self.task}, timeout=60)
            if not done:   # say which task did not stop rather than hang the whole run
                raise AssertionError("the engine did not stop within 60 s of its cancellation:\n"
                                     + pending_tasks_report())
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


def pending_tasks_report() -> str:
    out = []
    for task in asyncio.all_tasks():
        frames = task.get_stack(limit=3)
        where = " < ".join(f"{f.f_code.co_filename.rsplit('/', 2)[-1]}:{f.f_lineno} {f.f_code.co_name}" for f in frames)
        out.append(f"  {task.get_name()}: {where}")
    return "\n".join(sorted(out))


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


async def until(predicate, timeout: float, what: str, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if asyncio.iscoroutine(got):
            got = await got
        if got:
            return got
        await asyncio.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def make_tiff(path, pages: int) -> None:
    """A G4 TIFF as fax machines send: 1728 px wide, 204x196 dpi, text on every page."""
    images = []
    for n in range(pages):
        im = Image.new("1", (1728, 2100), 1)
        d = ImageDraw.Draw(im)
        for row in range(0, 2000, 60):
            d.text((80, 40 + row), f"12345 hotline test fax - page {n + 1} of {pages} - line {row // 60}", fill=0)
        d.rectangle((60, 20, 1660, 2080), outline=0, width=4)
        images.append(im)
    images[0].save(path, compression="group4", save_all=True, append_images=images[1:], dpi=(204, 196))
    os.chmod(path, 0o644)


async def fax_call(driver: AmiSession, s, tif: str, cut: float = 0) -> str:
    """A simulated fax machine sends `tif` (a path inside the Asterisk root) to the fax number."""
    linkedid = new_linkedid(s.node)
    await originate(driver, SimCall(to=s.centre.fax_number, caller="02087654321", fax=tif, cut=cut), linkedid)
    return linkedid


PASSWORD = "desk password 12345"
_people = 0


async def person(hotline, role: str, *, agent: str | None = None, department: str | None = None) -> str:
    """A new account (its password is PASSWORD); returns the username."""
    global _people
    _people += 1
    name = f"{role}{_people}-{int(time.time() * 1000) % 100000}"
    await hotline.engine.users.add(name, PASSWORD, role, agent_id=agent, department=department)
    return name


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture()
async def browser():
    """Headless Debian Chromium for the page tests, one per test."""
    assert Path(CHROMIUM).exists(), "chromium is not installed (scripts/bootstrap.sh installs it)"
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        await b.close()


async def browser_login(page, base_url: str, username: str, goto: str) -> None:
    """Log in through the login form, as a person would, and land on `goto`."""
    await page.goto(f"{base_url}/login?next={goto}")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    async with page.expect_navigation():
        await page.click("#submit")
    assert page.url.endswith(goto), page.url


async def http_login(http, base_url: str, username: str) -> str:
    """Log an aiohttp session in (its cookie jar must take IP hosts: CookieJar(unsafe=True));
    returns the session's CSRF token."""
    async with http.post(f"{base_url}/login", data={"username": username, "password": PASSWORD},
                         allow_redirects=False) as r:
        assert r.status == 303, await r.text()
    async with http.get(f"{base_url}/api/v1/me") as r:
        return (await r.json())["csrf"]


async def _none(coro) -> bool:
    return not await coro


@pytest.fixture()
async def feature_phone(hotline, driver, tmp_path):
    """agent 2004 on its own baresip, driven over its control port: it dials like a person."""
    s = hotline.settings
    agent = next(a for a in s.centre.agents if a.id == "2004")
    # the main phones' baresip holds phones_port and phones_port + 1 (SIP over TLS)
    mine = dataclasses.replace(s, phones_port=s.phones_port + 10, rtp_end=s.rtp_end + 1000)
    ctrl = s.phones_port + 12
    phone = Softphones(mine, [agent], tmp_path / "phone", ctrl_port=ctrl)
    task = asyncio.create_task(phone.run())
    await until(lambda: registered(s, [agent.endpoint]), 20, "agent2004 registered")

    async def phone_calls() -> list:
        chans = await driver.action_list("CoreShowChannels")
        return [c for c in chans if c.get("Channel", "").startswith("PJSIP/agent2004-")]

    async def dial(number: str) -> None:
        """Like a person: one code at a time, after the last one hung up. A dial the phone
        refused is tried again only if no call from the phone appeared."""
        await until(lambda: _none(phone_calls()), 15, "the phone to be idle")
        for _ in range(5):
            reader, writer = await asyncio.open_connection(s.bind, ctrl)
            body = json.dumps({"command": "dial", "params": f"sip:{number}@{s.bind}:{s.sip_port}",
                               "token": "t"}).encode()
            writer.write(str(len(body)).encode() + b":" + body + b",")
            await writer.drain()
            # baresip's control port interleaves events with the command's response: the dial
            # worked if the response says ok or the phone reports a call to that number
            reply, placed = b"", False
            deadline = time.monotonic() + 5
            while not placed and time.monotonic() < deadline:
                try:
                    chunk = await asyncio.wait_for(reader.read(4000), max(0.1, deadline - time.monotonic()))
                except TimeoutError:
                    break
                if not chunk:
                    break
                reply += chunk
                flat = reply.replace(b" ", b"")
                placed = (b'"response":true' in flat and b'"ok":true' in flat) or \
                    f'"peeruri":"sip:{number}@'.encode() in flat
            writer.close()
            await asyncio.sleep(1.0)
            if placed or await phone_calls():
                return
        raise AssertionError(f"the phone would not dial {number}: {reply!r}")

    yield dial
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
