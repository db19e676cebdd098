"""The outbound policy (trunks/policy.py): toll fraud is refused before anything dials."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from trunks import policy as P
from trunks.errors import TrunkInvalid

POLICY = P.load({}, area_code="21")


@pytest.mark.parametrize("number", ["13800138000", "19912345678", "62345678", "02162345678"])
def test_local_fixed_and_mobile_numbers_may_be_dialled(number):
    assert P.decide(POLICY, P.Ledger(), number, "2026-11-27", 0.0) is None


@pytest.mark.parametrize("number, why", [
    ("0044207946000", P.INTERNATIONAL_R), ("00861380013800", P.INTERNATIONAL_R), ("001", P.INTERNATIONAL_R),
    ("16812345678", P.PREMIUM), ("1600123456", P.PREMIUM), ("12590123456", P.PREMIUM), ("1790913800138000", P.PREMIUM),
    ("110", P.SHORT), ("12345", P.SHORT), ("95588", P.SHORT), ("10086", P.SHORT), ("1", P.SHORT),
    ("01062345678", P.NOT_ALLOWED),        # another city's fixed line: not local
    ("2345678", P.NOT_ALLOWED), ("999999999999", P.NOT_ALLOWED),
    ("+8613800138000", P.NOT_DIGITS), ("1380013800;0", P.NOT_DIGITS), ("", P.NOT_DIGITS), ("13800138000\n", P.NOT_DIGITS),
])
def test_international_premium_short_and_unlisted_numbers_are_refused(number, why):
    assert P.decide(POLICY, P.Ledger(), number, "2026-11-27", 0.0) == why


def test_no_allow_pattern_opens_international_or_premium_numbers():
    wide = P.load({"allow": ["_X."], "min_length": 3})
    assert wide.shape("0044207946000") == P.INTERNATIONAL_R
    assert wide.shape("16812345678") == P.PREMIUM
    assert wide.shape("13800138000") is None


def test_attempts_per_destination_per_day_are_capped():
    ledger, day = P.Ledger(), "2026-11-27"
    for _ in range(POLICY.max_attempts_per_day):
        assert P.decide(POLICY, ledger, "13800138000", day, 0.0) is None
        ledger.attempted("13800138000", day)
    assert P.decide(POLICY, ledger, "13800138000", day, 0.0) == P.DAILY_CAP
    assert P.decide(POLICY, ledger, "13900139000", day, 0.0) is None     # another citizen
    assert P.decide(POLICY, ledger, "13800138000", "2026-11-28", 0.0) is None   # the next day
    ledger.attempted("13900139000", "2026-11-28")
    assert ("13800138000", day) not in ledger.attempts                  # old days are forgotten


def test_concurrent_outbound_calls_are_capped_and_lost_ends_expire():
    pol = P.load({"max_concurrent": 2})
    ledger = P.Ledger(stale_after=100)
    ledger.began("13800138000", 0.0)
    ledger.began("13900139000", 1.0)
    assert P.decide(pol, ledger, "13700137000", "d", 2.0) == P.CONCURRENT_CAP
    ledger.ended("13800138000")
    assert P.decide(pol, ledger, "13700137000", "d", 2.0) is None
    assert P.decide(pol, ledger, "13700137000", "d", 50.0) is None
    ledger.began("13800138000", 50.0)
    assert P.decide(pol, ledger, "13700137000", "d", 60.0) == P.CONCURRENT_CAP
    assert P.decide(pol, ledger, "13700137000", "d", 120.0) is None     # the 1.0 call's end was lost
    ledger.ended("nobody")   # an end without a start changes nothing


@pytest.mark.parametrize("pattern, number, matches", [
    ("_1[3-9]XXXXXXXXX", "13800138000", True), ("_1[3-9]XXXXXXXXX", "12800138000", False),
    ("_NXXXXXXX", "22345678", True), ("_NXXXXXXX", "12345678", False), ("_ZXX", "100", True),
    ("_021.", "0216", True), ("_021.", "021", False), ("_021!", "021", True), ("62345678", "62345678", True),
])
def test_asterisk_patterns(pattern, number, matches):
    import re
    assert bool(re.match(P.pattern_regex(pattern), number)) is matches


@pytest.mark.parametrize("table, needle", [
    ({"allow": ["_1[3-9]XX.X"]}, "is not pattern syntax"),     # . only at the end
    ({"allow": ["_1[a-z]"]}, "digits and ranges"),
    ({"allow": ["_1[3-9"]}, "digits and ranges"),
    ({"allow": ["13800138000|.*"]}, "must be digits or start with _"),
    ({"allow": []}, "non-empty list"), ({"allow": "_X."}, "non-empty list"),
    ({"premium_prefixes": ["16a"]}, "premium_prefixes"), ({"min_length": 0}, "min_length"),
    ({"max_concurrent": True}, "max_concurrent"), ({"max_attempts_per_day": "3"}, "max_attempts_per_day"),
    ({"allow_international": True}, "unknown key"),
])
def test_bad_policies_are_refused_with_the_key_named(table, needle):
    with pytest.raises(TrunkInvalid, match=needle):
        P.load(table)


@given(st.text(max_size=24))
def test_anything_that_is_not_national_digits_is_never_allowed(number):
    if not (number.isascii() and number.isdigit()):
        assert POLICY.shape(number) == P.NOT_DIGITS
