"""The priority-caller register on SQLite and PostgreSQL: numbers kept in one form, bad
input refused, and a second engine's register catches up on reload."""
from __future__ import annotations

import pytest

from acd.model import ELDERLY_DISABLED
from core.errors import BadRequest, NotFound
from acd.priority_callers import PriorityCallers



async def test_registered_numbers_get_the_elderly_class_in_any_written_form(store):  # noqa: F811
    reg = PriorityCallers(store)
    row = await reg.put("+8613800138000", "elderly", "独居老人 王奶奶", by="sup1")
    assert row["number"] == "8613800138000" and row["note"] == "独居老人 王奶奶"
    assert reg.priority_of("8613800138000") == ELDERLY_DISABLED
    assert reg.priority_of(" +8613800138000") == ELDERLY_DISABLED
    assert reg.priority_of("13800138000") is None and reg.priority_of("") is None
    other = PriorityCallers(store)          # another engine: learns it on its next reload
    assert other.priority_of("8613800138000") is None
    await other.reload()
    assert other.priority_of("8613800138000") == ELDERLY_DISABLED
    await reg.put("8613800138000", "disabled", "", by="sup2")   # update, not a second row
    assert [(r["number"], r["reason"]) for r in await reg.list()] == [("8613800138000", "disabled")]
    await reg.remove("+8613800138000")
    assert reg.priority_of("8613800138000") is None and await reg.list() == []
    with pytest.raises(NotFound):
        await reg.remove("8613800138000")


@pytest.mark.parametrize("number, reason, note", [
    ("13800138000'; DROP TABLE priority_callers;--", "elderly", ""), ("12", "elderly", ""),
    ("1380013800\n0", "elderly", ""), ("13800138000", "vip", ""), ("13800138000", "elderly", "x" * 501),
    ("13800138000", "elderly", 5), ("13800138000", None, "")])
async def test_bad_input_is_refused_and_stores_nothing(store, number, reason, note):  # noqa: F811
    reg = PriorityCallers(store)
    with pytest.raises(BadRequest):
        await reg.put(number, reason, note, by="sup1")
    assert await reg.list() == []
