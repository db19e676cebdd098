"""Call records of trunk calls: folded from journals written by our Asterisk's trunk
dialplan (tests/fixtures/journals/trunk-*.log) and hostile variants of them."""
from __future__ import annotations

from pathlib import Path

from calls import journal, record

TRACES = Path(__file__).resolve().parents[1] / "fixtures" / "journals"


def fold(text: str) -> record.CallRecord:
    entries = journal.parse(text)
    assert journal.is_complete(entries)
    return record.fold("lid", entries)


def test_a_trunk_call_keeps_the_trunk_the_raw_values_and_the_sip_call_id():
    r = fold((TRACES / "trunk-fallback.log").read_text())
    assert (r.trunk, r.caller, r.raw_caller, r.dialed, r.raw_dialed) == (
        "carrier", "13800138000", "+8613800138000", "12345", "12345")
    assert r.sip_call_id == "1-25327@127.0.0.1" and r.sip_response == "200"
    assert r.channel.startswith("PJSIP/trunk-carrier-") and r.disposition == "abandoned_in_queue"


def test_a_local_call_has_no_trunk_fields():
    r = fold((TRACES / "answered.log").read_text())
    assert (r.trunk, r.raw_caller, r.raw_dialed, r.sip_call_id, r.sip_response) == (None,) * 5


def test_raw_values_are_kept_byte_for_byte():
    text = ("1.0 trunk trunk=carrier rawcaller=%2B86%20138%0A%27%3B rawdialed=%2B862112345 callid=a%20b source=127.0.0.1\n"
            "1.0 start caller=unknown dialed=12345 chan=PJSIP%2Ftrunk-carrier-00000001 rec=x.wav\n"
            "5.0 end cause=16\n")
    r = fold(text)
    assert r.raw_caller == "+86 138\n';" and r.caller == "unknown" and r.raw_dialed == "+862112345"
    assert r.sip_call_id == "a b" and r.hangup_cause == 16


def test_a_callback_records_the_trunk_that_answered_and_its_response():
    text = ("1.0 start caller=1002 dialed=callback chan=PJSIP%2Fagent1002-0001 rec=x.wav\n"
            "1.1 connect agent=PJSIP%2Fagent1002-0001\n"
            "2.0 trunk_out trunk=first attempt=1 status=CONGESTION cause=34 sip=503\n"
            "3.0 trunk_out trunk=second attempt=2 status=ANSWER cause= sip=\n"
            "9.0 end cause=16\n")
    r = fold(text)
    assert (r.trunk, r.sip_response) == ("second", "200")
    failed = fold(text.replace("status=ANSWER cause= sip=", "status=CHANUNAVAIL cause=18 sip=408"))
    assert (failed.trunk, failed.sip_response) == ("second", "408")
