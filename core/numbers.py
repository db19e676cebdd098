"""Number rules every feature shares: what a callable number is, how one is shown masked."""
from __future__ import annotations

import re

# a number the centre may call back or register: digits, optionally a leading +
CALLABLE = re.compile(r"\+?[0-9]{3,20}")


def callable_number(value: str | None) -> bool:
    return isinstance(value, str) and CALLABLE.fullmatch(value) is not None


def mask_number(number: str) -> str:
    """138****8000: what auditors and departments see of a caller."""
    n = len(number)
    if n <= 4:
        return "*" * n
    keep = 3 if n >= 8 else 0   # mobile numbers keep the carrier prefix, short ones nothing
    return number[:keep] + "*" * (n - keep - 4) + number[-4:]
