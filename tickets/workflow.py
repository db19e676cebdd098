"""The closed-loop ticket workflow as an explicit state machine. Pure: no I/O, no clock.

    new --answer_on_spot--> answered --follow_up--> follow_up --close--> closed
     |                         \\--close--> closed                         |
     \\--dispatch--> dispatched --accept--> accepted --reply--> replied    |
          ^            |                                   |           reopen (-> new)
          |          return_ (reason)                    inform
          |            v                                   v
          \\------- returned (back at the centre)       informed --follow_up--> follow_up
                   (answer_on_spot or dispatch again)

`apply(state, action, actor) -> (new state, history entry)` decides everything; the store
only reads the row, calls it, and writes the result with the history entry in one
transaction.

Choices (documented here, tested in tests/unit/test_workflow.py):

- **escalated is a flag, not a state.** Escalating to leadership does not move the ticket
  out of the loop: an escalated complaint still waits for the department's reply, the
  caller still has to be informed. A state would have to remember where to come back to;
  a flag cannot lose that. Escalation is possible in every state but closed, once.
- **supervise** (a follow-up order to a late department) is possible only while a
  department holds the ticket (dispatched, accepted) and only when it is overdue. Like
  escalate it leaves the status unchanged and only writes history.
- **Ownership**: the agent who took the call owns the ticket until closure. Agent actions
  by another agent are refused (`not-owner`); a ticket nobody owns yet (no agent answered
  the call: voicemail, abandoned) is taken by the first agent who acts on it. Supervisors
  act on any ticket and never take ownership. Reopening keeps the owner.
- **Departments** act only on tickets of their own department (`not-own-department`).
  A department actor is named "<department code>" or "<department code>/<person>".
- return_ is possible from dispatched only (before accepting: the issue's
  "dispatched -> accepted | returned").
- follow_up records the caller's satisfaction. A "not_satisfied" result may be closed by a
  supervisor only (the owner cannot quietly close an unsatisfied case); the supervisor
  may close it or reopen it later.
- reopen (supervisor) brings a closed ticket back to new: the owner answers it or
  dispatches it again; the satisfaction is cleared, the reply kept.
- The text of an on-the-spot answer is kept as the ticket's reply.

Errors, all HotlineErrors with stable ids: `transition-refused` (409) when the state does
not allow the action, `role-not-allowed` (403) when the role may never do it, with two
403 refinements `not-owner` and `not-own-department`; `bad-request` (400) for unknown
actions and missing/unknown/invalid arguments (category to dispatch, reason to return,
reopen or escalate, ...). `stale-update` (409) is raised by the store when the ticket
changed between its read and its write.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from core.errors import BadRequest, Forbidden, HotlineError


class Status(StrEnum):
    NEW = "new"
    ANSWERED = "answered"        # answered on the spot by the agent
    DISPATCHED = "dispatched"    # sent to a department, waiting for it to accept
    ACCEPTED = "accepted"        # the department is working on it
    RETURNED = "returned"        # the department sent it back to the centre, with a reason
    REPLIED = "replied"          # the department answered; the centre has to tell the caller
    INFORMED = "informed"        # the caller was told the answer
    FOLLOW_UP = "follow_up"      # satisfaction asked and recorded
    CLOSED = "closed"
    MERGED = "merged"            # a repeat call of a case: its calls moved to the ticket named in merged_into


class Act(StrEnum):
    ANSWER_ON_SPOT = "answer_on_spot"
    DISPATCH = "dispatch"
    ACCEPT = "accept"
    RETURN = "return"            # `return_` in the issue; both spellings are accepted
    REPLY = "reply"
    INFORM = "inform"
    FOLLOW_UP = "follow_up"
    CLOSE = "close"
    REOPEN = "reopen"
    ESCALATE = "escalate"
    SUPERVISE = "supervise"
    MERGE = "merge"              # into another open ticket about the same matter (重复诉求并单)


class Category(StrEnum):
    CONSULTATION = "consultation"          # 咨询
    REQUEST_FOR_HELP = "request_for_help"  # 求助
    COMPLAINT = "complaint"                # 投诉
    REPORT = "report"                      # 举报
    SUGGESTION = "suggestion"              # 建议


class Satisfaction(StrEnum):
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    NOT_SATISFIED = "not_satisfied"


ROLES = ("agent", "supervisor", "department", "ops", "auditor")

# Statuses in which a department holds the ticket: its deadline runs, it can be late.
HELD_BY_DEPARTMENT = frozenset({Status.DISPATCHED, Status.ACCEPTED})

_OPEN = tuple(s for s in Status if s not in (Status.CLOSED, Status.MERGED))

# action -> {from status: to status}; an action missing for a status is refused there.
TRANSITIONS: dict[Act, dict[Status, Status]] = {
    Act.ANSWER_ON_SPOT: {Status.NEW: Status.ANSWERED, Status.RETURNED: Status.ANSWERED},
    Act.DISPATCH: {Status.NEW: Status.DISPATCHED, Status.RETURNED: Status.DISPATCHED},
    Act.ACCEPT: {Status.DISPATCHED: Status.ACCEPTED},
    Act.RETURN: {Status.DISPATCHED: Status.RETURNED},
    Act.REPLY: {Status.ACCEPTED: Status.REPLIED},
    Act.INFORM: {Status.REPLIED: Status.INFORMED},
    Act.FOLLOW_UP: {Status.ANSWERED: Status.FOLLOW_UP, Status.INFORMED: Status.FOLLOW_UP},
    Act.CLOSE: {Status.ANSWERED: Status.CLOSED, Status.FOLLOW_UP: Status.CLOSED},
    Act.REOPEN: {Status.CLOSED: Status.NEW},
    Act.ESCALATE: {s: s for s in _OPEN},
    Act.SUPERVISE: {s: s for s in HELD_BY_DEPARTMENT},
    Act.MERGE: {Status.NEW: Status.MERGED, Status.RETURNED: Status.MERGED},
}

WHO: dict[Act, frozenset[str]] = {
    Act.ANSWER_ON_SPOT: frozenset({"agent"}),
    Act.DISPATCH: frozenset({"agent", "supervisor"}),
    Act.ACCEPT: frozenset({"department"}),
    Act.RETURN: frozenset({"department"}),
    Act.REPLY: frozenset({"department"}),
    Act.INFORM: frozenset({"agent"}),
    Act.FOLLOW_UP: frozenset({"agent"}),
    Act.CLOSE: frozenset({"agent", "supervisor"}),
    Act.REOPEN: frozenset({"supervisor"}),
    Act.ESCALATE: frozenset({"agent", "supervisor"}),
    Act.SUPERVISE: frozenset({"supervisor"}),
    Act.MERGE: frozenset({"agent", "supervisor"}),
}


# -- errors ----------------------------------------------------------------------------
class TransitionRefused(HotlineError):
    """The ticket's state does not allow the action (or a guard of it fails)."""
    id, status = "transition-refused", 409


class StaleUpdate(TransitionRefused):
    """The ticket changed between the store's read and its write: read it again."""
    id, status = "stale-update", 409


class RoleNotAllowed(Forbidden):
    """The role may never do this action."""
    id, status = "role-not-allowed", 403


class NotOwner(RoleNotAllowed):
    """Another agent owns the ticket."""
    id = "not-owner"


class NotOwnDepartment(RoleNotAllowed):
    """The ticket belongs to another department (or to none)."""
    id = "not-own-department"


# -- values ----------------------------------------------------------------------------
@dataclass(frozen=True)
class TicketState:
    """What the machine needs to know about a ticket. `overdue` is computed by the caller
    from the deadline and the clock (see tickets.deadlines), so this stays pure."""
    status: Status = Status.NEW
    department: str | None = None
    category: str | None = None
    district: str | None = None
    owner: str | None = None
    escalated: bool = False
    reply: str | None = None
    satisfaction: str | None = None
    overdue: bool = False


@dataclass(frozen=True)
class Actor:
    name: str
    role: str
    department: str | None = None  # for the department role
    aliases: tuple[str, ...] = ()  # other names of the same person: their agent line ("agent1002")

    def is_(self, name: str | None) -> bool:
        return name is not None and (name == self.name or name in self.aliases)

    @classmethod
    def of(cls, name: str, role: str) -> Actor:
        """A department actor is "<code>" or "<code>/<person>" (the API token's name)."""
        if role not in ROLES:
            raise BadRequest(f"role must be one of {', '.join(ROLES)}")
        dept = None
        if role == "department":
            dept = name.split("/", 1)[0].strip() or None
        return cls(name=name, role=role, department=dept)


@dataclass(frozen=True)
class Action:
    name: Act
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class HistoryEntry:
    """One row of the ticket's history, without its time (the store stamps it)."""
    action: str
    actor: str
    role: str
    from_status: str
    to_status: str
    details: dict[str, Any]


# -- arguments -------------------------------------------------------------------------
_DEPT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_SHORT, _LONG = 2000, 20000


def _text(limit: int):
    def check(name: str, v: Any) -> str:
        if not isinstance(v, str) or not v.strip():
            raise BadRequest(f"{name} must be a non-empty string")
        if len(v) > limit:
            raise BadRequest(f"{name} is longer than {limit} characters")
        return v.strip()
    return check


def _choice(values: type[StrEnum]):
    def check(name: str, v: Any) -> str:
        if v not in {m.value for m in values}:
            raise BadRequest(f"{name} must be one of {', '.join(m.value for m in values)}")
        return str(v)
    return check


def _ticket(name: str, v: Any) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not 0 < v < 2**31:
        raise BadRequest(f"{name} must be a ticket id")
    return v


def _department(name: str, v: Any) -> str:
    if not isinstance(v, str) or not _DEPT.match(v):
        raise BadRequest(f"{name} must be a department code (a-z, 0-9, _ or -, at most 32)")
    return v


# action -> (required, optional): argument name -> checker
ARGS: dict[Act, tuple[dict, dict]] = {
    Act.ANSWER_ON_SPOT: ({}, {"text": _text(_LONG), "category": _choice(Category), "district": _text(64)}),
    Act.DISPATCH: ({"department": _department, "category": _choice(Category)},
                   {"note": _text(_SHORT), "district": _text(64), "matter": _text(64),
                    "override_reason": _text(_SHORT)}),
    Act.ACCEPT: ({}, {"note": _text(_SHORT)}),
    Act.RETURN: ({"reason": _text(_SHORT)}, {}),
    Act.REPLY: ({"text": _text(_LONG)}, {}),
    Act.INFORM: ({}, {"note": _text(_SHORT)}),
    Act.FOLLOW_UP: ({"result": _choice(Satisfaction)}, {"note": _text(_SHORT)}),
    Act.CLOSE: ({}, {"note": _text(_SHORT)}),
    Act.REOPEN: ({"reason": _text(_SHORT)}, {}),
    Act.ESCALATE: ({"reason": _text(_SHORT)}, {}),
    Act.SUPERVISE: ({"note": _text(_SHORT)}, {}),
    Act.MERGE: ({"into": _ticket}, {"note": _text(_SHORT)}),
}


def parse_act(name: str) -> Act:
    if name == "return_":
        return Act.RETURN
    try:
        return Act(name)
    except ValueError:
        raise BadRequest(f"unknown action {name!r}; actions: {', '.join(a.value for a in Act)}") from None


def parse_action(name: str, args: Mapping[str, Any] | None = None) -> Action:
    """Validate an action and its arguments: unknown action, unknown or missing argument,
    wrong type or value -> BadRequest (bad-request)."""
    act = parse_act(name)
    args = dict(args or {})
    required, optional = ARGS[act]
    unknown = sorted(set(args) - set(required) - set(optional))
    if unknown:
        allowed = sorted(set(required) | set(optional))
        raise BadRequest(f"{act} does not take {', '.join(unknown)}"
                         f" (it takes: {', '.join(allowed) or 'nothing'})")
    missing = [k for k in required if args.get(k) is None]
    if missing:
        raise BadRequest(f"{act} requires {', '.join(missing)}")
    clean = {}
    for k, v in args.items():
        if v is None:  # an explicit null for an optional argument is the same as leaving it out
            continue
        clean[k] = (required.get(k) or optional[k])(k, v)
    return Action(act, clean)


# -- the machine -----------------------------------------------------------------------
def check(state: TicketState, act: Act, actor: Actor) -> None:
    """Raise unless `actor` may do `act` on a ticket in `state` (arguments aside)."""
    if actor.role not in WHO[act]:
        raise RoleNotAllowed(f"role {actor.role} may not {act} (only {', '.join(sorted(WHO[act]))})",
                             action=str(act), role=actor.role)
    status = Status(state.status)
    targets = TRANSITIONS[act]
    if status not in targets:
        possible = ", ".join(s.value for s in targets) or "nowhere"
        raise TransitionRefused(f"cannot {act} a ticket that is {status} ({act} is possible from: {possible})",
                                action=str(act), status=str(status))
    if actor.role == "agent" and state.owner and not actor.is_(state.owner):
        raise NotOwner(f"ticket is owned by agent {state.owner}; {actor.name} may not {act} it",
                       action=str(act), owner=state.owner)
    if actor.role == "department" and (not state.department or actor.department != state.department):
        raise NotOwnDepartment(f"ticket belongs to department {state.department or '(none)'}, "
                               f"not {actor.department or '(none)'}: cannot {act} it",
                               action=str(act), department=state.department)
    if act is Act.ESCALATE and state.escalated:
        raise TransitionRefused(f"cannot escalate a ticket that is {status}: it is already escalated",
                                action=str(act), status=str(status))
    if act is Act.SUPERVISE and not state.overdue:
        raise TransitionRefused(f"cannot supervise a ticket that is {status}: it is not overdue",
                                action=str(act), status=str(status))
    if (act is Act.CLOSE and status is Status.FOLLOW_UP and state.satisfaction == Satisfaction.NOT_SATISFIED
            and actor.role != "supervisor"):
        raise RoleNotAllowed(f"cannot close a ticket that is {status} with the caller not satisfied: "
                             "a supervisor decides", action=str(act), role=actor.role)


def available(state: TicketState, actor: Actor) -> list[str]:
    """The actions `actor` may take now (for a UI's buttons)."""
    out = []
    for act in Act:
        try:
            check(state, act, actor)
        except HotlineError:
            continue
        out.append(act.value)
    return out


def apply(state: TicketState, action: Action, actor: Actor) -> tuple[TicketState, HistoryEntry]:
    """The new state and the history entry, or TransitionRefused / RoleNotAllowed."""
    act = Act(action.name)
    check(state, act, actor)
    args = dict(action.args)
    before = Status(state.status)
    after = TRANSITIONS[act][before]
    new = replace(state, status=after)
    details: dict[str, Any] = dict(args)
    if actor.role == "agent" and not state.owner:
        new = replace(new, owner=actor.name)
        details["owner"] = actor.name
    if "district" in args:
        new = replace(new, district=args["district"])
    if act is Act.ANSWER_ON_SPOT:
        new = replace(new, reply=args.get("text", state.reply), category=args.get("category", state.category))
    elif act is Act.DISPATCH:
        new = replace(new, department=args["department"], category=args["category"])
        if state.department != args["department"]:
            details["previous_department"] = state.department
    elif act is Act.REPLY:
        new = replace(new, reply=args["text"])
    elif act is Act.FOLLOW_UP:
        new = replace(new, satisfaction=args["result"])
    elif act is Act.REOPEN:
        new = replace(new, satisfaction=None)
    elif act is Act.ESCALATE:
        new = replace(new, escalated=True)
    entry = HistoryEntry(action=act.value, actor=actor.name, role=actor.role,
                         from_status=before.value, to_status=after.value, details=details)
    return new, entry
