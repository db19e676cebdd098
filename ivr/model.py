"""The menu as data: nodes with a prompt, options, timeout and retries.

For now the menu is derived from the centre file (language choice, then department);
menu files per entry number (issue: IVR) will load into the same model.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hotline.settings import Centre


@dataclass(frozen=True)
class Goto:
    node: str


@dataclass(frozen=True)
class SetLanguage:
    language: str
    then: "Action"


@dataclass(frozen=True)
class ToDepartment:
    department: str


@dataclass(frozen=True)
class Hangup:
    pass


Action = Goto | SetLanguage | ToDepartment | Hangup


@dataclass(frozen=True)
class Node:
    id: str
    prompt: str                  # prompt id, looked up per language
    options: dict[str, Action]
    timeout: float = 5.0         # seconds to wait for a digit after the prompt
    retries: int = 2             # prompts replayed after timeout or invalid input
    on_timeout: Action = field(default_factory=Hangup)
    on_invalid: Action | None = None  # None: same as on_timeout


@dataclass(frozen=True)
class Entry:
    number: str
    start: str | None            # first node; None: straight to the department
    department: str | None
    language: str | None         # preset language (None: caller chooses)


@dataclass(frozen=True)
class Menu:
    nodes: dict[str, Node]
    entries: dict[str, Entry]
    operator: str                # department that "0" reaches from anywhere
    default_language: str = "cmn"
    max_depth: int = 3


def from_centre(centre: Centre) -> Menu:
    operator = centre.fallback_department
    dept_options: dict[str, Action] = {d.digit: ToDepartment(d.code) for d in centre.departments}
    nodes = {
        "lang": Node("lang", "welcome",
                     {"1": SetLanguage("cmn", Goto("dept")), "2": SetLanguage("yue", Goto("dept")),
                      "3": SetLanguage("en", Goto("dept"))},
                     timeout=4.0, retries=1, on_timeout=SetLanguage("cmn", Goto("dept"))),
        "dept": Node("dept", "departments", dept_options, timeout=5.0, retries=2,
                     on_timeout=ToDepartment(operator)),
    }
    entries = {}
    for number, dep in centre.entry_numbers().items():
        if dep is None:
            entries[number] = Entry(number, "lang", None, None)
        else:
            entries[number] = Entry(number, None, dep.code, "cmn")
    return Menu(nodes=nodes, entries=entries, operator=operator)
