"""Fakes and builders the ACD tests share: an AMI that records actions, a settable clock,
a service fed with events without sockets."""
from __future__ import annotations

from acd import config as acd_config
from acd.service import AcdService
from core import contract
from core.errors import AmiActionFailed
from core.centre import Agent, Skill


class FakeAmi:
    connected = True

    def __init__(self):
        self.actions: list[tuple[str, dict]] = []
        self.vars: dict[tuple[str, str], str] = {}
        self.lists: dict[str, list[dict]] = {}   # list actions a test answers (PJSIPShowContacts...)

    async def action(self, name, **fields):
        self.actions.append((name, fields))
        if name == "Getvar":
            return {"Value": self.vars.get((fields["Channel"], fields["Variable"]), "")}
        return {"Response": "Success"}

    async def action_list(self, name, **fields):
        """A list the test did not set is an action this Asterisk cannot answer."""
        self.actions.append((name, fields))
        if name not in self.lists:
            raise AmiActionFailed(f"{name}: not in this fake", action=name)
        return self.lists[name]

    def of(self, name):
        return [f for n, f in self.actions if n == name]


class Clock:
    def __init__(self, t=1000.0):
        self.t = t

    def __call__(self):
        return self.t


AGENTS = [
    Agent("1002", "Wang", (Skill("tax", "cmn", 4),)),
    Agent("1007", "Ho", (Skill("tax", "yue", 4), Skill("tax", "cmn", 3))),
    Agent("2001", "ring", (Skill("tax", "cmn", 5),), line="local-ring"),
]


def service(cfg=None, agents=AGENTS):
    ami, clock, events = FakeAmi(), Clock(), []
    cfg = cfg or acd_config.load({"wrapup_seconds": 5, "rona_max_misses": 2,
                                  "relax": {"default": ["0:3", "10:1::cmn"]}})
    svc = AcdService(ami, cfg, agents, log_event=events.append, clock=clock)
    for a in agents:
        svc.board.login(a.id, clock())
    svc.loaded = True
    return svc, ami, clock, events


def delivered(lid, agent):
    """The AMI Redirect that rings `agent` for waiting call `lid`."""
    return {"Channel": f"Local/{lid};1", "Context": contract.DELIVER, "Exten": agent, "Priority": 1}


def ue(kind, **fields):
    return {"Event": "UserEvent", "UserEvent": kind, **fields}


async def feed(svc, *msgs):
    for m in msgs:
        svc.on_ami(m)
    while not svc._inbox.empty():
        kind, m = svc._inbox.get_nowait()
        await svc._apply(kind, m)
    await svc._route()


def queued(lid, dept="tax", lang="cmn", since=None, prio=""):
    return ue(contract.EV_QUEUED, linkedid=lid, channel=f"Local/{lid};1", dept=dept, lang=lang, prio=prio,
              since=str(since) if since else "")
