"""What the centre may dial out, pure: the outbound side is where toll fraud happens.

A number is dialled only if it is digits in national form, is not international (`00`),
premium-rate or a short code, matches one of the allow-list patterns (Asterisk extension
pattern syntax, which ops know: `_1[3-9]XXXXXXXXX`), and its destination has not had its
attempts for the day; concurrent outbound calls are capped too. The refusals come first:
no allow pattern can open an international or premium-rate number.

`Ledger` holds the counts (attempts per destination per day, calls under way) and is fed
by the caller; nothing here reads a clock.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from trunks.errors import TrunkInvalid

MOBILE = "_1[3-9]XXXXXXXXX"
LOCAL_FIXED = "_[2-8]XXXXXXX"          # a local fixed line without area code (8 digits)
DEFAULT_PREMIUM = ("168", "160", "1259", "17909")   # information services, paid voice services
INTERNATIONAL = "00"

# reasons (stable ids, on events and in OutboundRefused.details)
NOT_DIGITS, INTERNATIONAL_R, PREMIUM, SHORT, NOT_ALLOWED, DAILY_CAP, CONCURRENT_CAP = (
    "not-digits", "international", "premium-rate", "short-code", "not-allowed", "daily-cap", "concurrent-cap")


def pattern_regex(pattern: str) -> str:
    """Asterisk extension pattern -> anchored regex. Only digits, X Z N, [classes], `.`
    (one or more) and `!` (zero or more) after the leading `_`; or plain digits."""
    if re.fullmatch(r"[0-9]{1,20}", pattern):
        return f"^{pattern}$"
    if not pattern.startswith("_") or len(pattern) < 2:
        raise TrunkInvalid(f"outbound pattern {pattern!r}: must be digits or start with _ (Asterisk syntax)")
    out, i, body = [], 0, pattern[1:]
    while i < len(body):
        c = body[i].upper()
        if c.isdigit():
            out.append(c)
        elif c in "XZN":
            out.append({"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]"}[c])
        elif c == "[":
            end = body.find("]", i)
            cls = body[i + 1:end] if end > i else ""
            if end < 0 or not re.fullmatch(r"[0-9](-[0-9])?([0-9](-[0-9])?)*", cls):
                raise TrunkInvalid(f"outbound pattern {pattern!r}: a [class] holds digits and ranges only")
            out.append(f"[{cls}]")
            i = end
        elif c == "." and i == len(body) - 1:
            out.append("[0-9]+")
        elif c == "!" and i == len(body) - 1:
            out.append("[0-9]*")
        else:
            raise TrunkInvalid(f"outbound pattern {pattern!r}: {body[i]!r} is not pattern syntax "
                               "(digits, X, Z, N, [0-9], a final . or !)")
        i += 1
    return "^" + "".join(out) + "$"


@dataclass(frozen=True)
class OutboundPolicy:
    allow: tuple[str, ...] = (MOBILE, LOCAL_FIXED)
    premium_prefixes: tuple[str, ...] = DEFAULT_PREMIUM
    min_length: int = 7               # shorter is a short code (110, 12345, 95xxx, 10086)
    max_concurrent: int = 10
    max_attempts_per_day: int = 3
    ring_seconds: int = 30
    _compiled: tuple = field(default=(), compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "_compiled", tuple(re.compile(pattern_regex(p)) for p in self.allow))

    def regexes(self) -> tuple[str, ...]:
        return tuple(pattern_regex(p) for p in self.allow)

    def shape(self, number: str) -> str | None:
        """Refusal reason from the number alone (None: it may be dialled)."""
        if not isinstance(number, str) or not re.fullmatch(r"[0-9]{1,20}", number):
            return NOT_DIGITS
        if number.startswith(INTERNATIONAL):
            return INTERNATIONAL_R
        if any(number.startswith(p) for p in self.premium_prefixes):
            return PREMIUM
        if len(number) < self.min_length:
            return SHORT
        if not any(r.match(number) for r in self._compiled):
            return NOT_ALLOWED
        return None


@dataclass
class Ledger:
    """Attempts per (destination, day) and calls under way (number -> count, with the time
    each began so that a call whose end was never reported stops counting)."""
    attempts: dict[tuple[str, str], int] = field(default_factory=dict)
    active: dict[str, list[float]] = field(default_factory=dict)
    stale_after: float = 7200.0

    def in_flight(self, now: float) -> int:
        for number in list(self.active):
            self.active[number] = [t for t in self.active[number] if now - t < self.stale_after]
            if not self.active[number]:
                del self.active[number]
        return sum(len(v) for v in self.active.values())

    def attempted(self, number: str, day: str) -> None:
        self.attempts[(number, day)] = self.attempts.get((number, day), 0) + 1
        # yesterday's counts are no longer asked for
        for key in [k for k in self.attempts if k[1] < day]:
            del self.attempts[key]

    def began(self, number: str, now: float) -> None:
        self.active.setdefault(number, []).append(now)

    def ended(self, number: str) -> None:
        if self.active.get(number):
            self.active[number].pop(0)
            if not self.active[number]:
                del self.active[number]


def decide(policy: OutboundPolicy, ledger: Ledger, number: str, day: str, now: float) -> str | None:
    """None when the number may be dialled now, else the refusal reason."""
    why = policy.shape(number)
    if why:
        return why
    if ledger.attempts.get((number, day), 0) >= policy.max_attempts_per_day:
        return DAILY_CAP
    if ledger.in_flight(now) >= policy.max_concurrent:
        return CONCURRENT_CAP
    return None


def load(table: dict, area_code: str | None = None) -> OutboundPolicy:
    """The centre file's [outbound] table (every key optional). With an area code, local
    fixed lines written with it (0 + area + 8 digits) are allowed by default too."""
    if not isinstance(table, dict):
        raise TrunkInvalid("[outbound] must be a table")
    known = {"allow", "premium_prefixes", "min_length", "max_concurrent", "max_attempts_per_day", "ring_seconds"}
    unknown = set(table) - known
    if unknown:
        raise TrunkInvalid(f"[outbound]: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    default_allow = (MOBILE, LOCAL_FIXED) + ((f"_0{area_code}[2-8]XXXXXXX",) if area_code else ())
    allow = table.get("allow", list(default_allow))
    prem = table.get("premium_prefixes", list(DEFAULT_PREMIUM))
    if not isinstance(allow, list) or not allow or not all(isinstance(p, str) for p in allow):
        raise TrunkInvalid("[outbound] allow: a non-empty list of patterns such as \"_1[3-9]XXXXXXXXX\"")
    if not isinstance(prem, list) or not all(isinstance(p, str) and re.fullmatch(r"[0-9]{2,10}", p) for p in prem):
        raise TrunkInvalid("[outbound] premium_prefixes: a list of 2-10 digit prefixes")
    ints = {}
    for key, lo, hi, default in (("min_length", 3, 20, 7), ("max_concurrent", 1, 1000, 10),
                                 ("max_attempts_per_day", 1, 100, 3), ("ring_seconds", 5, 120, 30)):
        v = table.get(key, default)
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            raise TrunkInvalid(f"[outbound] {key}: an integer {lo}-{hi}, got {v!r}")
        ints[key] = v
    for p in allow:
        pattern_regex(p)   # raises with the pattern named
    return OutboundPolicy(allow=tuple(allow), premium_prefixes=tuple(prem), **ints)
