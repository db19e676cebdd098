"""Caller and dialled numbers on a trunk (trunks/numbers.py), hostile input included."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from trunks import numbers

ENTRIES = {f: "12345" for f in numbers.forms("12345", "21")} | {"12366": "12366"}


@pytest.mark.parametrize("raw, national", [
    ("+8613800138000", "13800138000"),        # +86 mobile
    ("008613800138000", "13800138000"),       # 0086 mobile
    ("8613800138000", "13800138000"),         # 86 without +
    ("013800138000", "13800138000"),          # trunk prefix 0 before a mobile
    ("13800138000", "13800138000"),           # already national
    ("+862162345678", "02162345678"),         # +86 Shanghai fixed line: trunk prefix 0 back
    ("00862162345678", "02162345678"),
    ("02162345678", "02162345678"),
    ("62345678", "62345678"),                 # local fixed line without area code
    ("+442079460000", "00442079460000"),      # a foreign caller, as dialled from China
])
def test_callers_in_national_form_keep_the_raw_value(raw, national):
    c = numbers.caller(raw)
    assert (c.number, c.raw, c.withheld) == (national, raw, False)
    assert c.callable


@pytest.mark.parametrize("raw, pres", [
    ("", "allowed"), ("anonymous", "allowed"), ("Anonymous", "allowed"), ("UNAVAILABLE", "allowed"),
    ("restricted", "allowed"), ("private", "allowed"), ("withheld", "allowed"),
    ("+8613800138000", "prohib"),             # Privacy: id on a trusted trunk
    ("13800138000", "prohib_passed_screen"),
])
def test_withheld_callers_are_anonymous_and_never_called_back(raw, pres):
    c = numbers.caller(raw, pres)
    assert c.number == numbers.ANONYMOUS and c.withheld and not c.callable
    assert c.raw == raw


@pytest.mark.parametrize("raw", [
    "13800138000&PJSIP/evil", "1;2", "$(reboot)", "138\n00", "`id`", "+86 138 0013 8000", "１３８００１３８０００",
    "anonymous1", "12", "+", "++8613800138000", "0x1F", "1" * 21, "\x00",
])
def test_what_is_not_a_number_is_unknown_never_a_made_up_number(raw):
    c = numbers.caller(raw)
    assert c.number == numbers.UNKNOWN and not c.callable and c.raw == raw


@given(st.text(max_size=40))
def test_any_caller_id_gives_digits_anonymous_or_unknown(raw):
    c = numbers.caller(raw)
    assert c.raw == raw
    assert c.number in (numbers.ANONYMOUS, numbers.UNKNOWN) or (c.number.isascii() and c.number.isdigit())


@pytest.mark.parametrize("dialled, entry", [
    ("12345", "12345"), ("02112345", "12345"), ("+862112345", "12345"), ("00862112345", "12345"),
    ("862112345", "12345"), ("12366", "12366"),
    ("12346", None), ("0212345", None), ("+12345", None), ("12345;x", None), ("sip:12345", None), ("", None),
    ("1" * 25, None),
])
def test_dialled_numbers_map_to_entry_numbers(dialled, entry):
    assert numbers.entry_for(dialled, ENTRIES) == entry


def test_map_keys_are_safe_dialplan_names():
    assert numbers.map_key("+862112345") == "p862112345"
    assert numbers.map_key("12345") == "12345"
    assert numbers.map_key("12345}") is None and numbers.map_key("a") is None


def test_rules_use_only_what_the_dialplan_expression_accepts():
    # the same patterns are rendered into extensions.conf (Asterisk's =~): no backslashes,
    # no quotes, one group each
    for r in numbers.RULES:
        assert "\\" not in r.pattern and '"' not in r.pattern and r.pattern.count("(") == 1
        assert r.pattern.startswith("^") and r.pattern.endswith("$")
