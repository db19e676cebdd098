"""Knowledge-base search in Chinese (and English) on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from hotline.errors import BadRequest, NotFound
from tickets.kb import KnowledgeBase, terms

from .test_workflow_store import store  # noqa: F401 - the two-database fixture


def test_terms_split_han_into_pairs_and_other_text_into_words():
    assert terms("社保卡补办") == ["社保", "保卡", "卡补", "补办"]
    assert terms("ＡＢＣ Tax-Refund 2026") == ["abc", "tax", "refund", "2026"]
    assert terms("怎么") == []


async def seeded(store):  # noqa: F811
    kb = KnowledgeBase(store)
    card = await kb.add("hrss", "社保卡丢了怎么补办？", "携带身份证到任一社保服务网点办理补卡，工本费20元。", "社保卡 补卡 挂失")
    await kb.add("tax", "个人所得税年度汇算什么时候办理？", "每年3月1日至6月30日，可在个人所得税App办理。", "个税 汇算清缴")
    await kb.add("housing", "公积金贷款额度怎么算？", "按缴存余额的倍数计算，最高不超过上限。", "公积金 贷款")
    await kb.add("tax", "How do I get a tax receipt?", "Download it in the tax app under receipts.", "receipt invoice")
    return kb, card


async def test_chinese_questions_find_the_right_answer_on_both_databases(store):  # noqa: F811
    kb, card = await seeded(store)
    got = await kb.search("社保卡丢了")
    assert got[0]["id"] == card["id"]
    assert (await kb.search("我想补办社保卡"))[0]["id"] == card["id"]
    assert (await kb.search("个税汇算"))[0]["department"] == "tax"
    assert [e["department"] for e in await kb.search("贷款额度")] == ["housing"]
    assert (await kb.search("tax receipt"))[0]["question"].startswith("How do I")
    assert await kb.search("社保卡", department="tax") == []
    assert await kb.search("完全无关的话题") == []


async def test_wildcards_and_injection_strings_are_plain_text(store):  # noqa: F811
    kb, _ = await seeded(store)
    for evil in ("%", "_", "\\", "' OR ''='", "%'; DROP TABLE kb_entries;--"):
        assert await kb.search(evil) == []
    assert await kb.count() == 4
    with pytest.raises(BadRequest):
        await kb.search("x" * 201)
    with pytest.raises(BadRequest):
        await kb.add("tax", "", "answer")


async def test_answers_used_are_counted_and_rank_ties(store):  # noqa: F811
    kb, card = await seeded(store)
    twin = await kb.add("hrss", "社保卡丢了在哪里补办", "也可以在线上补办。", "社保卡 补卡 挂失")
    for _ in range(3):
        await kb.used(twin["id"])
    got = await kb.search("社保卡丢了补办")
    assert got[0]["id"] == twin["id"] and got[0]["uses"] == 3   # same score: the more used first
    with pytest.raises(NotFound):
        await kb.used(999999)
