"""Retention of recordings per ticket category; legal holds are never deleted."""
from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from pathlib import Path

from core.errors import ConfigInvalid

DEFAULT_DAYS = 180


def load(path: Path) -> dict[str, int]:
    """The [retention] table of the centre file: {"default": days, "<category>": days}."""
    table = tomllib.loads(Path(path).read_text()).get("retention", {})
    out = {"default": DEFAULT_DAYS}
    for key, value in table.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigInvalid(f"{path}: retention.{key} must be a whole number of days >= 1")
        out[key] = value
    return out


def due(item: dict, now: datetime, days: dict[str, int]) -> bool:
    """Past its category's retention, not on legal hold, not already deleted."""
    if item.get("legal_hold") or item.get("deleted_at"):
        return False
    keep = days.get(item.get("category") or "", days["default"])
    created = item["created_at"]
    if created.tzinfo is None:
        created = created.replace(tzinfo=now.tzinfo)
    return created + timedelta(days=keep) <= now
