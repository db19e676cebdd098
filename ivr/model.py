"""The menu as data: nodes with a prompt, options, timeout and retries, per entry number.

Menus live in TOML files (ivr/flows/<number>.toml, see loader.py); department numbers
without a file go straight to their department.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from core.contract import KB_KEY, LANGUAGES  # noqa: F401 - the menu model's vocabulary

PRIORITIES = {"emergency": "0", "elderly": "1"}   # menu word -> HL_PRIO class (acd/model.py)


@dataclass(frozen=True)
class Goto:
    node: str


@dataclass(frozen=True)
class SetLanguage:
    language: str                # a language, or "default": remembered, else the fallback
    then: "Action"


@dataclass(frozen=True)
class ToDepartment:
    department: str
    priority: str | None = None   # "emergency" | "elderly": the ACD's priority class (HL_PRIO)


@dataclass(frozen=True)
class Say:
    prompt: str
    then: "Action"


@dataclass(frozen=True)
class KbAnswer:
    """Read out the knowledge base's answer for `key` in the caller's language; `fallback`
    (a menu prompt) is said instead when there is none or the knowledge base is away."""
    key: str
    fallback: str
    then: "Action"


@dataclass(frozen=True)
class TicketStatus:
    then: "Action"


@dataclass(frozen=True)
class Callback:
    pass


@dataclass(frozen=True)
class Hangup:
    pass


Action = Goto | SetLanguage | ToDepartment | Say | KbAnswer | TicketStatus | Callback | Hangup
TERMINAL = (ToDepartment, Callback, Hangup)


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
class Prompt:
    """Text per language; `voices` is a multi-voice prompt (the same in every language)."""
    id: str
    texts: dict[str, str] = field(default_factory=dict)
    voices: tuple[tuple[str, str], ...] = ()

    def segments(self, language: str) -> list[tuple[str, str]] | None:
        if self.voices:
            return list(self.voices)
        text = self.texts.get(language)
        return [(language, text)] if text else None


@dataclass(frozen=True)
class Menu:
    nodes: dict[str, Node]
    entries: dict[str, Entry]
    operator: str                # department that "0" reaches from anywhere
    prompts: dict[str, Prompt] = field(default_factory=dict)
    templates: dict[str, dict[str, str]] = field(default_factory=dict)
    default_language: str = "cmn"
    max_depth: int = 3
    max_steps: int = 12          # inputs per call before a person takes over (no trap)
    version: str = ""
