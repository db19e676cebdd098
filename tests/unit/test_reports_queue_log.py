"""Asterisk queue_log lines from the event log: formats, positions, members, hostile values."""
from __future__ import annotations

from calls.record import CallRecord, Disposition
from core import events as ev
from calls.record import record_events as from_call_record
from core.events import Event
from reports.queue_log import format_queue_log, lines, sanitize

T = 1795955816.0  # whole second, so T + 5.4 is logged as T + 5
Q = "hl-tax"


def at(t, kind, lid="", **kw):
    return Event(T + t, kind, lid, **kw)


def line(t, *fields):
    return "|".join([str(int(T + t)), *map(str, fields)])


def test_answered_call_with_a_missed_ring():
    trace = [at(0, ev.CALL_START, "c1", data={"caller": "13800138000"}),
             at(5.4, ev.QUEUE_JOIN, "c1", queue=Q),
             at(6, ev.AGENT_OFFER, "c1", queue=Q, agent="a1"),
             at(21, ev.AGENT_NOANSWER, "c1", queue=Q, agent="a1"),
             at(22, ev.AGENT_OFFER, "c1", queue=Q, agent="a2"),
             at(25.9, ev.AGENT_CONNECT, "c1", queue=Q, agent="a2", data={"peer_uniqueid": "node1-1.2"}),
             at(85, ev.CALL_END, "c1", data={"disposition": "answered", "hangup_by": "agent"})]
    assert lines(trace) == [
        line(5, "c1", Q, "NONE", "ENTERQUEUE", "", "13800138000", 1),
        line(21, "c1", Q, "a1", "RINGNOANSWER", 15000),          # 21 - 6 s, in ms
        line(25, "c1", Q, "a2", "CONNECT", 20, "node1-1.2", 3),  # hold 25 - 5, ring 25 - 22
        line(85, "c1", Q, "a2", "COMPLETEAGENT", 20, 60, 1),     # hold, talk 85 - 25, orig pos
    ]


def test_caller_hangs_up_after_answer():
    trace = [at(0, ev.QUEUE_JOIN, "c", queue=Q), at(2, ev.AGENT_CONNECT, "c", queue=Q, agent="a1"),
             at(9, ev.CALL_END, "c", data={"disposition": "answered"})]
    assert lines(trace)[-1] == line(9, "c", Q, "a1", "COMPLETECALLER", 2, 7, 1)
    assert lines(trace)[1] == line(2, "c", Q, "a1", "CONNECT", 2, "", 0)  # no offer seen: ring 0


def test_positions_and_exits():
    trace = [at(100, ev.QUEUE_JOIN, "c2", queue=Q), at(101, ev.QUEUE_JOIN, "c3", queue=Q),
             at(102, ev.QUEUE_JOIN, "c4", queue=Q),
             at(110, ev.QUEUE_ABANDON, "c3", queue=Q),                 # 2nd of 3
             at(111, ev.AGENT_CONNECT, "c2", queue=Q, agent="a1"),     # c4 moves up to 1st
             at(120, ev.QUEUE_JOIN, "c5", queue=Q),                    # behind c4: 2nd
             at(130, ev.CALLBACK_REQUESTED, "c5", queue=Q, data={"key": "5"}),
             at(133, ev.CALL_END, "c5", data={"disposition": "abandoned_in_queue"}),  # already out
             at(200, ev.QUEUE_TIMEOUT, "c4", queue=Q),
             at(300, ev.QUEUE_JOIN, "c6", queue="hl-market"),
             at(303, ev.CALL_END, "c6", data={"disposition": "abandoned_in_queue"})]  # no abandon event
    out = [x for x in lines(trace) if "ENTERQUEUE" not in x and "CONNECT" not in x]
    assert out == [
        line(110, "c3", Q, "NONE", "ABANDON", 2, 2, 9),
        line(130, "c5", Q, "NONE", "EXITWITHKEY", 5, 2, 2, 10),
        line(200, "c4", Q, "NONE", "EXITWITHTIMEOUT", 1, 3, 98),
        line(303, "c6", "hl-market", "NONE", "ABANDON", 1, 1, 3),
    ]
    assert line(120, "c5", Q, "NONE", "ENTERQUEUE", "", "", 2) in lines(trace)


def test_position_from_the_join_event_wins():
    out = lines([at(0, ev.QUEUE_JOIN, "c", queue=Q, data={"position": 4})])
    assert out == [line(0, "c", Q, "NONE", "ENTERQUEUE", "", "", 4)]


def test_calls_that_never_queued_are_not_logged():
    trace = [at(0, ev.CALL_START, "i"), at(2, ev.IVR_STEP, "i"),
             at(9, ev.CALL_END, "i", data={"disposition": "completed_in_ivr"})]
    assert lines(trace) == []


def test_member_events():
    trace = [Event(T, ev.AGENT_STATE, agent="a1", queue=Q, data={"state": "ready"}),
             Event(T + 10, ev.AGENT_STATE, agent="a1", queue=Q, data={"state": "paused", "reason": "lunch"}),
             Event(T + 20, ev.AGENT_STATE, agent="a1", queue=Q, data={"state": "ready"}),
             Event(T + 30, ev.AGENT_STATE, agent="a1", queue=Q, data={"state": "wrapup"}),  # silent
             Event(T + 40, ev.AGENT_STATE, agent="a1", queue=Q, data={"state": "ready"}),   # silent
             Event(T + 50, ev.AGENT_STATE, agent="a1", queue=Q, data={"state": "logged_out"}),
             Event(T + 60, ev.AGENT_STATE, agent="a2", data={"state": "paused", "reason": "training"}),
             Event(T + 70, ev.AGENT_STATE, agent="a2", data={"state": "logged_out"})]
    assert lines(trace) == [
        line(0, "NONE", Q, "a1", "ADDMEMBER", ""),
        line(10, "NONE", Q, "a1", "PAUSE", "lunch"),
        line(20, "NONE", Q, "a1", "UNPAUSE", ""),
        line(50, "NONE", Q, "a1", "REMOVEMEMBER", ""),
        line(60, "NONE", "NONE", "a2", "ADDMEMBER", "PAUSED"),
        line(70, "NONE", "NONE", "a2", "REMOVEMEMBER", ""),
    ]


def test_hostile_values_cannot_split_fields_or_forge_lines():
    caller = "1|2\n3\r\nFAKE|x\x00"
    trace = [at(0, ev.CALL_START, "c|1", data={"caller": caller}),
             at(1, ev.QUEUE_JOIN, "c|1", queue="hl|tax\n"),
             Event(T + 2, ev.AGENT_STATE, agent="a\n1", data={"state": "paused", "reason": "a|b\nc"})]
    text = format_queue_log(trace)
    rows = text.splitlines()
    assert len(rows) == 2 and text.endswith("\n")
    assert rows[0].split("|") == [str(int(T + 1)), "c_1", "hl_tax_", "NONE", "ENTERQUEUE", "", "1_2_3__FAKE_x_", "1"]
    assert rows[1].split("|") == [str(int(T + 2)), "NONE", "NONE", "a_1", "ADDMEMBER", "PAUSED"]
    assert sanitize(None) == "" and sanitize("ok 1") == "ok 1"


def test_from_call_record():
    rec = CallRecord("node1-sim-7f3b", caller="13800138000", started_at=T, queue=Q, answered_at=T + 20,
                     ended_at=T + 80, wait_seconds=12.0, agent="agent1002", disposition=Disposition.ANSWERED)
    assert lines(from_call_record(rec)) == [
        line(8, "node1-sim-7f3b", Q, "NONE", "ENTERQUEUE", "", "13800138000", 1),
        line(20, "node1-sim-7f3b", Q, "agent1002", "CONNECT", 12, "", 0),
        line(80, "node1-sim-7f3b", Q, "agent1002", "COMPLETECALLER", 12, 60, 1),
    ]
