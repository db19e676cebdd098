"""Call records folded from journals that our own Asterisk 22 wrote (tests/fixtures/journals/*.log,
recorded with today's dialplan by `python -m tests.fixtures.record`, see docs/tests.md; each file
is the journal column of the stored record, which is the journal file's text)."""
from __future__ import annotations

from pathlib import Path

import pytest

from calls import journal, record
from core import contract

TRACES = Path(__file__).resolve().parents[1] / "fixtures" / "journals"

# trace -> what a supervisor would read on the record (wait: seconds, low <= wait < high)
EXPECTED = {
    "menu-answered": dict(dialed="12345", caller="13900139000", language="yue", department="hrss",
                          agent="agent1003", disposition="answered", path=[("lang", "2"), ("main", "3")],
                          wait=(0, 2)),
    "answered": dict(dialed="12366", caller="13800138000", language="cmn", department="tax",
                     agent="agent1002", disposition="answered", path=[], wait=(0, 2)),
    "abandoned-in-ivr": dict(dialed="12345", caller="13800138000", language="cmn", department=None, agent=None,
                             disposition="abandoned_in_ivr", path=[("lang", "1")], wait=None),
    "abandoned-in-queue": dict(dialed="12358", caller="13911110001", department="prices", agent=None,
                               disposition="abandoned_in_queue", path=[], wait=(2, 6)),
    # rung out on 2001 (a Local line: the record names it by its id) for ring_seconds (5), then 2002
    "rona": dict(dialed="12369", caller="13700000001", department="ecology", agent="2002",
                 disposition="answered", path=[], wait=(5, 7)),
    "rona-second": dict(dialed="12369", caller="13700000002", department="ecology", agent="2002",
                        disposition="answered", path=[], wait=(5, 7)),
    # booked a callback while waiting and hung up: not an abandon
    "callback": dict(dialed="12329", caller="13500000002", department="housing", agent=None,
                     disposition="callback", callback_requested=True, path=[], wait=(3, 8)),
    # the agent's leg of that callback: its own record, the agent's line as the caller
    "callback-leg": dict(dialed="callback", caller="1005", department="housing", agent="agent1005",
                         disposition="answered", path=[], wait=None),
    # max_wait_seconds (10) over: the max-wait prompt, then voicemail (the caller said nothing);
    # the record reads "voicemail", and its wait runs to the end of the call
    "queue-timeout": dict(dialed="12358", caller="13911110002", department="prices", agent=None,
                          disposition="voicemail", path=[], wait=(10, 60)),
    "fallback": dict(dialed="12366", caller="13500135001", department="tax", agent="agent1002",
                     disposition="fallback", fallback=True, path=[], wait=(0, 2)),
    # a carrier call over the trunk (SIPp, +86 caller) while the engine was down
    "trunk-fallback": dict(dialed="12345", caller="13800138000", department="general", agent=None,
                           disposition="abandoned_in_queue", fallback=True, path=[], wait=(9, 11)),
    "voicemail": dict(dialed="12366", caller="13312345678", department="tax", agent=None,
                      disposition="voicemail", path=[], wait=None),
    "fax": dict(dialed="12340", caller="02087654321", department="general", disposition="fax", path=[], wait=None),
    "fax-partial": dict(dialed="12340", caller="02087654321", department="general", disposition="fax", path=[],
                        wait=None),
}

# trace -> the steps its journal tells, in today's dialplan's words (core/contract.py J_*)
STEPS = {
    "menu-answered": ["start", "qjoin", "offer", "connect", "end"],
    "answered": ["start", "qjoin", "offer", "connect", "end"],
    "abandoned-in-ivr": ["start", "end"],
    "abandoned-in-queue": ["start", "qjoin", "end"],
    "rona": ["start", "qjoin", "offer", "rona", "offer", "connect", "end"],
    "rona-second": ["start", "qjoin", "offer", "rona", "offer", "connect", "end"],
    "callback": ["start", "qjoin", "cbreq", "end"],
    "callback-leg": ["start", "callback", "connect", "end"],
    "queue-timeout": ["start", "qjoin", "qleave", "vm_start", "end"],
    "fallback": ["start", "fallback", "qjoin", "connect", "end"],
    "trunk-fallback": ["trunk", "start", "fallback", "qjoin", "end"],
    "voicemail": ["start", "vm_start", "end"],
    "fax": ["start", "fax_start", "end"],
    "fax-partial": ["start", "fax_start", "end"],
}


def entries_of(name: str) -> list[journal.Entry]:
    return journal.parse((TRACES / f"{name}.log").read_text())


def test_every_recorded_journal_has_its_expected_record():
    assert {p.stem for p in TRACES.glob("*.log")} == set(EXPECTED) == set(STEPS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_trace_folds_into_the_expected_record(name):
    entries = entries_of(name)
    assert journal.is_complete(entries)
    linkedid = next(e.fields["uniqueid"] for e in entries if e.kind == "start")
    r = record.fold(linkedid, entries)
    want = EXPECTED[name]
    assert [(p["node"], p["input"]) for p in r.ivr_path] == want["path"]
    for key, value in want.items():
        if key not in ("path", "wait"):
            assert getattr(r, key) == value, (key, getattr(r, key))
    assert r.ended_at >= r.started_at > 1.7e9
    if want["wait"] is None:
        assert r.wait_seconds is None
    else:
        low, high = want["wait"]
        assert low <= r.wait_seconds < high
    if r.answered_at is not None:
        assert r.talk_seconds == pytest.approx(r.ended_at - r.answered_at, abs=0.001)


@pytest.mark.parametrize("name", sorted(STEPS))
def test_recorded_journal_tells_the_steps_of_todays_dialplan(name):
    kinds = [e.kind for e in entries_of(name)]
    assert kinds == STEPS[name]
    assert set(kinds) <= set(contract.JOURNAL_KINDS)


def test_the_recorded_journals_cover_the_engines_routing():
    """Recorded since the engine owns routing: offers, ring-outs and callbacks are on file."""
    used = {e.kind for name in STEPS for e in entries_of(name)}
    assert {contract.J_OFFER, contract.J_RONA, contract.J_CALLBACK, contract.J_CBREQ, contract.J_QLEAVE,
            contract.J_FALLBACK, contract.J_VM_START, contract.J_FAX_START} <= used


def test_recorded_ring_out_names_the_agent_and_the_dial_status():
    offers = [(e.kind, e.fields.get("agent"), e.fields.get("status")) for e in entries_of("rona")
              if e.kind in (contract.J_OFFER, contract.J_RONA)]
    assert offers == [("offer", "2001", None), ("rona", "2001", "NOANSWER"), ("offer", "2002", None)]


def test_recorded_callback_leg_names_the_call_it_calls_back():
    call = entries_of("callback")[0].fields["uniqueid"]
    leg = entries_of("callback-leg")
    assert next(e for e in leg if e.kind == contract.J_CALLBACK).fields["of"] == call
    assert leg[0].fields["uniqueid"] == f"{call}-cb1"
    assert record.fold(call, entries_of("callback")).callback_requested


def test_recorded_fax_traces_say_whole_or_partial():
    whole = record.fold("a", entries_of("fax"))
    cut = record.fold("b", entries_of("fax-partial"))
    assert (whole.fax_status, whole.fax_pages) == ("SUCCESS", 2)
    assert (cut.fax_status, cut.fax_pages, cut.fax_error) == ("FAILED", 1, "The call dropped prematurely")


def test_the_hand_written_report_journals_have_the_recorded_shapes():
    """tests/fixtures/reports/journals.txt is written by hand for its KPI arithmetic: each of its
    lines must look like a line our Asterisk wrote (same kind, same fields)."""
    shapes = {(e.kind, frozenset(e.fields)) for p in TRACES.glob("*.log") for e in journal.parse(p.read_text())}
    text = (TRACES.parent / "reports" / "journals.txt").read_text()
    lines = [line for line in text.splitlines() if line and not line.startswith(("#", "== "))]
    assert lines
    for e in map(journal.parse_line, lines):
        assert (e.kind, frozenset(e.fields)) in shapes, (e.kind, sorted(e.fields))
