"""The IVR as a pure state machine: step(menu, state, event) -> (state, commands).

No sockets, no clock: the runner feeds digits and timeouts with their timestamps and
executes the commands on a channel. Every input is kept on the path, so the call record
shows the walk and containment can be measured.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from .model import Action, Goto, Hangup, Menu, SetLanguage, ToDepartment


# -- events ---------------------------------------------------------------------
@dataclass(frozen=True)
class Started:
    entry: str
    t: float


@dataclass(frozen=True)
class Input:
    digits: str   # "" means the caller pressed nothing before the timeout
    t: float


# -- commands -------------------------------------------------------------------
@dataclass(frozen=True)
class Ask:
    prompt: str
    language: str
    timeout: float
    max_digits: int = 1


@dataclass(frozen=True)
class SetVars:
    values: dict[str, str]


@dataclass(frozen=True)
class Finish:
    action: str                 # "queue" | "hangup"
    department: str | None


Command = Ask | SetVars | Finish


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
    department: str | None = None
    path: tuple[Step, ...] = ()
    tries: int = 0
    depth: int = 0
    finished: bool = False

    def path_text(self) -> str:
        return ",".join(f"{s.node}:{s.input}@{s.t:.3f}" for s in self.path)


def start(menu: Menu, event: Started) -> tuple[State, list[Command]]:
    entry = menu.entries.get(event.entry)
    if entry is None:  # a number the menu does not know: a person takes it
        return _finish(State(entry=event.entry, language=menu.default_language), ToDepartment(menu.operator))
    state = State(entry=entry.number, language=entry.language)
    if entry.start is None:
        return _finish(state, ToDepartment(entry.department or menu.operator))
    return _enter(menu, state, entry.start)


def step(menu: Menu, state: State, event: Input) -> tuple[State, list[Command]]:
    if state.finished or state.node is None:
        return state, []
    node = menu.nodes[state.node]
    digit = event.digits[:1]
    if digit == "0" and "0" not in node.options:
        state = _record(state, node.id, "0", event.t)
        return _finish(state, ToDepartment(menu.operator))
    if digit and digit in node.options:
        state = _record(state, node.id, digit, event.t)
        return _apply(menu, state, node.options[digit])
    label = "t" if not event.digits else "!" + _clean(event.digits)
    state = _record(state, node.id, label, event.t)
    if state.tries < node.retries:
        state = replace(state, tries=state.tries + 1)
        return state, [SetVars({"HL_PATH": state.path_text()}), _ask(menu, state, node.id)]
    fallback = node.on_timeout if not event.digits else (node.on_invalid or node.on_timeout)
    return _apply(menu, state, fallback)


def _clean(digits: str) -> str:
    """Keep the path readable and bounded whatever the caller pressed."""
    return "".join(c for c in digits if c in "0123456789*#")[:16]


def _record(state: State, node: str, label: str, t: float) -> State:
    return replace(state, path=state.path + (Step(node, label, t),))


def _apply(menu: Menu, state: State, action: Action) -> tuple[State, list[Command]]:
    if isinstance(action, SetLanguage):
        return _apply(menu, replace(state, language=action.language), action.then)
    if isinstance(action, Goto):
        if state.depth >= menu.max_depth:
            return _finish(state, ToDepartment(menu.operator))
        return _enter(menu, state, action.node)
    return _finish(state, action)


def _enter(menu: Menu, state: State, node_id: str) -> tuple[State, list[Command]]:
    state = replace(state, node=node_id, tries=0, depth=state.depth + 1)
    cmds: list[Command] = []
    if state.path:
        cmds.append(SetVars({"HL_PATH": state.path_text(), "HL_LANG": state.language or menu.default_language}))
    cmds.append(_ask(menu, state, node_id))
    return state, cmds


def _ask(menu: Menu, state: State, node_id: str) -> Ask:
    node = menu.nodes[node_id]
    return Ask(node.prompt, state.language or menu.default_language, node.timeout)


def _finish(state: State, action: Action) -> tuple[State, list[Command]]:
    lang = state.language or "cmn"
    if isinstance(action, ToDepartment):
        state = replace(state, department=action.department, finished=True, node=None, language=lang)
        values = {"HL_PATH": state.path_text(), "HL_LANG": lang, "HL_DEPT": action.department,
                  "HL_QUEUE": f"hl-{action.department}", "HL_ACTION": "queue"}
        return state, [SetVars(values), Finish("queue", action.department)]
    assert isinstance(action, Hangup)
    state = replace(state, finished=True, node=None, language=lang)
    return state, [SetVars({"HL_PATH": state.path_text(), "HL_LANG": lang, "HL_ACTION": "hangup"}),
                   Finish("hangup", None)]
