"""The IVR on real Asterisk: prompts heard per language, keys, timeouts, invalid input,
"0" to a person, ticket status by keypad, policy answers read from the knowledge base (and
the menu's fallback prompt without one), garbage DTMF, hot reload under load."""
from __future__ import annotations

import asyncio
import hashlib
import re
import time

from sqlalchemy import delete, select

from ivr import words
from kb.store import ivr_tags
from db.models import KbEntry

from .conftest import call, ticket_for


def heard(s, channel: str) -> list[str]:
    """Files Asterisk played to this channel, from its verbose log, in order."""
    log = (s.host_path(s.inst_in_root) / "log" / "verbose.log").read_text(errors="replace")
    return re.findall(rf"<{re.escape(channel)}> Playing '([^']+?)\.\w+' \(", log)


async def record_of(hotline, linkedid):
    rec = await hotline.store.call_record(linkedid)
    assert rec is not None
    return rec


async def test_each_language_hears_its_own_prompts(hotline, driver):
    s = hotline.settings
    ids = {lang: await call(driver, s, "12345", caller=f"1581234000{i}", dtmf=f"{d}w5", talk=1)
           for i, (lang, d) in enumerate((("cmn", "1"), ("yue", "2"), ("en", "3")))}
    for lang, linkedid in ids.items():
        t = await ticket_for(hotline.store, linkedid)
        assert (t["language"], t["department"]) == (lang, "housing")
        files = heard(s, (await record_of(hotline, linkedid))["channel"])
        assert files[:2] == [f"{lang_of_welcome}/hotline/welcome" for lang_of_welcome in ("cmn",)] + \
            [f"{lang}/hotline/main"], files


async def test_invalid_key_then_valid_path(hotline, driver):
    s = hotline.settings
    # 9 is not an option at the language menu: "invalid", the menu again, then English, 1
    # (nobody in market speaks English: the Mandarin agent takes it, the wait cut short)
    linkedid = await call(driver, s, "12345", dtmf="9" + "w" * 8 + "3w1", talk=9)
    t = await ticket_for(hotline.store, linkedid)
    assert [(p["node"], p["input"]) for p in t["ivr_path"]] == [("lang", "!9"), ("lang", "3"), ("main", "1")]
    assert (t["language"], t["department"], t["agent"]) == ("en", "market", "agent1001")
    files = heard(s, (await record_of(hotline, linkedid))["channel"])
    assert "cmn/hotline/invalid" in files and files.count("cmn/hotline/welcome") == 2


async def test_silence_times_out_then_zero_reaches_a_person(hotline, driver):
    s = hotline.settings
    # no key at the language menu (prompt + 4 s, twice), then 0 during the main menu
    linkedid = await call(driver, s, "12345", caller="15800000077", dtmf="0", wait=30, talk=2)
    t = await ticket_for(hotline.store, linkedid, timeout=90)
    assert [(p["node"], p["input"]) for p in t["ivr_path"]] == [("lang", "t"), ("lang", "t"), ("main", "0")]
    assert (t["language"], t["department"], t["agent"], t["disposition"]) == ("cmn", "general", "agent1000",
                                                                               "answered")


async def test_remembered_language_is_the_default(hotline, driver):
    s = hotline.settings
    first = await call(driver, s, "12345", caller="15811112222", dtmf="2w6", talk=1)
    assert (await ticket_for(hotline.store, first))["language"] == "yue"
    again = await call(driver, s, "12345", caller="15811112222", dtmf="0", wait=30, talk=1)
    t = await ticket_for(hotline.store, again, timeout=90)
    assert t["language"] == "yue" and [p["input"] for p in t["ivr_path"]] == ["t", "t", "0"]


async def test_ticket_status_by_keypad(hotline, driver):
    s = hotline.settings
    earlier = await ticket_for(hotline.store, await call(driver, s, "12366", talk=1, wait=0.3))
    number = str(earlier["id"])
    linkedid = await call(driver, s, "12345", dtmf=f"1w8wwww{number}#", talk=8)
    t = await ticket_for(hotline.store, linkedid)
    assert [(p["node"], p["input"]) for p in t["ivr_path"]][:3] == [("lang", "1"), ("main", "8"), ("ticket", number)]
    text = f"工单{number}，当前状态：{words.status_text('new', 'cmn')}。"
    digest = hashlib.sha256(f"cmn:{text}".encode()).hexdigest()[:20]
    assert (s.root / f"usr/share/asterisk/sounds/hotline-tts/{digest}.wav").exists()
    files = heard(s, (await record_of(hotline, linkedid))["channel"])
    assert f"hotline-tts/{digest}" in files and "cmn/hotline/ticket_ask" in files


async def kb_uses(store, entry_id: int) -> int:
    async with store.sessions() as s:
        return await s.scalar(select(KbEntry.uses).where(KbEntry.id == entry_id))


async def test_policy_answer_is_read_from_the_knowledge_base_and_counted(hotline, driver):
    s, kb = hotline.settings, hotline.engine.kb
    # the demo's seed, put there at engine start: English office hours
    entry, answer = await kb.answer("office_hours", "en")
    uses = await kb_uses(hotline.store, entry)
    # English (3), policy answers (7), office hours (1); the answer lasts about 11 s
    linkedid = await call(driver, s, "12345", caller="15900000701", dtmf="3w7w1", talk=18)
    t = await ticket_for(hotline.store, linkedid, timeout=90)
    assert [(p["node"], p["input"]) for p in t["ivr_path"]][:4] == [("lang", "3"), ("main", "7"), ("faq", "1"),
                                                                     ("kb", str(entry))]
    digest = hashlib.sha256(f"en:{answer}".encode()).hexdigest()[:20]
    files = heard(s, (await record_of(hotline, linkedid))["channel"])
    assert f"hotline-tts/{digest}" in files and "en/hotline/faq_hours" not in files, files
    assert files[files.index(f"hotline-tts/{digest}") + 1] == "en/hotline/main"   # then back to the menu
    assert await kb_uses(hotline.store, entry) == uses + 1


async def test_policy_answer_without_its_entry_plays_the_menus_fallback(hotline, driver):
    s, engine = hotline.settings, hotline.engine
    # the Cantonese card-replacement answer is gone from the knowledge base
    async with hotline.store.sessions.begin() as db:
        rows = (await db.execute(select(KbEntry.id, KbEntry.keywords))).all()
        gone = [i for i, kw in rows if ivr_tags(kw) == ("ss_card_replacement", "yue")]
        assert gone
        await db.execute(delete(KbEntry).where(KbEntry.id.in_(gone)))
    try:
        linkedid = await call(driver, s, "12345", caller="15900000702", dtmf="2w7w2", talk=12)
        t = await ticket_for(hotline.store, linkedid, timeout=90)
        assert [(p["node"], p["input"]) for p in t["ivr_path"]][:4] == [("lang", "2"), ("main", "7"),
                                                                         ("faq", "2"), ("kb", "-")]
        files = heard(s, (await record_of(hotline, linkedid))["channel"])
        assert "yue/hotline/faq_card" in files and not any(f.startswith("hotline-tts/") for f in files), files
        assert files[files.index("yue/hotline/faq_card") + 1] == "yue/hotline/main"
        assert engine.agi.stats["errors"] == 0
    finally:
        await engine.kb.seed(engine.kb_seed)   # the next test finds the demo's answers again


async def test_garbage_dtmf_never_breaks_a_call(hotline, driver):
    s = hotline.settings
    storms = ["*#*#*#*#*#*#*#*#", "#" * 30, "98765432109876543210", "*" * 20 + "2"]
    ids = [await call(driver, s, "12345", caller=f"1570000000{i}", dtmf=d, talk=3) for i, d in enumerate(storms)]
    for linkedid in ids:
        t = await ticket_for(hotline.store, linkedid, timeout=90)
        # the general desk has one agent: a caller may give up in line, but every call is whole
        assert t["disposition"] in ("answered", "abandoned_in_ivr", "completed_in_ivr", "abandoned_in_queue"), t
        assert t["ivr_path"], t
    assert hotline.engine.agi.stats["errors"] == 0


async def test_hot_reload_under_twenty_calls_drops_none(hotline, driver):
    s = hotline.settings
    engine = hotline.engine
    menu_file = s.menus / "12345.toml"
    original = menu_file.read_text()
    v0 = engine.menu.menu.version
    ids = [await call(driver, s, "12345", caller=f"1560000{i:04d}", dtmf="1w2", talk=6, wait=0.5)
           for i in range(20)]
    try:
        await asyncio.sleep(1.0)  # the calls are in the menu now
        menu_file.write_text(original.replace('"9" = { callback = true }',
                                              '"9" = { callback = true }\n"#" = { goto = "faq" }'))
        deadline = time.monotonic() + 10
        while engine.menu.menu.version == v0 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert engine.menu.menu.version != v0 and "#" in engine.menu.menu.nodes["main"].options
        tickets = [await ticket_for(hotline.store, i, timeout=90) for i in ids]
        # every call finished its menu walk and reached the tax queue (one tax agent: most
        # callers hang up while waiting, which is the queue's business, not the reload's)
        for t in tickets:
            assert [(p["node"], p["input"]) for p in t["ivr_path"]] == [("lang", "1"), ("main", "2")]
            assert t["department"] == "tax" and t["wait_seconds"] is not None
            assert t["disposition"] in ("answered", "abandoned_in_queue")
        assert engine.agi.stats["errors"] == 0
        # a broken menu is refused and the live one stays
        v1 = engine.menu.menu.version
        menu_file.write_text(original.replace('department = "tax"', 'department = "taxes"'))
        deadline = time.monotonic() + 10
        while not engine.menu.refused and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert engine.menu.menu.version == v1
        assert any("taxes" in r for r in engine.menu.refused)
        t = await ticket_for(hotline.store, await call(driver, s, "12345", dtmf="1w2", talk=1))
        assert t["department"] == "tax"
    finally:
        menu_file.write_text(original)
        deadline = time.monotonic() + 10
        while engine.menu.refused and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
