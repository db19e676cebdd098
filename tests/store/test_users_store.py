"""Accounts on both databases: one username once, the lockout and its end, sessions that
expire or end with the account, tokens that belong to a person."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.errors import BadRequest
from users.passwords import WeakPassword
from users.store import AccountLocked, LoginFailed, UserExists, UserStore


class Clock:
    def __init__(self):
        self.now = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)

    def __call__(self):
        return self.now


@pytest.fixture
def users(store):
    clock = Clock()
    return UserStore(store, clock), clock


async def test_a_username_is_taken_once_and_the_hash_is_argon2id(users, store):
    u, _ = users
    row = await u.add("wang", "a good password", "agent", agent_id="1002")
    assert (row["username"], row["role"], row["agent_id"], row["disabled"]) == ("wang", "agent", "1002", False)
    with pytest.raises(UserExists):
        await u.add("wang", "another password", "supervisor")
    from db.models import User
    from sqlalchemy import select
    async with store.sessions() as s:
        stored = await s.scalar(select(User.password_hash).where(User.username == "wang"))
    assert stored.startswith("$argon2id$") and "a good password" not in stored


@pytest.mark.parametrize("args, error", [
    (("Wang Qiang", "agent"), "username"), (("wang", "boss"), "role"), (("wang", "agent"), "--agent"),
    (("zhang", "department"), "--department"),
])
async def test_accounts_are_validated_before_anything_is_written(users, args, error):
    u, _ = users
    with pytest.raises(BadRequest, match=error):
        await u.add(args[0], "a good password", args[1])
    assert await u.count() == 0


async def test_weak_passwords_are_refused(users):
    u, _ = users
    for bad in ("short", "wangwang", "x" * 257):
        with pytest.raises(WeakPassword):
            await u.add("wangwang", bad, "supervisor")


async def test_five_wrong_passwords_lock_for_fifteen_minutes_then_the_account_opens_again(users):
    u, clock = users
    await u.add("wang", "a good password", "agent", agent_id="1002")
    for _ in range(4):
        with pytest.raises(LoginFailed):
            await u.login("wang", "wrong password")
    with pytest.raises(AccountLocked):
        await u.login("wang", "wrong password")
    with pytest.raises(AccountLocked):
        await u.login("wang", "a good password")
    clock.now += timedelta(minutes=14)
    with pytest.raises(AccountLocked):
        await u.login("wang", "a good password")
    clock.now += timedelta(minutes=2)
    sid, who = await u.login("wang", "a good password")
    assert who.name == "wang" and (await u.by_session(sid)).agent_id == "1002"


async def test_a_session_ends_when_it_expires_when_the_account_is_disabled_and_at_logout(users):
    u, clock = users
    await u.add("wang", "a good password", "agent", agent_id="1002")
    sid, who = await u.login("wang", "a good password")
    assert (await u.by_session(sid)).csrf == who.csrf
    assert await u.by_session("forged") is None
    clock.now += timedelta(hours=12, seconds=1)
    assert await u.by_session(sid) is None
    sid, _ = await u.login("wang", "a good password")
    await u.disable("wang")
    assert await u.by_session(sid) is None
    with pytest.raises(LoginFailed):
        await u.login("wang", "a good password")
    await u.enable("wang")
    sid, who = await u.login("wang", "a good password")
    await u.logout(who.session)
    assert await u.by_session(sid) is None


async def test_a_token_of_a_person_names_them_and_role_tokens_keep_their_name(users, store):
    u, _ = users
    await u.add("zhang", "a good password", "department", department="tax")
    token = await u.create_token("zhang")
    who = await u.by_token(token)
    assert (who.name, who.role, who.department, who.user_id is not None) == ("zhang", "department", "tax", True)
    old = await store.create_token("agent", "agent1002")
    who = await u.by_token(old)
    assert (who.name, who.role, who.user_id) == ("agent1002", "agent", None)
    assert await u.by_token("hl_forged") is None
    await u.disable("zhang")
    assert await u.by_token(token) is None


async def test_reset_sets_a_new_password_and_lifts_the_lock(users):
    u, _ = users
    await u.add("wang", "a good password", "agent", agent_id="1002")
    for _ in range(5):
        with pytest.raises((LoginFailed, AccountLocked)):
            await u.login("wang", "wrong password")
    listed = {r["username"]: r for r in await u.users()}
    assert listed["wang"]["locked_until"] is not None
    await u.reset("wang", "a new good password")
    assert (await u.user("wang"))["locked_until"] is None
    with pytest.raises(LoginFailed):
        await u.login("wang", "a good password")
    await u.login("wang", "a new good password")
