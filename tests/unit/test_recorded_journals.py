"""Call records folded from journals that our own Asterisk 22 wrote during end-to-end runs
(tests/fixtures/journals/*.log, copied from the journal column of stored records)."""
from __future__ import annotations

from pathlib import Path

import pytest

from calls import journal, record

TRACES = Path(__file__).resolve().parents[1] / "fixtures" / "journals"

# trace -> what a supervisor would read on the record
EXPECTED = {
    "menu-answered": dict(dialed="12345", caller="13900139000", language="yue", department="hrss",
                          agent="agent1003", disposition="answered", path=[("lang", "2"), ("main", "3")]),
    "answered": dict(dialed="12366", caller="13800138000", language="cmn", department="tax",
                     agent="agent1002", disposition="answered", path=[]),
    "abandoned-in-ivr": dict(dialed="12345", language="cmn", department=None, agent=None,
                             disposition="abandoned_in_ivr", path=[("lang", "1")]),
    "abandoned-in-queue": dict(dialed="12358", department="prices", agent=None,
                               disposition="abandoned_in_queue", path=[]),
    "fallback": dict(dialed="12366", department="tax", agent="agent1002", disposition="fallback", path=[]),
    "voicemail": dict(dialed="12366", caller="13312345678", department="tax", agent=None,
                      disposition="voicemail", path=[]),
    "fax": dict(dialed="12340", department="general", disposition="fax", path=[]),
    "fax-partial": dict(dialed="12340", department="general", disposition="fax", path=[]),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_trace_folds_into_the_expected_record(name):
    text = (TRACES / f"{name}.log").read_text()
    entries = journal.parse(text)
    assert journal.is_complete(entries)
    linkedid = entries[0].fields["uniqueid"]
    r = record.fold(linkedid, entries)
    want = EXPECTED[name]
    assert [(p["node"], p["input"]) for p in r.ivr_path] == want["path"]
    for key, value in want.items():
        if key != "path":
            assert getattr(r, key) == value, (key, getattr(r, key))
    assert r.ended_at >= r.started_at > 1.7e9
    if r.answered_at is not None:
        assert r.talk_seconds == pytest.approx(r.ended_at - r.answered_at, abs=0.001)
        assert 0 <= r.wait_seconds < 5


def test_recorded_fax_traces_say_whole_or_partial():
    whole = record.fold("a", journal.parse((TRACES / "fax.log").read_text()))
    cut = record.fold("b", journal.parse((TRACES / "fax-partial.log").read_text()))
    assert (whole.fax_status, whole.fax_pages) == ("SUCCESS", 2)
    assert (cut.fax_status, cut.fax_pages, cut.fax_error) == ("FAILED", 1, "The call dropped prematurely")
