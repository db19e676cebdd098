"""The composition root: builds every adapter once and hands it to its consumers."""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from aiohttp import web

from acd import config as acd_config
from acd import http_routes as acd_routes
from acd import priority_routes
from acd.directory import AgentDirectory
from acd.screen_pop import ScreenPop
from acd.service import AcdService
from acd.softphones import Softphones
from agi_scripts.server import FastAgiServer
from calls.intake import Intake
from calls.record import CallRecord
from hours import calendar as hours_calendar
from hours import config as hours_config
from ivr import prompts as ivr_prompts
from ivr.live import LiveMenu
from ivr.runner import IvrRunner
from reports import events as report_events
from reports import http_routes as report_routes
from reports.live import Live
from tickets.agent_directory import AgentDirectoryStore
from tickets.agent_states import AgentStates
from tickets.priority_callers import PriorityCallers
from tickets.event_log import EventLog
from tickets import kb_routes
from tickets.http_routes import add_routes as add_workflow_routes
from tickets.kb import KnowledgeBase, load_seed
from tickets.providers import Providers
from tickets.survey import Surveys
from tickets import survey_config
from tickets.store import UNREACHABLE, Store
from recordings import archive
from voicemail import fax, transcode

from . import contract
from .ami.protocol import Message
from .ami.session import AmiSession
from .asterisk import install, secrets
from .asterisk.lines import AsteriskLines
from .errors import HotlineError
from .http import openapi
from .http.app import Deps, make_app
from .metrics import Metrics
from .settings import Settings

log = logging.getLogger(__name__)


def _owner(root) -> tuple[int, int] | None:
    try:
        return install.asterisk_ids(root)
    except (OSError, HotlineError):
        return None


class Engine:
    def __init__(self, settings: Settings, *, phones: bool | None = None):
        self.settings = settings
        s = settings
        self.store = Store(s.database_url)
        self.ami = AmiSession(s.bind, s.ami_port, secrets.AMI_USER, secrets.ami_secret(s.state_dir), name="engine")
        self.menu = LiveMenu(s.menus, s.centre, root=s.root, owner=_owner(s.root))
        self.calendar = hours_config.load_file(s.config, {d.code for d in s.centre.departments})
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)  # tests set the clock here
        self.metrics = Metrics()
        self.kb = KnowledgeBase(self.store)
        # the answers the menu reads out, added at start when missing (validated here, at build)
        self.kb_seed = load_seed(s.config, {d.code for d in s.centre.departments})
        ivr = IvrRunner(self.menu, ivr_prompts.PromptCatalogue(self.menu), ivr_prompts.Speech(s.root),
                        tickets=self.store.ticket_status, languages=self.store.caller_language,
                        closed=self._closed, kb=self.kb.answer, kb_used=self.kb.heard)
        self.agi = FastAgiServer(s.bind, s.agi_port, {contract.AGI_IVR: ivr}, on_rtt=self.metrics.agi_rtt.observe)
        self.events = EventLog(self.store)
        acd_cfg = dataclasses.replace(acd_config.load(s.centre.acd, {d.code for d in s.centre.departments}),
                                      timezone=self.calendar.timezone)
        self.priority_callers = PriorityCallers(self.store)
        self.acd = AcdService(self.ami, acd_cfg, s.agents, log_event=self.events.append,
                              states=AgentStates(self.store), speech=ivr_prompts.Speech(s.root),
                              priority_of=self.priority_callers.priority_of)
        self.intake = Intake(self.store, s.host_path(s.journal_dir), s.journal_sweep_seconds,
                             on_stored=self._stored, media=self._media)
        self.http = make_app(Deps(store=self.store, status=self.status, registry=self.metrics.registry))
        self.store.calendar = self.calendar   # ticket deadlines in the centre's working days
        self.store.clock = lambda: self.now()
        self.providers = Providers(self.store, {d.code for d in s.centre.departments if d.provider})
        self.surveys = Surveys(self.store, self.ami, self.providers, s.node, survey_config.load(s.centre.survey),
                               timezone=self.calendar.timezone, clock=lambda: self.now(),
                               ready=lambda: self.db_migrated)
        self.store.in_transition.append(self.surveys.on_transition)   # a survey is scheduled with the change
        self.ami.on_event(self.surveys.on_ami)
        add_workflow_routes(self.http, self.providers, self.surveys)
        self.pops = ScreenPop(self.acd.caller_of, lambda caller: self.store.tickets(caller=caller, limit=10))
        self.events.subscribe(self.pops.on_event)
        self.db_ready = asyncio.Event()
        self.lines = AsteriskLines(s, self.ami)
        self.directory = AgentDirectory(AgentDirectoryStore(self.store), s.agents,
                                        {d.code for d in s.centre.departments}, self._apply_agents)
        acd_routes.add_routes(self.http, self.acd, self.pops, self.directory,
                              {"state_dir": s.state_dir, "registrar": f"{s.bind}:{s.sip_port}"})
        priority_routes.add_routes(self.http, self.priority_callers)
        self.live = Live(self.events, self.acd.snapshot)
        report_routes.add_routes(self.http, self.live, self.events, self.store)
        kb_routes.add_routes(self.http, self.kb)
        openapi.add_routes(self.http)
        want_phones = s.demo_agents if phones is None else phones
        self.phones = Softphones(s, list(s.centre.sip_agents), s.state_dir / "phones") if want_phones else None
        self.asterisk_version: str | None = None
        self.db_migrated = False
        self.started = time.time()
        self.ami.on_event(self._on_event)
        self.ami.on_event(self.acd.on_ami)
        self.ami.on_connect(self._resync)

    async def _apply_agents(self, agents) -> dict:
        """The agent directory changed (or was read at start): Asterisk first, so that an
        agent is never offered a call before their line can ring, then routing."""
        asterisk = await self.lines.apply(agents)
        return {"acd": self.acd.set_agents(agents), "asterisk": asterisk}

    def _stored(self, rec: CallRecord) -> None:
        """A call record is in the database: its call-level events join the log (the ACD
        logged the queue and agent events live, when it handled the call)."""
        self.metrics.calls_ingested.labels(str(rec.disposition)).inc()
        live = self.acd.forget(rec.linkedid)
        for e in report_events.from_call_record(rec):
            if not (live and e.kind in report_events.LIVE_KINDS):
                self.events.append(e)

    # -- after hours ----------------------------------------------------------------
    def _closed(self, department: str | None) -> str | None:
        decision = hours_calendar.decide(self.calendar, self.now(), department)
        return None if decision.open else decision.reason

    async def _media(self, rec: CallRecord) -> list[dict]:
        """What a call leaves besides its record: the recording (moved to the recordings
        store and hashed once closed), a voicemail (trimmed, Opus, due at the department's
        next opening) or a fax (the pages that arrived, as a PDF)."""
        s = self.settings
        out: list[dict] = []
        if rec.recording:
            src = s.host_path(s.recordings_dir) / rec.recording
            await archive.settled(src)
            got = await asyncio.to_thread(archive.archive, src, s.state_dir / "recordings", rec.linkedid,
                                          rec.started_at)
            out.append({"kind": "recording", "path": got.path or str(src), "mime": got.mime, "seconds": got.seconds,
                        "bytes": got.bytes, "sha256": got.sha256, "status": got.status, "error": got.error})
        if rec.fax is not None:
            got = await asyncio.to_thread(fax.to_pdf, s.host_path(s.recordings_dir) / rec.fax, s.state_dir / "fax",
                                          rec.linkedid, rec.fax_status, rec.fax_pages, rec.fax_error)
            out.append({"kind": "fax", "path": got.path or str(s.host_path(s.recordings_dir) / rec.fax),
                        "mime": got.mime if got.path else "image/tiff", "pages": got.pages, "bytes": got.bytes,
                        "sha256": got.sha256, "status": got.status, "error": got.error})
        if rec.voicemail is not None:
            src = s.host_path(s.recordings_dir) / rec.voicemail
            audio = await asyncio.to_thread(transcode.process, src, s.state_dir / "voicemail", rec.linkedid)
            # the engine's clock (which tests set) when it is earlier than the call's own end
            ended = datetime.fromtimestamp(rec.ended_at or rec.started_at, UTC)
            decision = hours_calendar.decide(self.calendar, min(self.now(), ended), rec.department)
            if decision.next_open is not None:
                rec.due_at = decision.next_open.timestamp()
            out.append({"kind": "voicemail", "path": audio.path or str(src),
                        "mime": audio.mime if audio.path else "audio/wav", "seconds": audio.seconds,
                        "bytes": audio.bytes, "sha256": audio.sha256, "status": audio.status, "error": audio.error})
        return out

    # -- AMI ----------------------------------------------------------------------
    def _on_event(self, msg: Message) -> None:
        self.metrics.ami_events.inc()
        if msg.get("Event") == "UserEvent" and msg.get("UserEvent") == contract.EV_CALL_END:
            self.intake.notify(msg.get("linkedid", ""))

    async def _resync(self) -> None:
        """After every (re)connect: re-read what Asterisk knows; journals cover lost events."""
        try:
            reply = await self.ami.action("CoreSettings")
            self.asterisk_version = reply.get("AsteriskVersion")
        except HotlineError as e:
            log.warning("resync: %s", e)
        self.intake.notify("")
        if self.directory.ready.is_set():   # an Asterisk restart forgot the lines' globals
            await self.lines.push(self.directory.agents)
        await self.acd.resync()

    # -- database -----------------------------------------------------------------
    async def _database(self) -> None:
        delay = 0.5
        while not self.db_migrated:
            try:
                await self.store.migrate()
                await self.kb.seed(self.kb_seed)
                self.db_migrated = True
                self.db_ready.set()
            except UNREACHABLE as e:
                log.warning("database not ready (%s); calls are journalled meanwhile", type(e).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        await self.intake.run()

    async def status(self) -> dict:
        db = await self.store.ping()
        body = {
            "ami": self.ami.connected, "fastagi": self.agi.listening, "db": db,
            "asterisk_version": self.asterisk_version, "node": self.settings.node,
            "journal_backlog": len(list(self.intake.dir.glob("*" + contract.JOURNAL_SUFFIX))),
            "intake": self.intake.stats, "agi": {k: v for k, v in self.agi.stats.items() if k != "command_seconds"},
            "uptime": round(time.time() - self.started, 1),
            "menu": self.menu.status(),
            "calendar_warnings": hours_calendar.coverage(self.now().date(), self.calendar),
            "acd": {"waiting": len(self.acd.board.calls), "ready": self.acd.board.ready_count(),
                    "decisions": self.acd.stats.decisions, "ronas": self.acd.stats.ronas},
            "event_log": {**self.events.stats, "backlog": self.events.backlog},
        }
        body["ok"] = bool(body["ami"] and body["fastagi"] and db)
        return body

    # -- lifecycle ----------------------------------------------------------------
    async def run(self, ready: asyncio.Event | None = None) -> None:
        s = self.settings
        for warning in hours_calendar.coverage(self.now().date(), self.calendar):
            log.warning("calendar: %s", warning)
        await self.agi.start()
        runner = web.AppRunner(self.http, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, s.bind, s.http_port).start()
            log.info("engine %s: http %s, fastagi %s:%s, ami %s:%s", s.node, s.http_url, s.bind, s.agi_port,
                     s.bind, s.ami_port)
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.ami.run(), name="ami")
                tg.create_task(self._database(), name="database")
                tg.create_task(self.menu.watch(), name="menu-watch")
                tg.create_task(self.events.run(), name="event-log")
                tg.create_task(self.directory.run(self.db_ready), name="agent-directory")
                tg.create_task(self.priority_callers.run(self.db_ready), name="priority-callers")
                tg.create_task(self.acd.run(self.directory.ready), name="acd")
                tg.create_task(self.acd.persist(), name="acd-persist")
                tg.create_task(self.acd.heartbeat(), name="acd-heartbeat")
                tg.create_task(self.acd.announcer(), name="acd-announcer")
                tg.create_task(self.live.run(), name="wallboard")
                tg.create_task(self.pops.run(), name="screen-pop")
                tg.create_task(self.surveys.run(), name="surveys")
                if self.phones:
                    tg.create_task(self.phones.run(), name="softphones")
                if ready is not None:
                    ready.set()
        finally:
            await self.agi.stop()
            await runner.cleanup()
            await self.store.close()
