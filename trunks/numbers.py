"""Numbers on a trunk, pure: the dialled number -> the entry number it reaches, and the
caller's number -> its national form (the raw value is always kept beside it).

The caller rules are data shared with the dialplan: asterisk_conf renders the same RULES
into the trunk's inbound context (Asterisk's `=~` gives the first group, as `re` does), so
a call is normalised the same way whether or not the engine is up, and the unit tests of
this module describe what the dialplan does.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

ANONYMOUS = "anonymous"   # a withheld number: recorded so, never called back
UNKNOWN = "unknown"       # a caller ID that is not a number at all (the raw value says what came)
# what carriers put in the user part of a withheld caller (compared lowercased)
WITHHELD = ("", "anonymous", "unknown", "unavailable", "restricted", "private", "withheld")
COUNTRY = "86"


@dataclass(frozen=True)
class Rule:
    """`pattern` (anchored, one group) matched on the raw number; the national form is
    `prepend` + the group. Patterns use only [0-9+], classes, groups and {n} / {m,n}."""
    pattern: str
    prepend: str
    why: str


RULES: tuple[Rule, ...] = (
    Rule(r"^[+]86(1[3-9][0-9]{9})$", "", "+86 mobile"),
    Rule(r"^[+]86([1-9][0-9]{6,10})$", "0", "+86 fixed line: trunk prefix 0 before the area code"),
    Rule(r"^0086(1[3-9][0-9]{9})$", "", "0086 mobile"),
    Rule(r"^0086([1-9][0-9]{6,10})$", "0", "0086 fixed line"),
    Rule(r"^86(1[3-9][0-9]{9})$", "", "country code without + before a mobile"),
    Rule(r"^0(1[3-9][0-9]{9})$", "", "trunk prefix 0 before a mobile"),
    Rule(r"^[+]([1-9][0-9]{5,14})$", "00", "a foreign number, as dialled from China"),
    Rule(r"^([0-9]{3,20})$", "", "already national"),
)
_RULES = tuple((re.compile(r.pattern), r.prepend) for r in RULES)
_DIALLED = re.compile(r"[+]?[0-9]{1,20}")


@dataclass(frozen=True)
class Caller:
    number: str          # national form, `anonymous` or `unknown`
    raw: str             # exactly what the trunk presented
    withheld: bool = False

    @property
    def callable(self) -> bool:
        """Whether a callback may be offered (withheld and non-numbers never)."""
        return self.number.isdigit()


def caller(raw: str, presentation: str = "allowed") -> Caller:
    """The national form of a caller number as the trunk presented it. `presentation` is
    Asterisk's CALLERID(pres): a number whose presentation is prohibited is withheld."""
    if (raw.isascii() and raw.lower() in WITHHELD) or presentation.lower().startswith("prohib"):
        return Caller(ANONYMOUS, raw, withheld=True)
    for pattern, prepend in _RULES:
        m = pattern.match(raw)
        if m:
            return Caller(prepend + m.group(1), raw)
    return Caller(UNKNOWN, raw)


def map_key(dialled: str) -> str | None:
    """The dialplan global's suffix for a dialled number ('+' is not a name character):
    '+862112345' -> 'p862112345'; None when it is not a dialled number at all."""
    if not _DIALLED.fullmatch(dialled):
        return None
    return dialled.replace("+", "p")


def entry_for(dialled: str, maps: dict[str, str]) -> str | None:
    """The entry number a dialled number reaches on a trunk (maps: dialled -> entry, the
    entry numbers themselves included), or None: the call is refused as unallocated."""
    if not _DIALLED.fullmatch(dialled):
        return None
    return maps.get(dialled)


def forms(entry: str, area_code: str | None) -> list[str]:
    """How carriers present an entry number of the centre's city: 12345, 02112345,
    +862112345, 00862112345, 862112345 (the last four only with an area code)."""
    out = [entry]
    if area_code:
        out += [f"0{area_code}{entry}", f"+{COUNTRY}{area_code}{entry}", f"00{COUNTRY}{area_code}{entry}",
                f"{COUNTRY}{area_code}{entry}"]
    return out
