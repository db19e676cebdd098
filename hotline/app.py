"""The composition root: builds every adapter once and hands it to its consumers."""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import shutil
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime

from aiohttp import web

from acd import config as acd_config
from acd import routes as acd_routes
from acd import priority_routes
from acd.claims import AgentClaims
from acd.directory import AgentDirectory
from acd.outcomes import CallbackOutcomes
from acd.screen_pop import ScreenPop
from acd.service import AcdService
from acd.softphones import Softphones
from agi_scripts.server import FastAgiServer
from calls import orphans
from calls.intake import Intake
from cluster import kamailio as cluster_kamailio
from calls.record import CallRecord, record_events
from hours import calendar as hours_calendar
from hours import config as hours_config
from ivr import prompts as ivr_prompts
from ivr.live import LiveMenu
from ivr.lookups import LanguageLookups
from ivr.runner import IvrRunner
from core import events as report_events
from reports import routes as report_routes
from reports.live import Live
from acd.agent_store import AgentDirectoryStore
from acd.state_store import AgentStates
from acd.priority_callers import PriorityCallers
from reports.event_log import EventLog
from kb import routes as kb_routes
from tickets.routes import add_routes as add_workflow_routes
from kb.store import KnowledgeBase, load_seed
from tickets.providers import Providers
from surveys.service import Surveys
from surveys import config as survey_config
from surveys import routes as survey_routes
from recordings import routes as recording_routes
from db.database import UNREACHABLE
from tickets.store import Store
from recordings import archive
from trunks.service import TrunkService
from voicemail import fax, transcode
from users import routes as user_routes
from portal import routes as portal_routes
from console import routes as console_routes
from scorecard import routes as scorecard_routes
from catalogue import routes as catalogue_routes
from catalogue.live import LiveCatalogue
from tickets import deadlines
from tickets.workflow import Category
from users.store import UserStore

from core import contract
from ami.protocol import Message
from ami.session import AmiSession
from asterisk_conf import install, secrets
from asterisk_conf.lines import AsteriskLines
from core.errors import HotlineError
from web import openapi
from web.app import Deps, make_app
from hotline import metrics as metrics_routes
from hotline.metrics import Metrics
from core.settings import Settings

log = logging.getLogger(__name__)
RECORDINGS_MIN_FREE = 64 * 1024 * 1024
NODES_MAX_AGE = 1.0   # a cluster: how old the nodes' health read from the proxy may be when shown


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
        self.ami = AmiSession(s.bind, s.ami_port, secrets.AMI_USER, secrets.ami_secret(s.state_dir), name="engine",
                              known=contract.AMI_FILTER)
        self.menu = LiveMenu(s.menus, s.centre, root=s.root, owner=_owner(s.root))
        self.calendar = hours_config.load_file(s.config, {d.code for d in s.centre.departments})
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)  # tests set the clock here
        self.metrics = Metrics()
        self.kb = KnowledgeBase(self.store)
        # the answers the menu reads out, added at start when missing (validated here, at build)
        self.kb_seed = load_seed(s.config, {d.code for d in s.centre.departments})
        self.language_lookups = LanguageLookups(self.store.caller_language)
        ivr = IvrRunner(self.menu, ivr_prompts.PromptCatalogue(self.menu), ivr_prompts.Speech(s.root),
                        tickets=self.store.ticket_status, languages=self.language_lookups.language,
                        closed=self._closed, kb=self.kb.answer, kb_used=self.kb.heard)
        self.agi = FastAgiServer(s.agi_address, s.agi_port, {contract.AGI_IVR: ivr}, on_rtt=self.metrics.agi_round_trip)
        self.events = EventLog(self.store)
        acd_cfg = dataclasses.replace(acd_config.load(s.centre.acd, {d.code for d in s.centre.departments}),
                                      timezone=self.calendar.timezone)
        self.priority_callers = PriorityCallers(self.store)
        # carrier trunks: the outbound guard for callbacks and surveys, trunk events, applying changes
        self.trunks = TrunkService(s, self.events.append, timezone=self.calendar.timezone,
                                   agents=lambda: self.directory.agents if self.directory.ready.is_set() else None)
        self.acd = AcdService(self.ami, acd_cfg, s.agents, log_event=self.events.append,
                              states=AgentStates(self.store), speech=ivr_prompts.Speech(s.root),
                              priority_of=self.priority_callers.priority_of, may_call=self.trunks.may_call,
                              claims=AgentClaims(self.store, s.node) if s.sip_proxy else None)
        self.intake = Intake(self.store, s.host_path(s.journal_dir), s.journal_sweep_seconds,
                             on_stored=self._stored, media=self._media)
        self.users = UserStore(self.store)
        self.http = make_app(Deps(store=self.store, status=self.status, registry=self.metrics.registry,
                                  auth=self.users))
        user_routes.add_routes(self.http, self.users)
        metrics_routes.add_routes(self.http, self.metrics, self.acd.stats)
        self.store.calendar = self.calendar   # ticket deadlines in the centre's working days
        self.store.clock = lambda: self.now()
        self.providers = Providers(self.store, {d.code for d in s.centre.departments if d.provider})
        self.surveys = Surveys(self.store, self.ami, self.providers, s.node, survey_config.load(s.centre.survey),
                               timezone=self.calendar.timezone, clock=lambda: self.now(),
                               ready=lambda: self.db_migrated, outbound=self.trunks.permit)
        self.store.in_transition.append(self.surveys.on_transition)   # a survey is scheduled with the change
        self.ami.on_event(self.surveys.on_ami, contract.AMI_EVENTS["surveys"])
        cats = {c.value for c in Category}
        self.catalogue = LiveCatalogue(s.catalogue, {d.code for d in s.centre.departments}, cats)
        add_workflow_routes(self.http, self.providers, live_agent=self.acd.agent_of, catalogue=self.catalogue)
        catalogue_routes.add_routes(self.http, self.catalogue, self._due)
        survey_routes.add_routes(self.http, self.surveys)
        recording_routes.add_routes(self.http)
        self.pops = ScreenPop(self.acd.caller_of, lambda caller: self.store.tickets(caller=caller, limit=10),
                              self.acd.call_info)
        self.events.subscribe(self.pops.on_event)
        self.callback_outcomes = CallbackOutcomes(self.store, clock=lambda: self.now())
        self.events.subscribe(self.callback_outcomes.on_event)   # each callback's result on its ticket
        self.db_ready = asyncio.Event()
        self.lines = AsteriskLines(s, self.ami)
        self.directory = AgentDirectory(AgentDirectoryStore(self.store), s.agents,
                                        {d.code for d in s.centre.departments}, self._apply_agents)
        acd_routes.add_routes(self.http, self.acd, self.pops, self.directory,
                              {"state_dir": s.state_dir, "registrar": f"{s.bind}:{s.sip_port}"},
                              desk={"ready_needs_ticket": s.desk_ready_needs_ticket,
                                    "departments": {d.code for d in s.centre.departments},
                                    "department_names": {d.code: d.name for d in s.centre.departments}})
        priority_routes.add_routes(self.http, self.priority_callers)
        self.live = Live(self.events, self.acd.snapshot)
        self._nodes_lock, self._nodes_at = asyncio.Lock(), float("-inf")
        if s.cluster_ctl:
            async def refresh_nodes() -> None:
                await self.cluster_nodes()
            self.live.refresh_nodes = refresh_nodes
        report_routes.add_routes(self.http, self.live, self.events, self.store)
        kb_routes.add_routes(self.http, self.kb)
        # the department portal and the supervisor console: the workflow's loop as pages
        portal = portal_routes.add_routes(self.http, self.store, s.state_dir / "replies")
        console_routes.add_routes(self.http, self.store, portal,
                                  {d.code: d.name.get("cmn") or d.code for d in s.centre.departments})
        scorecard_routes.add_routes(self.http, self.store, self.calendar.timezone, lambda: self.now(),
                                    names={d.code: d.name.get("cmn") or d.code for d in s.centre.departments})
        openapi.add_routes(self.http)
        want_phones = s.demo_agents if phones is None else phones
        self.phones = Softphones(s, list(s.centre.sip_agents), s.state_dir / "phones") if want_phones else None
        self.asterisk_version: str | None = None
        self.journals_cut = 0   # calls Asterisk died with, closed by calls/orphans.py
        self.db_migrated = False
        self.started = time.time()
        self.ami.on_event(lambda _msg: self.metrics.ami_events.inc(), contract.AMI_FILTER)
        self.ami.on_event(self._on_event, contract.AMI_EVENTS["engine"])
        self.ami.on_event(self.acd.on_ami, contract.AMI_EVENTS["acd"])
        self.ami.on_event(self.trunks.on_ami, contract.AMI_EVENTS["trunks"])
        self.ami.on_connect(self._resync)

    async def _apply_agents(self, agents) -> dict:
        """The agent directory changed (or was read at start): Asterisk first, so that an
        agent is never offered a call before their line can ring, then routing."""
        asterisk = await self.lines.apply(agents)
        return {"acd": await self.acd.set_agents(agents), "asterisk": asterisk}

    def _due(self, days: int) -> str:
        """When a dispatch made now is due, `days` working days on the centre's calendar."""
        return deadlines.due_at(self.now(), "catalogue", self.calendar, {"catalogue": days}).isoformat()

    def _stored(self, rec: CallRecord) -> None:
        """A call record is in the database: its call-level events join the log (the ACD
        logged the queue and agent events live, when it handled the call)."""
        self.metrics.calls_ingested.labels(str(rec.disposition)).inc()
        live = self.acd.forget(rec.linkedid)
        if str(rec.disposition) == "abandoned_in_ivr" and rec.ended_at:
            # a hang-up in the menu: the ACD decides whether it goes on the callback list
            self.acd.missed_in_menu(rec.linkedid, rec.caller, rec.department, rec.language, rec.started_at,
                                    rec.ended_at - rec.started_at)
        for e in record_events(rec):
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
            run = self.intake.blocking   # the intake's worker threads, not the loop's shared pool
            await archive.settled(src, run=run)
            got = await run(archive.archive, src, s.state_dir / "recordings", rec.linkedid, rec.started_at)
            out.append(got.attachment(src, archive.MIME))
        if rec.fax is not None:
            src = s.host_path(s.recordings_dir) / rec.fax
            got = await self.intake.blocking(fax.to_pdf, src, s.state_dir / "fax", rec.linkedid, rec.fax_status,
                                             rec.fax_pages, rec.fax_error)
            out.append(got.attachment(src, "image/tiff"))
        if rec.voicemail is not None:
            src = s.host_path(s.recordings_dir) / rec.voicemail
            got = await self.intake.blocking(transcode.process, src, s.state_dir / "voicemail", rec.linkedid)
            # the engine's clock (which tests set) when it is earlier than the call's own end
            ended = datetime.fromtimestamp(rec.ended_at or rec.started_at, UTC)
            decision = hours_calendar.decide(self.calendar, min(self.now(), ended), rec.department)
            if decision.next_open is not None:
                rec.due_at = decision.next_open.timestamp()
            out.append(got.attachment(src, "audio/wav"))
        return out

    # -- AMI ----------------------------------------------------------------------
    def _on_event(self, msg: Message) -> None:
        if msg.get("UserEvent") == contract.EV_CALL_END:
            self.intake.notify(msg.get("linkedid", ""))

    async def _resync(self) -> None:
        """After every (re)connect: re-read what Asterisk knows; journals cover lost events."""
        try:
            reply = await self.ami.action("CoreSettings")
            self.asterisk_version = reply.get("AsteriskVersion")
        except HotlineError as e:
            log.warning("resync: %s", e)
        await self._close_orphans()
        self.intake.notify("")
        if self.directory.ready.is_set():   # an Asterisk restart forgot the lines' globals
            await self.lines.push(self.directory.agents)
        await self.acd.resync()

    async def _close_orphans(self) -> None:
        """Journals of calls Asterisk no longer has (it died with them up) get their end."""
        async def live() -> set[str]:
            return {c.get("Linkedid", "") for c in await self.ami.action_list("CoreShowChannels")}
        try:
            closed = await orphans.sweep(self.intake.dir, live, self.ami.lost_at, asyncio.to_thread)
        except (HotlineError, OSError) as e:   # not knowing the live calls, close nothing
            log.warning("resync: open journals not checked: %s", e)
            return
        self.journals_cut += len(closed)

    # -- cluster ------------------------------------------------------------------
    async def cluster_nodes(self, max_age: float = NODES_MAX_AGE) -> list[dict] | None:
        """A cluster node: the nodes' health as the proxy's dispatcher sees it, read when
        /status or a wallboard asks (one `kamcmd` at a time, its answer kept `max_age`
        seconds), not on a clock; a change is pushed to the wallboards."""
        if not self.settings.cluster_ctl:
            return None
        async with self._nodes_lock:
            if time.monotonic() - self._nodes_at < max_age:
                return self.live.nodes
            try:
                nodes = await asyncio.to_thread(cluster_kamailio.nodes_at, self.settings.cluster_ctl)
            except (HotlineError, OSError, subprocess.TimeoutExpired) as e:
                nodes = [{"name": "proxy", "address": self.settings.sip_proxy, "healthy": False,
                          "error": type(e).__name__}]
            self._nodes_at = time.monotonic()
            if nodes != self.live.nodes:
                self.live.set_nodes(nodes)
            return nodes

    async def _watch_cluster(self) -> None:
        """While a wallboard listens, the nodes' health is read every second (a node down
        shows within about two seconds of the dispatcher marking it); with nobody
        watching, nothing is read."""
        while True:
            await self.live.until_watched()
            await self.cluster_nodes()
            await asyncio.sleep(NODES_MAX_AGE)

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
            "journal_backlog": await self.intake.backlog(), "journals_cut": self.journals_cut,
            "intake": self.intake.stats, "agi": {k: v for k, v in self.agi.stats.items() if k != "command_seconds"},
            "uptime": round(time.time() - self.started, 1),
            "menu": self.menu.status(), "language_lookups": self.language_lookups.stats,
            "catalogue": self.catalogue.status(),
            "calendar_warnings": hours_calendar.coverage(self.now().date(), self.calendar),
            "acd": {"waiting": len(self.acd.board.calls), "ready": self.acd.board.ready_count(),
                    "decisions": self.acd.stats.decisions, "ronas": self.acd.stats.ronas},
            "event_log": {**self.events.stats, "backlog": self.events.backlog},
            "trunks": self.trunks.status(),
            "gc": self.metrics.gc.status(),
        }
        body["recordings"] = self._recordings_disk()
        # an alarm, not a failure: calls go on unrecorded (MixMonitor cannot write, the call lives)
        body["alarms"] = ["recordings disk full"] if body["recordings"].get("full") else []
        if s_cluster := self.settings.cluster_ctl:
            body["cluster"] = {"proxy": self.settings.sip_proxy, "ctl": s_cluster, "nodes": await self.cluster_nodes()}
        body["ok"] = bool(body["ami"] and body["fastagi"] and db)
        return body

    def _recordings_disk(self) -> dict:
        """Free space where Asterisk writes recordings: full below 64 MB, or 10 % of a
        smaller filesystem (what one busy minute of calls needs, roughly)."""
        s = self.settings
        try:
            du = shutil.disk_usage(s.host_path(s.recordings_dir))
        except OSError as e:
            return {"full": None, "error": str(e)}
        return {"free_bytes": du.free, "total_bytes": du.total, "full": du.free < min(RECORDINGS_MIN_FREE, du.total // 10)}

    # -- lifecycle ----------------------------------------------------------------
    async def run(self, ready: asyncio.Event | None = None) -> None:
        s = self.settings
        self.metrics.gc.install()
        for warning in hours_calendar.coverage(self.now().date(), self.calendar):
            log.warning("calendar: %s", warning)
        await self.agi.start()
        runner = web.AppRunner(self.http, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, s.http_host or s.bind, s.http_port).start()
            log.info("engine %s: http %s, fastagi %s:%s, ami %s:%s", s.node, s.http_url, s.agi_address, s.agi_port,
                     s.bind, s.ami_port)
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.ami.run(), name="ami")
                tg.create_task(self._database(), name="database")
                tg.create_task(self.language_lookups.run(), name="language-lookups")
                tg.create_task(self.menu.watch(), name="menu-watch")
                tg.create_task(self.catalogue.watch(), name="catalogue-watch")
                tg.create_task(self.events.run(), name="event-log")
                tg.create_task(self.directory.run(self.db_ready), name="agent-directory")
                tg.create_task(self.priority_callers.run(self.db_ready), name="priority-callers")
                tg.create_task(self.acd.run(self.directory.ready), name="acd")
                tg.create_task(self.acd.persist(), name="acd-persist")
                tg.create_task(self.acd.heartbeat(), name="acd-heartbeat")
                tg.create_task(self.acd.claims_loop(), name="acd-claims")
                if s.cluster_ctl:
                    tg.create_task(self._watch_cluster(), name="cluster-nodes")
                tg.create_task(self.acd.announcer(), name="acd-announcer")
                tg.create_task(self.live.run(), name="wallboard")
                tg.create_task(self.pops.run(), name="screen-pop")
                tg.create_task(self.callback_outcomes.run(), name="callback-outcomes")
                tg.create_task(self.surveys.run(), name="surveys")
                tg.create_task(self.trunks.watch(), name="trunks")
                if self.phones:
                    tg.create_task(self.phones.run(), name="softphones")
                if ready is not None:
                    ready.set()
        finally:
            await self.agi.stop()
            self.metrics.gc.remove()
            await runner.cleanup()
            await self.store.close()
            self.intake.close()
