"""Password hashing with argon2id (argon2-cffi): salted, memory-hard, parameters stored in
the hash so that stronger ones later rehash at the next login. Hashing takes tens of
milliseconds of CPU on purpose: callers run it in a thread, off the event loop."""
from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from core.errors import BadRequest

_HASHER = PasswordHasher()   # RFC 9106 low-memory profile: argon2id, t=3, m=64 MiB, p=4
MIN_LENGTH, MAX_LENGTH = 8, 256
# verified when the username is unknown, so that a wrong name takes as long as a wrong password
_DUMMY = _HASHER.hash("not a password of anyone")


class WeakPassword(BadRequest):
    id = "weak-password"


def check_new(password: str, username: str = "") -> str:
    if not isinstance(password, str) or not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise WeakPassword(f"a password has {MIN_LENGTH} to {MAX_LENGTH} characters")
    if "\x00" in password:
        raise WeakPassword("a password cannot contain a NUL character")
    if username and password.lower() == username.lower():
        raise WeakPassword("the password cannot be the username")
    return password


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify(stored: str | None, password: str) -> bool:
    """True when `password` matches; `stored` None (no such user) still costs one hash."""
    return await asyncio.to_thread(_verify, stored, password)


def needs_rehash(stored: str) -> bool:
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True
