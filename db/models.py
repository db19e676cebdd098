"""Tables. Changes go through an Alembic migration in db/migrations/versions."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy import Index, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class CallRecord(Base):
    """One per call, keyed by Asterisk's linkedid (unique across nodes via systemname)."""

    __tablename__ = "call_records"

    linkedid: Mapped[str] = mapped_column(String(64), primary_key=True)
    node: Mapped[str] = mapped_column(String(64), default="")
    caller: Mapped[str] = mapped_column(Text, default="")
    caller_name: Mapped[str] = mapped_column(Text, default="")
    dialed: Mapped[str] = mapped_column(String(32), default="", index=True)
    language: Mapped[str | None] = mapped_column(String(8))
    department: Mapped[str | None] = mapped_column(String(32))
    ivr_path: Mapped[list] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    wait_seconds: Mapped[float | None] = mapped_column(Float)
    agent: Mapped[str | None] = mapped_column(String(64))
    talk_seconds: Mapped[float | None] = mapped_column(Float)
    queue: Mapped[str | None] = mapped_column(String(64))
    recording: Mapped[str | None] = mapped_column(Text)
    disposition: Mapped[str] = mapped_column(String(32), index=True)
    fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    hangup_cause: Mapped[int | None] = mapped_column(Integer)
    callback_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str] = mapped_column(Text, default="")  # the inbound channel's name
    # carrier trunks (trunks/): which trunk, what it presented, its SIP Call-ID and final response
    trunk: Mapped[str | None] = mapped_column(String(32), index=True)
    raw_caller: Mapped[str | None] = mapped_column(Text)
    raw_dialed: Mapped[str | None] = mapped_column(Text)
    sip_call_id: Mapped[str | None] = mapped_column(Text)
    sip_response: Mapped[str | None] = mapped_column(String(16))
    journal: Mapped[str] = mapped_column(Text, default="")
    transfers: Mapped[list] = mapped_column(JSON, default=list)  # the desk's transfers (journal "transfer")
    rating: Mapped[int | None] = mapped_column(Integer)  # the citizen's key after the call, 1-3 (一次一评, 0015)


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    linkedid: Mapped[str | None] = mapped_column(ForeignKey("call_records.linkedid"), unique=True)
    caller: Mapped[str] = mapped_column(Text, default="", index=True)
    dialed: Mapped[str] = mapped_column(String(32), default="", index=True)
    language: Mapped[str | None] = mapped_column(String(8))
    department: Mapped[str | None] = mapped_column(String(32), index=True)
    category: Mapped[str | None] = mapped_column(String(32))
    district: Mapped[str | None] = mapped_column(String(64), index=True)  # where the matter is (digest)
    status: Mapped[str] = mapped_column(String(32), default="new", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the closed loop (tickets/workflow.py, migration 0004)
    owner: Mapped[str | None] = mapped_column(String(64), index=True)  # the agent who took the call
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    reply: Mapped[str | None] = mapped_column(Text)  # the department's reply, or the on-the-spot answer
    satisfaction: Mapped[str | None] = mapped_column(String(32))  # satisfied | basically_satisfied | not_satisfied
    # the work order's content (tickets/content.py, migration 0014a)
    subject: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    street: Mapped[str | None] = mapped_column(String(64))
    contact_name: Mapped[str | None] = mapped_column(Text)
    callback_number: Mapped[str | None] = mapped_column(String(32))
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    urgency: Mapped[str] = mapped_column(String(16), default="normal")
    channel: Mapped[str] = mapped_column(String(16), default="phone")
    search_text: Mapped[str] = mapped_column(Text, default="")   # core/text.py terms of subject, description, address
    version: Mapped[int] = mapped_column(Integer, default=1)      # rises with every content edit
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    matter: Mapped[str | None] = mapped_column(String(64))        # the dispatch catalogue's matter type
    # hot topics (console/, migration 0015): the first ticket of the event this one was linked into
    event_of: Mapped[int | None] = mapped_column(Integer, index=True)


class TicketCall(Base):
    """The calls of a ticket: the one that opened it, and repeat calls merged into it
    (重复诉求并单). A call belongs to one ticket."""

    __tablename__ = "ticket_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    linkedid: Mapped[str] = mapped_column(String(64), unique=True)
    how: Mapped[str] = mapped_column(String(16))          # opened | merged
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    added_by: Mapped[str] = mapped_column(String(128), default="")


class TicketDraft(Base):
    """The work order an agent writes while the citizen is still on the line: kept per call
    (the ticket opens when the call's record is stored) and written into that ticket then."""

    __tablename__ = "ticket_drafts"

    linkedid: Mapped[str] = mapped_column(String(64), primary_key=True)
    author: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    agent_names: Mapped[list] = mapped_column(JSON, default=list)   # the author's line ("agent1002")
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    merge_into: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CallerPref(Base):
    """The language a caller last used on the menu (offered again as the default)."""

    __tablename__ = "caller_prefs"

    caller: Mapped[str] = mapped_column(String(64), primary_key=True)
    language: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Attachment(Base):
    """A file that belongs to a ticket: voicemail audio, a fax, a call recording."""

    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("linkedid", "kind", name="uq_attachment_call_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    linkedid: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(Text, default="")
    mime: Mapped[str] = mapped_column(String(64), default="")
    seconds: Mapped[float | None] = mapped_column(Float)
    pages: Mapped[int | None] = mapped_column(Integer)
    bytes: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="ok")
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AccessAudit(Base):
    """Every attempt to read or change a recording or message: allowed or not."""

    __tablename__ = "access_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(64), default="")
    role: Mapped[str] = mapped_column(String(16), default="")
    attachment_id: Mapped[int | None] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(32))
    allowed: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[str] = mapped_column(Text, default="")


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    # the person the token belongs to (users/); None: a role token of the days before accounts
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)


class User(Base):
    """A person who works in the centre: logs in, acts on tickets, is named in history."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)        # argon2id, with its parameters
    role: Mapped[str] = mapped_column(String(16))
    department: Mapped[str | None] = mapped_column(String(32))
    agent_id: Mapped[str | None] = mapped_column(String(8))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UserSession(Base):
    """A login: the cookie carries the id, the table only its hash."""

    __tablename__ = "user_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class ExtensionRequest(Base):
    """A department asks for more working days on a ticket; a supervisor approves or refuses
    (portal/, console/, migration 0015)."""

    __tablename__ = "extension_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    department: Mapped[str] = mapped_column(String(32), index=True)
    requested_by: Mapped[str] = mapped_column(String(128))
    days: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)   # pending | approved | refused
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)


class TicketHistory(Base):
    """Every workflow change of a ticket: who, when, what (one row per action)."""

    __tablename__ = "ticket_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class AgentStateRow(Base):
    """The last persisted routing state of an agent: what survives an engine restart.
    Ringing/talking are not kept (Asterisk owns live calls); login and pause are."""

    __tablename__ = "agent_states"

    agent_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    since: Mapped[float] = mapped_column(Float)
    misses: Mapped[int] = mapped_column(Integer, default=0)


class AgentClaimRow(Base):
    """Which node's engine may ring an agent now (cluster/, docs/cluster.md): one row per
    agent, taken before an offer, kept through the call and its wrap-up, renewed while the
    call lasts; a row whose `until` has passed is free (its engine died or moved on)."""

    __tablename__ = "agent_claims"

    agent_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    node: Mapped[str] = mapped_column(String(32))
    linkedid: Mapped[str] = mapped_column(String(64))
    until: Mapped[float] = mapped_column(Float)


class EventRow(Base):
    """The append-only event log: calls, queue and agent state changes. Live figures and
    history both read it (reports/)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    linkedid: Mapped[str | None] = mapped_column(String(64), index=True)
    agent: Mapped[str | None] = mapped_column(String(16))
    department: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(8))
    data: Mapped[dict] = mapped_column(JSON, default=dict)


class KbEntry(Base):
    """A knowledge-base answer agents read out (and count when they do). `search_text` holds
    the entry's search terms (tickets/kb.py) so that Chinese search works the same on both
    databases."""

    __tablename__ = "kb_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    department: Mapped[str] = mapped_column(String(32), index=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    keywords: Mapped[str] = mapped_column(Text, default="")
    search_text: Mapped[str] = mapped_column(Text, default="")
    uses: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProviderSuspension(Base):
    """A member service provider (a department marked `provider`) suspended after three
    "not satisfied" follow-ups in a row; lifted by a supervisor."""

    __tablename__ = "provider_suspensions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    department: Mapped[str] = mapped_column(String(32), index=True)
    suspended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text, default="")
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lifted_by: Mapped[str | None] = mapped_column(String(64))


class AgentRow(Base):
    """An agent of the directory: the ACD's candidates and the PJSIP endpoints are rendered
    from these rows. Removing an agent keeps the row (active = false) so that reports and
    ticket owners still resolve."""

    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    line: Mapped[str] = mapped_column(String(16), default="sip")
    skills: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(64), default="")


class AgentDirectoryRow(Base):
    """One row whose generation rises with every directory change; engines poll it."""

    __tablename__ = "agent_directory"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(Integer)


# one open (scheduled or calling) survey per ticket, whatever races the engines run
OPEN_SURVEY = text("state IN ('scheduled', 'calling')")


class SurveyCall(Base):
    """The satisfaction survey of a ticket: its calls, their outcome, the next try. A row,
    not a task, so that a restart finds what is due or under way (tickets/survey.py)."""

    __tablename__ = "survey_calls"
    __table_args__ = (Index("uq_survey_open_ticket", "ticket_id", unique=True,
                            sqlite_where=OPEN_SURVEY, postgresql_where=OPEN_SURVEY),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)   # tickets/survey_schedule.py STATES
    reason: Mapped[str] = mapped_column(String(16))              # answered | informed | manual
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    call_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # the current/last call
    called_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    result: Mapped[str | None] = mapped_column(String(64))  # satisfaction, or the last attempt's outcome
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PriorityCallerRow(Base):
    """A citizen registered for priority (elderly or disabled): their calls wait in the
    elderly/disabled class instead of the normal one."""

    __tablename__ = "priority_callers"

    number: Mapped[str] = mapped_column(String(20), primary_key=True)
    reason: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    added_by: Mapped[str] = mapped_column(String(64), default="")
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
