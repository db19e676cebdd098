"""Knowledge-base search in Chinese (and English) on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from core.errors import BadRequest, NotFound
from kb.store import KnowledgeBase, terms



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


# -- answers the voice menu reads out ----------------------------------------------------------------
async def test_the_menu_gets_the_entry_for_its_key_in_the_callers_language(store):  # noqa: F811
    kb = KnowledgeBase(store)
    zh = await kb.add("general", "办事时间？", "工作日九点到五点半。", "办事时间", ivr_key="office_hours")
    en = await kb.add("general", "Opening hours?", "Working days, nine to half past five.", ivr_key="office_hours",
                      language="en")
    await kb.add("general", "旧的办事时间", "旧答案", ivr_key="office_hours_2019")   # a longer key, not ours
    assert (zh["ivr_key"], zh["language"], en["language"]) == ("office_hours", "cmn", "en")
    assert await kb.answer("office_hours", "cmn") == (zh["id"], "工作日九点到五点半。")
    assert await kb.answer("office_hours", "en") == (en["id"], "Working days, nine to half past five.")
    assert await kb.answer("office_hours", "yue") is None          # no Cantonese entry: the menu's fallback
    assert await kb.answer("office_hour", "cmn") is None
    assert await kb.answer("office%", "cmn") is None and await kb.answer("office_hours", "fr") is None
    # the tags are not search words: "lang" or "ivr" find nothing, the question still does
    assert await kb.search("ivr lang") == [] and (await kb.search("办事时间"))[0]["ivr_key"] == "office_hours"


async def test_a_caller_hearing_an_answer_counts_as_a_use(store):  # noqa: F811
    kb = KnowledgeBase(store)
    e = await kb.add("general", "办事时间？", "工作日。", ivr_key="office_hours")
    assert await kb.heard(e["id"]) and await kb.heard(e["id"])
    assert (await kb.search("办事时间"))[0]["uses"] == 2
    assert await kb.heard(999999) is False


async def test_bad_ivr_key_or_language_is_a_bad_request(store):  # noqa: F811
    kb = KnowledgeBase(store)
    for key, lang in (("Office Hours", None), ("x" * 41, None), ("", "en"), ("ok", "fr")):
        with pytest.raises(BadRequest):
            await kb.add("general", "q", "a", ivr_key=key, language=lang)
    assert await kb.count() == 0


async def test_the_demo_seed_fills_what_the_menu_needs_once_and_keeps_edits(store):  # noqa: F811
    from core import settings
    from kb.store import load_seed
    centre = settings.load_centre(settings.DEMO_CONFIG)
    seeds = load_seed(settings.DEMO_CONFIG, {d.code for d in centre.departments})
    assert {(s.key, s.language) for s in seeds} == {(k, lang) for k in ("office_hours", "ss_card_replacement")
                                                    for lang in ("cmn", "yue", "en")}
    kb = KnowledgeBase(store)
    # a supervisor already wrote the Mandarin office hours: that one is kept as it is
    mine = await kb.add("general", "办事时间", "我们自己的答案", ivr_key="office_hours", language="cmn")
    assert await kb.seed(seeds) == 5
    assert await kb.seed(seeds) == 0 and await kb.count() == 6
    assert await kb.answer("office_hours", "cmn") == (mine["id"], "我们自己的答案")
    assert "12333" in (await kb.answer("ss_card_replacement", "yue"))[1]


def test_a_broken_seed_names_the_table_and_field(tmp_path):
    from core.errors import ConfigInvalid
    from kb.store import load_seed
    bad = tmp_path / "centre.toml"
    for table, words in (('key = "Bad Key"\ndepartment = "tax"', "key 'Bad Key'"),
                         ('key = "k"\ndepartment = "taxes"\nquestion = {}\nanswer = {cmn = "a"}', "'taxes'"),
                         ('key = "k"\ndepartment = "tax"\nquestion = {}\nanswer = {fr = "a"}', "answer.fr"),
                         ('key = "k"\ndepartment = "tax"\nquestion = "q"\nanswer = "a"', "tables of text")):
        bad.write_text(f"[[kb]]\n{table}\n")
        with pytest.raises(ConfigInvalid, match=r"kb\[0\]") as e:
            load_seed(bad, {"tax"})
        assert words in str(e.value)
