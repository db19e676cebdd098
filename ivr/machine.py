"""The IVR as a pure state machine: step(menu, state, event) -> (state, commands).

No sockets, no clock, no database: the runner feeds digits, timeouts and look-up results
with their timestamps and executes the commands on a channel. Every input is kept on the
path, so the call record shows the walk and containment can be measured.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from core import contract as C
from ivr.model import (PRIORITIES, Action, Callback, Goto, Hangup, KbAnswer, Menu, Say, SetLanguage, TicketStatus,
                    ToDepartment)

MAX_TICKET_DIGITS = 10
# The path step of a knowledge-base answer: its input is the entry id the caller heard, or
# KB_FALLBACK when the menu's fallback prompt was said instead.
KB_NODE = "kb"
KB_FALLBACK = "-"


# -- events ---------------------------------------------------------------------
@dataclass(frozen=True)
class Started:
    entry: str
    t: float
    remembered_language: str | None = None
    closed: str | None = None   # why the number is closed now (business calendar); None: open


@dataclass(frozen=True)
class Input:
    digits: str   # "" means the caller pressed nothing before the timeout
    t: float


@dataclass(frozen=True)
class Looked:
    """Result of a ticket look-up: None when there is no such ticket."""
    ticket: str
    status: str | None
    due: str | None
    t: float


@dataclass(frozen=True)
class KbLooked:
    """Result of a knowledge-base look-up: entry None when there is no answer to say (no
    entry for the key in the caller's language, or the knowledge base did not answer)."""
    key: str
    entry: int | None
    text: str | None
    t: float


@dataclass(frozen=True)
class Played:
    t: float


# -- commands -------------------------------------------------------------------
@dataclass(frozen=True)
class Ask:
    prompt: str
    language: str
    timeout: float
    max_digits: int = 1


@dataclass(frozen=True)
class Play:
    prompt: str
    language: str


@dataclass(frozen=True)
class Speak:
    """Say a sentence made at call time (synthesised by the runner)."""
    text: str
    language: str


@dataclass(frozen=True)
class LookUpTicket:
    ticket: str


@dataclass(frozen=True)
class LookUpKb:
    key: str
    language: str


@dataclass(frozen=True)
class KbUsed:
    """The caller heard this entry's answer: count it."""
    entry: int


@dataclass(frozen=True)
class SetVars:
    values: dict[str, str]


@dataclass(frozen=True)
class Finish:
    action: str                 # "queue" | "hangup" | "voicemail"
    department: str | None


Command = Ask | Play | Speak | LookUpTicket | LookUpKb | KbUsed | SetVars | Finish


@dataclass(frozen=True)
class Step:
    node: str
    input: str                  # digits, "t" for timeout, "!" prefix for invalid input
    t: float


@dataclass(frozen=True)
class State:
    entry: str
    node: str | None = None
    language: str | None = None
    remembered: str | None = None
    department: str | None = None
    path: tuple[Step, ...] = ()
    tries: int = 0
    finished: bool = False
    callback: bool = False
    waiting: str = "digit"      # digit | ticket | lookup | kb | played
    pending: Action | None = None  # what follows the current look-up / announcement (kb: the KbAnswer)

    def path_text(self) -> str:
        return ",".join(f"{s.node}:{s.input}@{s.t:.3f}" for s in self.path)


def _lang(menu: Menu, state: State) -> str:
    return state.language or menu.default_language


def start(menu: Menu, event: Started) -> tuple[State, list[Command]]:
    entry = menu.entries.get(event.entry)
    remembered = event.remembered_language
    if entry is None:  # a number the menu does not know: a person takes it
        return _finish(menu, State(entry=event.entry, language=remembered), ToDepartment(menu.operator))
    state = State(entry=entry.number, language=entry.language, remembered=remembered)
    if event.closed is not None:
        return _after_hours(menu, state, entry.department or menu.operator)
    if entry.start is None:
        return _finish(menu, state, ToDepartment(entry.department or menu.operator))
    return _enter(menu, state, entry.start)


def step(menu: Menu, state: State, event: Input | Looked | KbLooked | Played) -> tuple[State, list[Command]]:
    if state.finished or state.node is None:
        return state, []
    if len(state.path) >= menu.max_steps:  # a caller going round in circles gets a person
        return _finish(menu, state, ToDepartment(menu.operator))
    if isinstance(event, Played):
        if state.waiting != "played" or state.pending is None:
            return state, []
        return _apply(menu, replace(state, pending=None, waiting="digit"), state.pending)
    if isinstance(event, Looked):
        return _looked(menu, state, event)
    if isinstance(event, KbLooked):
        return _kb_looked(menu, state, event)
    if state.waiting == "kb":  # keys pressed during the look-up belong to no prompt
        return state, []
    if state.waiting == "ticket":
        return _ticket_number(menu, state, event)
    node = menu.nodes[state.node]
    digit = event.digits[:1]
    if digit == "0" and "0" not in node.options:
        state = _record(state, node.id, "0", event.t)
        return _finish(menu, state, ToDepartment(menu.operator))
    if digit and digit in node.options:
        state = _record(state, node.id, digit, event.t)
        return _apply(menu, state, node.options[digit])
    label = "t" if not event.digits else "!" + _clean(event.digits)
    state = _record(state, node.id, label, event.t)
    if state.tries < node.retries:
        state = replace(state, tries=state.tries + 1)
        cmds: list[Command] = [SetVars({C.V_PATH: state.path_text()})]
        if event.digits and "invalid" in menu.prompts:
            cmds.append(Play("invalid", _lang(menu, state)))
        return state, cmds + [_ask(menu, state, node.id)]
    fallback = node.on_timeout if not event.digits else (node.on_invalid or node.on_timeout)
    return _apply(menu, state, fallback)


def _ticket_number(menu: Menu, state: State, event: Input) -> tuple[State, list[Command]]:
    digits = "".join(c for c in event.digits if c in "0123456789")[:MAX_TICKET_DIGITS]
    state = _record(state, "ticket", digits or "t", event.t)
    if not digits:
        then, state = state.pending or Goto(state.node or ""), replace(state, pending=None, waiting="digit")
        return _apply(menu, state, then)
    return replace(state, waiting="lookup"), [SetVars({C.V_PATH: state.path_text()}), LookUpTicket(digits)]


def _looked(menu: Menu, state: State, event: Looked) -> tuple[State, list[Command]]:
    if state.waiting != "lookup":  # a result nobody asked for (stale, or another look-up's)
        return state, []
    lang = _lang(menu, state)
    state = replace(state, waiting="played")
    if event.status is None:
        return state, [Play("ticket_unknown", lang)]
    template = menu.templates.get("ticket_status", {})
    text = template.get(lang) or template.get(menu.default_language) or "{id} {status} {due}"
    return state, [Speak(text.format(id=event.ticket, status=event.status, due=event.due or ""), lang)]


def _kb_looked(menu: Menu, state: State, event: KbLooked) -> tuple[State, list[Command]]:
    action = state.pending
    if state.waiting != "kb" or not isinstance(action, KbAnswer) or event.key != action.key:
        return state, []  # a stale or foreign result
    lang = _lang(menu, state)
    if event.entry is not None and event.text and event.text.strip():
        state = replace(_record(state, KB_NODE, str(event.entry), event.t), waiting="played", pending=action.then)
        return state, [SetVars({C.V_PATH: state.path_text()}), Speak(event.text, lang), KbUsed(event.entry)]
    state = replace(_record(state, KB_NODE, KB_FALLBACK, event.t), waiting="played", pending=action.then)
    return state, [SetVars({C.V_PATH: state.path_text()}), Play(action.fallback, lang)]


def _clean(digits: str) -> str:
    """Keep the path readable and bounded whatever the caller pressed."""
    return "".join(c for c in digits if c in "0123456789*#")[:16]


def _record(state: State, node: str, label: str, t: float) -> State:
    return replace(state, path=state.path + (Step(node, label, t),))


def _apply(menu: Menu, state: State, action: Action) -> tuple[State, list[Command]]:
    if isinstance(action, SetLanguage):
        lang = action.language
        if lang == "default":
            lang = state.remembered or menu.default_language
        return _apply(menu, replace(state, language=lang), action.then)
    if isinstance(action, Goto):
        return _enter(menu, state, action.node)
    if isinstance(action, Say):
        state = replace(state, waiting="played", pending=action.then)
        return state, [SetVars(_vars(menu, state)), Play(action.prompt, _lang(menu, state))]
    if isinstance(action, KbAnswer):
        state = replace(state, waiting="kb", pending=action)
        return state, [SetVars(_vars(menu, state)), LookUpKb(action.key, _lang(menu, state))]
    if isinstance(action, TicketStatus):
        state = replace(state, waiting="ticket", pending=action.then)
        return state, [SetVars(_vars(menu, state)),
                       Ask("ticket_ask", _lang(menu, state), 10.0, MAX_TICKET_DIGITS)]
    return _finish(menu, state, action)


def _vars(menu: Menu, state: State) -> dict[str, str]:
    return {C.V_PATH: state.path_text(), C.V_LANG: _lang(menu, state)}


def _enter(menu: Menu, state: State, node_id: str) -> tuple[State, list[Command]]:
    state = replace(state, node=node_id, tries=0, waiting="digit")
    cmds: list[Command] = []
    if state.path:
        cmds.append(SetVars(_vars(menu, state)))
    cmds.append(_ask(menu, state, node_id))
    return state, cmds


def _ask(menu: Menu, state: State, node_id: str) -> Ask:
    node = menu.nodes[node_id]
    return Ask(node.prompt, _lang(menu, state), node.timeout)


def _after_hours(menu: Menu, state: State, department: str) -> tuple[State, list[Command]]:
    """Closed: say so in the caller's language and take a message for the department."""
    lang = state.language or state.remembered or menu.default_language
    state = replace(state, department=department, finished=True, node=None, language=lang)
    return state, [SetVars({C.V_PATH: "", C.V_LANG: lang, C.V_DEPT: department, C.V_ACTION: "voicemail"}),
                   Play("closed", lang), Finish("voicemail", department)]


def _finish(menu: Menu, state: State, action: Action) -> tuple[State, list[Command]]:
    lang = state.language or state.remembered or menu.default_language
    if isinstance(action, ToDepartment):
        state = replace(state, department=action.department, finished=True, node=None, language=lang)
        values = {C.V_PATH: state.path_text(), C.V_LANG: lang, C.V_DEPT: action.department,
                  C.V_QUEUE: f"hl-{action.department}", C.V_ACTION: "queue"}
        if action.priority:
            values[C.V_PRIO] = PRIORITIES[action.priority]
        return state, [SetVars(values), Finish("queue", action.department)]
    if isinstance(action, Callback):
        state = replace(state, finished=True, node=None, language=lang, callback=True)
        return state, [SetVars({C.V_PATH: state.path_text(), C.V_LANG: lang, C.V_CALLBACK: "1",
                                C.V_ACTION: "hangup"}), Play("callback_ok", lang), Finish("hangup", None)]
    assert isinstance(action, Hangup)
    state = replace(state, finished=True, node=None, language=lang)
    return state, [SetVars({C.V_PATH: state.path_text(), C.V_LANG: lang, C.V_ACTION: "hangup"}),
                   Finish("hangup", None)]
