"""Accounts, logins and sessions (tables users, user_sessions) and the tokens that belong to a
person (api_tokens.user_id). Session ids and tokens are stored as SHA-256 hashes only: a copy
of the database logs nobody in."""
from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from core.errors import BadRequest, Conflict, HotlineError, NotFound, Unauthorized
from db.database import Database, _iso
from db.models import ApiToken, User, UserSession
from web.app import ROLES, Identity

from users import passwords

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
AGENT_ID = re.compile(r"[0-9]{3,8}")
DEPARTMENT = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
MAX_FAILURES = 5
LOCK_MINUTES = 15
SESSION_HOURS = 12   # one shift; then the person logs in again


class LoginFailed(Unauthorized):
    id = "login-failed"


class AccountLocked(HotlineError):
    id, status = "account-locked", 423


class UserExists(Conflict):
    id = "user-exists"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _aware(dt: datetime | None) -> datetime | None:
    if dt is not None and dt.tzinfo is None:   # SQLite gives naive UTC back
        return dt.replace(tzinfo=UTC)
    return dt


def identity(u: User, session: str | None = None, csrf: str | None = None) -> Identity:
    return Identity(role=u.role, name=u.username, user_id=u.id, agent_id=u.agent_id, department=u.department,
                    session=session, csrf=csrf)


def _json(u: User, now: datetime) -> dict:
    locked = _aware(u.locked_until)
    return {"id": u.id, "username": u.username, "role": u.role, "agent_id": u.agent_id,
            "department": u.department, "disabled": bool(u.disabled), "failed_attempts": u.failed_attempts,
            "locked_until": _iso(locked) if locked and locked > now else None,
            "created_at": _iso(u.created_at), "password_changed_at": _iso(u.password_changed_at)}


class UserStore:
    def __init__(self, db: Database, clock: Callable[[], datetime] = lambda: datetime.now(UTC), *,
                 max_failures: int = MAX_FAILURES, lock_minutes: float = LOCK_MINUTES,
                 session_hours: float = SESSION_HOURS):
        self.db, self.clock = db, clock
        self.max_failures, self.lock_minutes, self.session_hours = max_failures, lock_minutes, session_hours

    # -- accounts -------------------------------------------------------------------
    @staticmethod
    def validate(username: str, role: str, agent_id: str | None, department: str | None) -> None:
        if not isinstance(username, str) or not USERNAME.fullmatch(username):
            raise BadRequest("a username is 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter "
                             "or digit")
        if role not in ROLES:
            raise BadRequest(f"role must be one of {', '.join(ROLES)}")
        if agent_id is not None and not AGENT_ID.fullmatch(agent_id):
            raise BadRequest("an agent id is 3-8 digits")
        if department is not None and not DEPARTMENT.fullmatch(department):
            raise BadRequest("a department code is a-z, 0-9, _ or -, at most 32")
        if role == "agent" and agent_id is None:
            raise BadRequest("an agent needs --agent <agent id>: the line their calls come to")
        if role == "department" and department is None:
            raise BadRequest("a department's person needs --department <code>")

    async def add(self, username: str, password: str, role: str, *, agent_id: str | None = None,
                  department: str | None = None) -> dict:
        self.validate(username, role, agent_id, department)
        passwords.check_new(password, username)
        hashed = await passwords.hash_password(password)
        now = self.clock()
        try:
            async with self.db.sessions.begin() as s:
                u = User(username=username, password_hash=hashed, role=role, agent_id=agent_id,
                         department=department, disabled=False, failed_attempts=0, created_at=now,
                         password_changed_at=now)
                s.add(u)
                await s.flush()
                return _json(u, now)
        except IntegrityError:
            raise UserExists(f"user {username} exists") from None

    async def users(self) -> list[dict]:
        now = self.clock()
        async with self.db.sessions() as s:
            return [_json(u, now) for u in (await s.scalars(select(User).order_by(User.username))).all()]

    async def user(self, username: str) -> dict:
        async with self.db.sessions() as s:
            u = await s.scalar(select(User).where(User.username == username))
        if u is None:
            raise NotFound(f"no user {username}")
        return _json(u, self.clock())

    async def _set(self, username: str, **values) -> dict:
        async with self.db.sessions.begin() as s:
            u = await s.scalar(select(User).where(User.username == username))
            if u is None:
                raise NotFound(f"no user {username}")
            for k, v in values.items():
                setattr(u, k, v)
            await s.execute(delete(UserSession).where(UserSession.user_id == u.id))
            await s.flush()
            return _json(u, self.clock())

    async def disable(self, username: str) -> dict:
        """No more logins; open sessions end now and the person's tokens stop working."""
        return await self._set(username, disabled=True)

    async def enable(self, username: str) -> dict:
        return await self._set(username, disabled=False, failed_attempts=0, locked_until=None)

    async def reset(self, username: str, password: str) -> dict:
        """A new password set by ops (the person forgot theirs or was locked out): unlocks
        the account, ends its sessions."""
        passwords.check_new(password, username)
        hashed = await passwords.hash_password(password)
        return await self._set(username, password_hash=hashed, failed_attempts=0, locked_until=None,
                               password_changed_at=self.clock())

    # -- logging in -----------------------------------------------------------------
    async def login(self, username: str, password: str) -> tuple[str, Identity]:
        """(session id for the cookie, who) or LoginFailed / AccountLocked. Five wrong
        passwords in a row lock the account for a while; a right one resets the count."""
        now = self.clock()
        async with self.db.sessions() as s:
            u = await s.scalar(select(User).where(User.username == username)) if isinstance(username, str) else None
        if u is not None and _aware(u.locked_until) and _aware(u.locked_until) > now:
            raise AccountLocked(f"too many wrong passwords: the account is locked until "
                                f"{_aware(u.locked_until).isoformat(timespec='minutes')} (ops can reset it)")
        ok = await passwords.verify(u.password_hash if u else None, password if isinstance(password, str) else "")
        if u is None or u.disabled:
            raise LoginFailed("wrong username or password")
        if not ok:
            locked = None
            async with self.db.sessions.begin() as s:
                await s.execute(update(User).where(User.id == u.id)
                                .values(failed_attempts=User.failed_attempts + 1))
                failures = await s.scalar(select(User.failed_attempts).where(User.id == u.id))
                if failures >= self.max_failures:
                    locked = now + timedelta(minutes=self.lock_minutes)
                    await s.execute(update(User).where(User.id == u.id).values(failed_attempts=0,
                                                                               locked_until=locked))
            if locked is not None:   # raised after the commit: the lock must be written
                raise AccountLocked(f"{failures} wrong passwords: the account is locked until "
                                    f"{locked.isoformat(timespec='minutes')} (ops can reset it)")
            raise LoginFailed("wrong username or password")
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        rehash = await passwords.hash_password(password) if passwords.needs_rehash(u.password_hash) else None
        async with self.db.sessions.begin() as s:
            values = {"failed_attempts": 0, "locked_until": None}
            if rehash:
                values["password_hash"] = rehash
            await s.execute(update(User).where(User.id == u.id).values(**values))
            await s.execute(delete(UserSession).where(UserSession.expires_at < now))
            s.add(UserSession(id_hash=_hash(sid), user_id=u.id, csrf=csrf, created_at=now,
                              expires_at=now + timedelta(hours=self.session_hours)))
        return sid, identity(u, _hash(sid), csrf)

    async def by_session(self, session_id: str) -> Identity | None:
        if not session_id or len(session_id) > 128:
            return None
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(
                select(UserSession.id_hash, UserSession.csrf, UserSession.expires_at, User.id, User.username,
                       User.role, User.agent_id, User.department, User.disabled)
                .join(User, User.id == UserSession.user_id).where(UserSession.id_hash == _hash(session_id)))).first()
        if row is None or row.disabled or _aware(row.expires_at) <= self.clock():
            return None
        return Identity(role=row.role, name=row.username, user_id=row.id, agent_id=row.agent_id,
                        department=row.department, session=row.id_hash, csrf=row.csrf)

    async def logout(self, session_hash: str) -> None:
        async with self.db.sessions.begin() as s:
            await s.execute(delete(UserSession).where(UserSession.id_hash == session_hash))

    async def change_password(self, user_id: int, current: str, new: str, keep_session: str | None = None) -> None:
        """The person's own change: the current password first; other sessions end."""
        async with self.db.sessions() as s:
            u = await s.get(User, user_id)
        if u is None or u.disabled:
            raise LoginFailed("no such user")
        if not await passwords.verify(u.password_hash, current if isinstance(current, str) else ""):
            raise LoginFailed("the current password is wrong")
        passwords.check_new(new, u.username)
        hashed = await passwords.hash_password(new)
        async with self.db.sessions.begin() as s:
            await s.execute(update(User).where(User.id == user_id)
                            .values(password_hash=hashed, password_changed_at=self.clock()))
            q = delete(UserSession).where(UserSession.user_id == user_id)
            if keep_session:
                q = q.where(UserSession.id_hash != keep_session)
            await s.execute(q)

    # -- tokens ---------------------------------------------------------------------
    async def create_token(self, username: str, name: str = "") -> str:
        """A bearer token that acts as this person (for their tools)."""
        async with self.db.sessions.begin() as s:
            u = await s.scalar(select(User).where(User.username == username))
            if u is None:
                raise NotFound(f"no user {username}")
            token = "hl_" + secrets.token_urlsafe(32)
            s.add(ApiToken(token_hash=_hash(token), role=u.role, name=name or u.username, created_at=self.clock(),
                           user_id=u.id))
        return token

    async def by_token(self, token: str) -> Identity | None:
        """Who a bearer token acts as: its person (when it belongs to one, and they are not
        disabled), else the role token's role and name."""
        async with self.db.engine.connect() as conn:  # every API request asks: no ORM object for it
            row = (await conn.execute(
                select(ApiToken.role, ApiToken.name, ApiToken.user_id, User.username, User.role.label("user_role"),
                       User.agent_id, User.department, User.disabled)
                .outerjoin(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash == _hash(token), ApiToken.revoked.is_(False)))).first()
        if row is None:
            return None
        if row.user_id is None:
            return Identity(role=row.role, name=row.name or row.role)
        if row.disabled:
            return None
        return Identity(role=row.user_role, name=row.username, user_id=row.user_id, agent_id=row.agent_id,
                        department=row.department)

    async def count(self) -> int:
        async with self.db.sessions() as s:
            return await s.scalar(select(func.count()).select_from(User))
