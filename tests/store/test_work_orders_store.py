"""Work orders on both databases: content edits with history, drafts written during the call
become the call's ticket, repeat calls merged into one case, Chinese search, "the same matter"."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from calls.record import CallRecord, Disposition
from tickets import content as ct
from tickets import workflow as wf
from tickets.work_orders import MergeRefused, TicketExists, WorkOrders

WANG = wf.Actor("wang", "agent", aliases=("agent1002", "1002"))
LI = wf.Actor("li", "agent", aliases=("agent1001", "1001"))
BOSS = wf.Actor("boss", "supervisor")
XSS = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>']
_n = 0


def rec(caller="13800138000", agent="agent1002", **kw) -> CallRecord:
    global _n
    _n += 1
    now = datetime.now(UTC).timestamp()
    return CallRecord(linkedid=kw.pop("linkedid", f"wo-{_n}-{now}"), node="node1", caller=caller, dialed="12345",
                      language="cmn", department="general", started_at=now - 60, answered_at=now - 50,
                      ended_at=now, agent=agent, disposition=Disposition.ANSWERED, **kw)


async def test_an_edit_writes_the_content_and_one_history_row_naming_who_and_what(store):
    wo = WorkOrders(store)
    tid, _ = await store.ingest(rec())
    t = await wo.edit(tid, {"subject": "楼上装修噪音扰民", "description": XSS[0] + "\n" + XSS[1],
                            "address": "海淀区中关村大街1号", "district": "海淀区", "street": "中关村街道",
                            "contact_name": "张三", "callback_number": "010-6275 1234", "confidential": True,
                            "urgency": "urgent", "version": 1}, WANG)
    assert (t["subject"], t["description"], t["callback_number"]) == ("楼上装修噪音扰民", XSS[0] + "\n" + XSS[1],
                                                                       "01062751234")
    assert (t["owner"], t["version"], t["confidential"], t["urgency"], t["channel"]) == ("wang", 2, True, "urgent",
                                                                                       "phone")
    assert t["calls"] == [t["linkedid"]]
    [h] = await store.history(tid)
    assert (h["actor"], h["role"], h["action"]) == ("wang", "agent", "edit")
    assert h["details"]["changed"]["subject"] == {"from": None, "to": "楼上装修噪音扰民"}
    assert h["details"]["changed"]["owner"] == {"from": None, "to": "wang"}
    # the same values again change nothing and write nothing
    same = await wo.edit(tid, {"subject": "楼上装修噪音扰民"}, WANG)
    assert same["changed"] == [] and same["version"] == 2 and len(await store.history(tid)) == 1
    # an edit of an older version is refused, the newer one kept
    with pytest.raises(wf.StaleUpdate):
        await wo.edit(tid, {"subject": "旧的", "version": 1}, WANG)
    assert (await store.ticket(tid))["subject"] == "楼上装修噪音扰民"


async def test_only_the_owner_or_a_supervisor_edits_and_bad_fields_are_named(store):
    wo = WorkOrders(store)
    tid, _ = await store.ingest(rec())
    with pytest.raises(wf.NotOwner):
        await wo.edit(tid, {"subject": "x"}, LI)
    await wo.edit(tid, {"subject": "supervisor fixes a typo"}, BOSS)
    for body, field in [({"urgency": "asap"}, "urgency"), ({"callback_number": "call me"}, "callback_number"),
                        ({"subject": "x" * 201}, "subject"), ({"subject": "a\x00b"}, "subject"),
                        ({"confidential": "yes"}, "confidential"), ({"colour": "red"}, "colour")]:
        with pytest.raises(ct.FieldInvalid) as e:
            await wo.edit(tid, body, WANG)
        assert e.value.id == "invalid-field" and e.value.details["field"] == field
    assert (await store.ticket(tid))["subject"] == "supervisor fixes a typo"


async def test_a_draft_written_during_the_call_becomes_the_calls_ticket_owned_by_its_author(store):
    wo = WorkOrders(store)
    call = rec()
    await wo.save_draft(call.linkedid, {"subject": "欠薪三个月", "address": "朝阳区建国路88号"}, WANG)
    await wo.save_draft(call.linkedid, {"description": "公司拖欠工资，老板失联"}, WANG)   # a reload, more typing
    got = await wo.draft(call.linkedid)
    assert got["fields"] == {"subject": "欠薪三个月", "address": "朝阳区建国路88号", "description": "公司拖欠工资，老板失联"}
    with pytest.raises(wf.NotOwner):
        await wo.save_draft(call.linkedid, {"subject": "not mine"}, LI)
    tid, created = await store.ingest(call)
    assert created
    t = await store.ticket(tid)
    assert (t["subject"], t["description"], t["owner"]) == ("欠薪三个月", "公司拖欠工资，老板失联", "wang")
    assert [(h["actor"], h["action"], h["details"]["draft"]) for h in await store.history(tid)] == [
        ("wang", "edit", True)]
    assert await store.ingest(call) == (tid, False)     # once: a second ingest changes nothing
    assert len(await store.history(tid)) == 1
    with pytest.raises(TicketExists):
        await wo.save_draft(call.linkedid, {"subject": "late"}, WANG)
    assert (await wo.draft(call.linkedid))["ticket"] == tid


async def test_a_repeat_call_merged_from_its_draft_joins_the_first_ticket(store):
    wo = WorkOrders(store)
    first = rec(caller="13912345678")
    await wo.save_draft(first.linkedid, {"subject": "小区噪音扰民", "address": "西城区金融街5号"}, WANG)
    t1, _ = (await store.ingest_many([(first, "")]))[first.linkedid]
    again = rec(caller="13912345678")
    await wo.save_draft(again.linkedid, {"merge_into": t1, "description": "噪音还在继续"}, WANG)
    [(t2, created)] = (await store.ingest_many([(again, "")])).values()
    merged, target = await store.ticket(t2), await store.ticket(t1)
    assert created and merged["status"] == "merged" and merged["merged_into"] == t1 and merged["calls"] == []
    assert target["calls"] == [first.linkedid, again.linkedid]
    open_ = [t for t in await store.tickets(caller="13912345678") if t["status"] not in ("closed", "merged")]
    assert [t["id"] for t in open_] == [t1]
    assert [h["action"] for h in await store.history(t1)] == ["edit", "merge_in"]
    assert [h["action"] for h in await store.history(t2)] == ["edit", "merge"]


async def test_merging_existing_tickets_moves_the_calls_and_refuses_a_closed_target(store):
    a, _ = await store.ingest(rec(caller="13700000001"))
    b, _ = await store.ingest(rec(caller="13700000001"))
    c, _ = await store.ingest(rec(caller="13700000001"))
    done = await store.transition(b, "merge", WANG, "agent", into=a)
    assert done["status"] == "merged"
    ta = await store.ticket(a)
    assert len(ta["calls"]) == 2 and (await store.ticket(b))["merged_into"] == a
    await store.transition(a, "answer_on_spot", WANG, "agent", text="答复")
    await store.transition(a, "close", WANG, "agent")
    with pytest.raises(MergeRefused):
        await store.transition(c, "merge", WANG, "agent", into=a)
    with pytest.raises(MergeRefused):
        await store.transition(c, "merge", WANG, "agent", into=c)
    assert (await store.ticket(c))["status"] == "new"


async def test_search_finds_tickets_by_chinese_words_of_subject_description_and_address(store):
    wo = WorkOrders(store)
    ids = {}
    for key, body in {"noise": {"subject": "夜间施工噪音扰民", "address": "丰台区南三环西路"},
                      "wages": {"subject": "工地欠薪", "description": "包工头拖欠农民工工资"},
                      "flat": {"subject": "物业纠纷", "address": "丰台区科技园"}}.items():
        tid, _ = await store.ingest(rec())
        await wo.edit(tid, body, WANG)
        ids[key] = tid
    assert [t["id"] for t in await wo.search("施工噪音")] == [ids["noise"]]
    assert [t["id"] for t in await wo.search("拖欠工资")] == [ids["wages"]]
    assert {t["id"] for t in await wo.search("丰台区")} == {ids["noise"], ids["flat"]}
    assert await wo.search("%_") == [] and await wo.search("") == []


async def test_the_same_matter_is_the_same_address_or_subject_words_in_the_last_30_days_and_open(store):
    wo = WorkOrders(store)
    old, _ = await store.ingest(rec(caller="13600000001"))
    await wo.edit(old, {"subject": "小区停车位纠纷", "address": "东城区王府井大街1号"}, WANG)
    near, _ = await store.ingest(rec(caller="13600000002"))
    await wo.edit(near, {"subject": "楼道堆放杂物", "address": "东城区王府井大街1号"}, WANG)
    words, _ = await store.ingest(rec(caller="13600000003"))
    await wo.edit(words, {"subject": "停车位被占用纠纷", "address": "别处"}, WANG)
    closed, _ = await store.ingest(rec(caller="13600000004"))
    await wo.edit(closed, {"subject": "停车位纠纷", "address": "东城区王府井大街1号"}, WANG)
    await store.transition(closed, "answer_on_spot", WANG, "agent")
    await store.transition(closed, "close", WANG, "agent")
    found = await wo.similar(caller="13600000001", address="东城区王府井大街1号", subject="停车位纠纷")
    assert [t["id"] for t in found["earlier"]] == [old]
    assert {t["id"] for t in found["similar"]} == {old, near, words}
    why = {t["id"]: t["why"] for t in found["similar"]}
    assert why[near] == ["same address"] and why[words][0].startswith("words:")
    # 31 days later none of them is "the same matter" any more
    store.clock = lambda: datetime.now(UTC) + timedelta(days=31)
    assert (await wo.similar(caller=None, address="东城区王府井大街1号", subject="停车位纠纷"))["similar"] == []
