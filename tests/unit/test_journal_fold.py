"""Folding the per-call journal written by the dialplan into one call record."""
from __future__ import annotations

import pytest

from calls import journal, record
from calls.record import Disposition

T0 = 1795955816.802
START = (f"{T0:.3f} start caller=13800138000 name= dialed=12345 uniqueid=node1-sim-7f3b "
         "node=node1 rec=node1-sim-7f3b.wav")
QJOIN = "1795955816.850 qjoin queue=hl-tax"
CONNECT = "1795955819.474 connect agent=PJSIP%2Fagent1002-00000005"
END = ("1795955824.648 end lang=cmn dept=tax "
       "path=lang%3A1%401795955818.526%2Cdept%3A2%401795955819.399 fallback= cause=16")


def fold(*lines: str, linkedid: str = "node1-sim-7f3b") -> record.CallRecord:
    return record.fold(linkedid, journal.parse("\n".join(lines) + "\n"))


# -- answered calls -----------------------------------------------------------------
def test_answered_call_record():
    r = fold(START, QJOIN, CONNECT, END)
    assert r.disposition == Disposition.ANSWERED
    assert r.linkedid == "node1-sim-7f3b"
    assert (r.caller, r.caller_name, r.dialed, r.node) == ("13800138000", "", "12345", "node1")
    assert r.recording == "node1-sim-7f3b.wav"
    assert r.queue == "hl-tax"
    assert r.agent == "agent1002"
    assert (r.language, r.department) == ("cmn", "tax")
    assert r.started_at == pytest.approx(T0)
    assert r.answered_at == pytest.approx(1795955819.474)
    assert r.ended_at == pytest.approx(1795955824.648)
    assert r.wait_seconds == pytest.approx(1795955819.474 - 1795955816.850, abs=1e-3)
    assert r.talk_seconds == pytest.approx(1795955824.648 - 1795955819.474, abs=1e-3)
    assert r.hangup_cause == 16
    assert r.fallback is False


def test_answered_call_ivr_path_is_relative_to_start():
    r = fold(START, QJOIN, CONNECT, END)
    assert r.ivr_path == [
        {"node": "lang", "input": "1", "t": pytest.approx(1.724, abs=1e-3)},
        {"node": "dept", "input": "2", "t": pytest.approx(2.597, abs=1e-3)},
    ]


def test_ivr_path_keeps_timeouts_and_invalid_inputs():
    path = "lang%3At%401795955820.802%2Clang%3A!*%23%401795955825.802%2Cdept%3A0%401795955826.802"
    r = fold(START, f"1795955830.000 end lang=cmn dept=general path={path} fallback= cause=16")
    assert [(s["node"], s["input"]) for s in r.ivr_path] == [("lang", "t"), ("lang", "!*#"), ("dept", "0")]
    assert [s["t"] for s in r.ivr_path] == [pytest.approx(4.0), pytest.approx(9.0), pytest.approx(10.0)]


def test_local_agent_channel_names_the_agent():
    r = fold(START, QJOIN, "1795955819.474 connect agent=Local%2Fagent1%40agents-00000001%3B1", END)
    assert r.agent == "agent1"
    assert r.disposition == Disposition.ANSWERED


@pytest.mark.parametrize("channel, agent", [
    ("PJSIP/agent1002-0000001a", "agent1002"),
    ("SIP/agent7-00ab", "agent7"),
    ("Local/agent1@agents-00000001;1", "agent1"),
    ("Something/odd", "Something/odd"),   # unknown shapes are kept, not lost
])
def test_agent_of(channel, agent):
    assert record.agent_of(channel) == agent


def test_first_connect_wins():
    r = fold(START, QJOIN, CONNECT, "1795955822.000 connect agent=PJSIP%2Fagent1005-00000009", END)
    assert r.agent == "agent1002"
    assert r.answered_at == pytest.approx(1795955819.474)


def test_fallback_call_answered_by_agent():
    r = fold(START, "1795955816.900 fallback agistatus=FAILURE", QJOIN, CONNECT,
             "1795955824.648 end lang=cmn dept=general path= fallback=1 cause=16")
    assert r.disposition == Disposition.FALLBACK
    assert r.fallback is True
    assert r.agent == "agent1002"
    assert r.ivr_path == []


def test_fallback_line_alone_marks_fallback_even_if_end_does_not():
    r = fold(START, "1795955816.900 fallback agistatus=FAILURE", QJOIN, CONNECT, END)
    assert r.disposition == Disposition.FALLBACK


def test_fallback_flag_on_end_line_alone():
    end = END.replace("fallback=", "fallback=1")
    assert fold(START, QJOIN, CONNECT, end).disposition == Disposition.FALLBACK


# -- calls that reached no agent --------------------------------------------------------
def test_abandoned_in_ivr():
    r = fold(START, "1795955818.000 end lang= dept= path=lang%3At%401795955817.900 fallback= cause=16")
    assert r.disposition == Disposition.ABANDONED_IN_IVR
    assert r.queue is None and r.agent is None
    assert r.wait_seconds is None and r.talk_seconds is None and r.answered_at is None
    assert r.language is None and r.department is None
    assert r.ivr_path == [{"node": "lang", "input": "t", "t": pytest.approx(1.098, abs=1e-3)}]


def test_abandoned_in_queue():
    r = fold(START, QJOIN, "1795955830.850 end lang=cmn dept=tax path= fallback= cause=16")
    assert r.disposition == Disposition.ABANDONED_IN_QUEUE
    assert r.queue == "hl-tax"
    assert r.agent is None and r.talk_seconds is None
    assert r.wait_seconds == pytest.approx(14.0)


def test_queue_timeout():
    r = fold(START, QJOIN, "1795957416.850 qleave status=TIMEOUT",
             "1795957417.000 end lang=cmn dept=tax path= fallback= cause=16")
    assert r.disposition == Disposition.QUEUE_TIMEOUT
    assert r.wait_seconds == pytest.approx(1795957417.000 - 1795955816.850, abs=1e-3)


def test_qleave_other_status_is_abandoned_in_queue():
    r = fold(START, QJOIN, "1795955820.000 qleave status=LEAVEEMPTY",
             "1795955821.000 end lang=cmn dept=tax path= fallback= cause=16")
    assert r.disposition == Disposition.ABANDONED_IN_QUEUE


# -- hostile caller IDs: URI-decoded to the exact bytes ----------------------------------
@pytest.mark.parametrize("encoded, decoded", [
    ("13800138000%26PJSIP%2Fevil", "13800138000&PJSIP/evil"),
    ("%24(reboot)", "$(reboot)"),
    ("138%0A00", "138\n00"),
    ("1%0D%0AAction%3A%20Hangup", "1\r\nAction: Hangup"),
    ("%22%20%3Cx%3E", '" <x>'),
])
def test_hostile_caller_id_is_decoded_exactly(encoded, decoded):
    line = START.replace("caller=13800138000", f"caller={encoded}")
    r = fold(line, END)
    assert r.caller == decoded
    assert r.dialed == "12345"  # the rest of the line is unaffected


def test_caller_name_utf8_is_decoded():
    line = START.replace("name=", "name=%E5%BC%A0%E4%B8%89")
    assert fold(line, END).caller_name == "张三"


def test_newline_in_caller_cannot_inject_a_journal_line():
    # URIENCODE turns the newline into %0A, so the line stays one line
    line = START.replace("caller=13800138000", "caller=1%0A1795955816.900%20connect%20agent%3DPJSIP%2Fx-1")
    r = fold(line, END)
    assert r.agent is None
    assert r.disposition == Disposition.ABANDONED_IN_IVR
    assert r.caller == "1\n1795955816.900 connect agent=PJSIP/x-1"


# -- torn and garbage lines ---------------------------------------------------------------
@pytest.mark.parametrize("line", [
    "",
    "   ",
    "garbage",
    "1795955816.9",
    "notatime connect agent=PJSIP%2Fagent9-1",
    "\x00\x00\x00\x00",
    "17959558",
])
def test_parse_line_rejects_non_lines(line):
    assert journal.parse_line(line) is None


def test_garbage_lines_are_ignored_by_the_fold():
    text = "\n".join([
        "\x00\x00binary",
        START,
        "not a journal line at all",
        QJOIN,
        "1795955819",          # torn write: time only
        "xyz connect agent=PJSIP%2Fagent666-1",
        CONNECT,
        END,
    ])
    entries = journal.parse(text)
    assert [e.kind for e in entries] == ["start", "qjoin", "connect", "end"]
    r = record.fold("x", entries)
    assert r.agent == "agent1002"
    assert r.disposition == Disposition.ANSWERED


def test_parse_line_fields():
    e = journal.parse_line("1795955816.850 qjoin queue=hl-tax junk =nokey a=b=c")
    assert e is not None
    assert e.ts == pytest.approx(1795955816.850)
    assert e.kind == "qjoin"
    assert e.fields == {"queue": "hl-tax", "a": "b=c"}


def test_invalid_percent_escapes_do_not_raise():
    e = journal.parse_line("1 start caller=%ZZ%FF%4")
    assert e is not None
    assert e.fields["caller"].startswith("%ZZ")


def test_non_numeric_cause_is_none():
    r = fold(START, END.replace("cause=16", "cause=abc"))
    assert r.hangup_cause is None


# -- completeness ---------------------------------------------------------------------------
def test_is_complete_requires_end():
    assert not journal.is_complete(journal.parse("\n".join([START, QJOIN, CONNECT])))
    assert journal.is_complete(journal.parse("\n".join([START, QJOIN, CONNECT, END])))


def test_torn_end_line_is_not_complete():
    assert not journal.is_complete(journal.parse(START + "\n" + "1795955824"))


def test_empty_journal_is_not_complete():
    assert not journal.is_complete(journal.parse(""))


def test_end_without_start_is_dated_by_end():
    r = fold("1795955824.648 end lang= dept= path=lang%3At%401795955824.000 fallback= cause=16")
    assert r.started_at == pytest.approx(1795955824.648)
    assert r.ended_at == pytest.approx(1795955824.648)
    assert r.disposition == Disposition.ABANDONED_IN_IVR
    assert r.caller == "" and r.recording is None
    assert r.ivr_path == [{"node": "lang", "input": "t", "t": pytest.approx(-0.648, abs=1e-3)}]


def test_second_start_line_does_not_overwrite_the_first():
    later = START.replace(f"{T0:.3f}", "1795955900.000").replace("13800138000", "999")
    r = fold(START, later, END)
    assert r.started_at == pytest.approx(T0)
    assert r.caller == "13800138000"


def test_path_step_without_timestamp():
    steps = record.parse_path("lang:t", 1000.0)
    assert steps == [{"node": "lang", "input": "t", "t": None}]


def test_path_digit_step_without_timestamp_keeps_the_digit():
    steps = record.parse_path("lang:1", 1000.0)
    assert steps == [{"node": "lang", "input": "1", "t": None}]


def test_a_rating_after_the_call_is_on_the_record_and_a_stray_key_is_not():
    # 一次一评: hl-rating journals the key the citizen pressed after the agent's part ended
    r = fold(START, QJOIN, CONNECT, "1795955823.100 rating key=2", END)
    assert (r.disposition, r.agent, r.rating) == (Disposition.ANSWERED, "agent1002", 2)
    assert fold(START, QJOIN, CONNECT, "1795955823.100 rating key=7", END).rating is None
    assert fold(START, QJOIN, CONNECT, END).rating is None
