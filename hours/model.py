"""Frozen configuration of the business calendar. No logic beyond formatting."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FALLBACK_RULES = ("weekdays",)  # Mon-Fri working, Sat/Sun not, no holidays


@dataclass(frozen=True, order=True)
class Span:
    """[start, end) in minutes after midnight; end may be 1440 so a day can end at 24:00,
    which datetime.time cannot express."""
    start: int
    end: int

    def __str__(self) -> str:
        return f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"


Spans = tuple[Span, ...]
ALL_DAY: Spans = (Span(0, 1440),)


@dataclass(frozen=True)
class WeeklyHours:
    """`working[i]`: hours on a working day that falls on weekday i (Mon=0). A make-up
    working day on a Saturday uses working[5], so the loader fills all seven entries.
    `rest`: hours on days that are not working days (weekends, holidays)."""
    working: tuple[Spans, ...] = (ALL_DAY,) * 7
    rest: Spans = ALL_DAY

    def spans(self, weekday: int, working: bool) -> Spans:
        return self.working[weekday] if working else self.rest

    @property
    def always(self) -> bool:
        return all(s == ALL_DAY for s in self.working) and self.rest == ALL_DAY


ROUND_THE_CLOCK = WeeklyHours()


@dataclass(frozen=True)
class Override:
    """A local decision about one date; beats chinese-calendar."""
    day: date
    working: bool
    name: str


@dataclass(frozen=True)
class Closure:
    """One-off closure [start, end). Naive datetimes are in the calendar's timezone.
    `departments` empty means everything, the centre included."""
    start: datetime
    end: datetime
    reason: str
    departments: tuple[str, ...] = ()

    def applies_to(self, department: str | None) -> bool:
        return not self.departments or department in self.departments


@dataclass(frozen=True)
class Calendar:
    centre: WeeklyHours = ROUND_THE_CLOCK  # 12345 answers 24/7, holidays included
    departments: dict[str, WeeklyHours] = field(default_factory=dict)  # missing: centre hours
    overrides: tuple[Override, ...] = ()
    closures: tuple[Closure, ...] = ()
    timezone: str = "Asia/Shanghai"
    fallback: str = "weekdays"
    # Years whose official schedule ops typed in as overrides because chinese-calendar lags
    # behind the State Council notice: no fallback warning for them.
    local_years: tuple[int, ...] = ()

    def override(self, day: date) -> Override | None:
        for o in self.overrides:
            if o.day == day:
                return o
        return None
