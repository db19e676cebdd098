"""When a satisfaction survey call may happen and what each attempt leads to. Pure: no I/O,
no clock (the caller passes `now`), so the rules are tested without sockets or sleeps.

A survey row (table survey_calls) moves like this:

    scheduled --picked when due--> calling --key 1/2/3--> done
        ^                             |
        |   no answer / no key,       +--no answer (OriginateResponse failure, or no
        +-- attempts left <-----------+  answer before the call timeout) / no key
                                      |
                                      +--no attempts left--> no_answer | no_key
                                                            (GET /api/v1/followups)
    scheduled | calling --ticket moved on without the survey--> cancelled
    scheduled | calling --the ticket cannot be surveyed (no owner, number)--> failed

A ticket has at most one open (scheduled or calling) survey; the database enforces it.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hours.model import Spans
from hours.window import allowed_at, in_hours  # noqa: F401 - part of this module's rules

from surveys.config import SurveyConfig

SCHEDULED, CALLING, DONE = "scheduled", "calling", "done"
NO_ANSWER, NO_KEY, FAILED, CANCELLED = "no_answer", "no_key", "failed", "cancelled"
STATES = (SCHEDULED, CALLING, DONE, NO_ANSWER, NO_KEY, FAILED, CANCELLED)
OPEN = (SCHEDULED, CALLING)
EXHAUSTED = (NO_ANSWER, NO_KEY)          # a person has to call: the followups list
SURVEYED = frozenset({"answered", "informed"})   # the ticket statuses a survey follows
SURVEY_NOTE = "survey call"              # the note of a follow-up the survey call recorded


def first_due(reached_at: datetime, cfg: SurveyConfig, tz: ZoneInfo) -> datetime:
    """When the first call is due for a ticket answered or informed at `reached_at`."""
    return allowed_at(reached_at + timedelta(minutes=cfg.delay_minutes), cfg.hours, tz)


def after_attempt(attempts: int, outcome: str, now: datetime, cfg: SurveyConfig,
                  tz: ZoneInfo) -> tuple[str, datetime | None]:
    """(state, next due) after the `attempts`-th call ended with no_answer or no_key:
    another try later, or the outcome itself once every attempt is used."""
    if outcome not in EXHAUSTED:
        raise ValueError(f"not a retryable outcome: {outcome!r}")
    if attempts >= cfg.max_attempts:
        return outcome, None
    return SCHEDULED, allowed_at(now + timedelta(minutes=cfg.retry_minutes), cfg.hours, tz)


def on_transition(from_status: str, to_status: str, action: str, note: str | None) -> str | None:
    """What a ticket's workflow change means for its survey: "schedule" (it has just been
    answered or its caller informed), "done" (the survey call's own follow-up), "cancel"
    (it moved on otherwise: an agent recorded the follow-up, or closed it) or None."""
    if to_status in SURVEYED and from_status != to_status:
        return "schedule"
    if from_status in SURVEYED and to_status != from_status:
        return "done" if action == "follow_up" and note == SURVEY_NOTE else "cancel"
    return None
