"""The IVR state machine driven over the demo centre's live menu (ivr/flows/*.toml)."""
from __future__ import annotations

import random
import shutil
from dataclasses import replace

import pytest

from calls.record import parse_path
from core import settings
from ivr import machine
from ivr.loader import FLOWS, load_all
from ivr.machine import (Ask, Finish, Input, KbLooked, KbUsed, Looked, LookUpKb, LookUpTicket, Play, Played,
                         SetVars, Speak, Started)
from ivr.model import Entry, Goto, Hangup, Menu, Node, SetLanguage, ToDepartment


def from_centre(centre, folder=FLOWS):
    menu, problems = load_all(folder, centre)
    assert not [p for p in problems if p.error], problems
    return menu


@pytest.fixture(scope="module")
def centre():
    return settings.load_centre(settings.DEMO_CONFIG)


@pytest.fixture(scope="module")
def menu(centre) -> Menu:
    return from_centre(centre)


def asks(cmds) -> list[Ask]:
    return [c for c in cmds if isinstance(c, Ask)]


def plays(cmds) -> list[Play]:
    return [c for c in cmds if isinstance(c, Play)]


def finish_of(cmds) -> Finish | None:
    fins = [c for c in cmds if isinstance(c, Finish)]
    assert len(fins) <= 1
    return fins[0] if fins else None


def vars_of(cmds) -> dict[str, str]:
    out: dict[str, str] = {}
    for c in cmds:
        if isinstance(c, SetVars):
            out.update(c.values)
    return out


def run(menu: Menu, entry: str, inputs: list[str], t0: float = 1000.0, remembered: str | None = None):
    """Drive a whole call; returns (final state, commands of the last transition, all commands)."""
    state, cmds = machine.start(menu, Started(entry, t0, remembered))
    history = [cmds]
    for i, digits in enumerate(inputs, start=1):
        assert not state.finished, f"input {digits!r} fed after the call finished"
        state, cmds = machine.step(menu, state, Input(digits, t0 + i))
        history.append(cmds)
    return state, cmds, history


def assert_path_round_trips(state, text: str, t0: float) -> None:
    """What the call record makes of HL_PATH is exactly the walk the machine recorded."""
    parsed = parse_path(text, t0)
    assert [(p["node"], p["input"], p["t"]) for p in parsed] == \
        [(s.node, s.input, round(s.t - t0, 3)) for s in state.path]


# -- the happy path -------------------------------------------------------------------
def test_centre_number_asks_for_language_first(menu):
    state, cmds = machine.start(menu, Started("12345", 1000.0))
    assert not state.finished
    assert state.node == "lang"
    assert asks(cmds) == [Ask("welcome", "cmn", 4.0)]
    assert finish_of(cmds) is None


def test_language_then_department_reaches_tax(menu):
    state, cmds, history = run(menu, "12345", ["1", "2"])
    assert state.finished
    assert finish_of(cmds) == Finish("queue", "tax")
    v = vars_of(cmds)
    assert v["HL_QUEUE"] == "hl-tax"
    assert v["HL_DEPT"] == "tax"
    assert v["HL_LANG"] == "cmn"
    assert v["HL_ACTION"] == "queue"
    assert v["HL_PATH"] == "lang:1@1001.000,main:2@1002.000"
    # after the language choice the caller heard the main menu
    assert asks(history[1]) == [Ask("main", "cmn", 5.0)]


@pytest.mark.parametrize("digit, lang", [("1", "cmn"), ("2", "yue"), ("3", "en")])
def test_language_choice_is_used_for_prompts_and_the_queue(menu, digit, lang):
    state, cmds, history = run(menu, "12345", [digit, "3"])
    assert asks(history[1])[0].language == lang
    assert vars_of(history[1])["HL_LANG"] == lang
    assert finish_of(cmds) == Finish("queue", "hrss")
    assert vars_of(cmds)["HL_LANG"] == lang
    assert state.language == lang


@pytest.mark.parametrize("digit, dept", [
    ("0", "general"), ("1", "market"), ("2", "tax"), ("3", "hrss"),
    ("4", "ecology"), ("5", "housing"), ("6", "prices"),
])
def test_every_department_digit(menu, digit, dept):
    _, cmds, _ = run(menu, "12345", ["1", digit])
    assert finish_of(cmds) == Finish("queue", dept)
    assert vars_of(cmds)["HL_QUEUE"] == f"hl-{dept}"


# -- department numbers ------------------------------------------------------------------
@pytest.mark.parametrize("number, dept", [
    ("12366", "tax"), ("12315", "market"), ("12333", "hrss"), ("12369", "ecology"),
    ("12329", "housing"), ("12358", "prices"),
])
def test_department_number_goes_straight_to_its_queue(menu, number, dept):
    state, cmds = machine.start(menu, Started(number, 1000.0))
    assert asks(cmds) == []
    assert finish_of(cmds) == Finish("queue", dept)
    v = vars_of(cmds)
    assert v == {"HL_PATH": "", "HL_LANG": "cmn", "HL_DEPT": dept, "HL_QUEUE": f"hl-{dept}",
                 "HL_ACTION": "queue"}
    assert state.finished
    # nothing more happens whatever the caller presses
    assert machine.step(menu, state, Input("5", 1001.0)) == (state, [])


@pytest.mark.parametrize("entry", ["99999", "", "1234", "12345\n", "'; DROP", "x" * 5000])
def test_unknown_entry_goes_to_the_operator(menu, entry):
    state, cmds = machine.start(menu, Started(entry, 1000.0))
    assert asks(cmds) == []
    assert finish_of(cmds) == Finish("queue", "general")
    assert vars_of(cmds)["HL_QUEUE"] == "hl-general"
    assert vars_of(cmds)["HL_LANG"] == "cmn"
    assert state.finished


# -- the operator -------------------------------------------------------------------------
def test_zero_in_language_menu_reaches_the_operator(menu):
    state, cmds, _ = run(menu, "12345", ["0"])
    assert state.finished
    assert finish_of(cmds) == Finish("queue", "general")
    assert vars_of(cmds)["HL_PATH"] == "lang:0@1001.000"
    assert vars_of(cmds)["HL_LANG"] == "cmn"


def test_zero_after_a_timeout_still_reaches_the_operator(menu):
    _, cmds, _ = run(menu, "12345", ["", "0"])
    assert finish_of(cmds) == Finish("queue", "general")
    assert vars_of(cmds)["HL_PATH"] == "lang:t@1001.000,lang:0@1002.000"


def test_zero_in_the_faq_reaches_the_operator_in_the_callers_language(menu):
    state, cmds, _ = run(menu, "12345", ["3", "7", "0"])
    assert finish_of(cmds) == Finish("queue", "general")
    assert vars_of(cmds)["HL_LANG"] == "en"
    assert vars_of(cmds)["HL_PATH"] == "lang:3@1001.000,main:7@1002.000,faq:0@1003.000"


# -- timeouts and invalid input ---------------------------------------------------------------
def test_language_timeout_retries_once_then_defaults_to_mandarin(menu):
    state, cmds = machine.start(menu, Started("12345", 1000.0))
    state, cmds = machine.step(menu, state, Input("", 1004.0))
    assert not state.finished
    assert asks(cmds) == [Ask("welcome", "cmn", 4.0)]           # replayed
    assert plays(cmds) == []                                    # silence is not "invalid"
    assert vars_of(cmds)["HL_PATH"] == "lang:t@1004.000"
    state, cmds = machine.step(menu, state, Input("", 1008.0))
    assert not state.finished
    assert state.language == "cmn"
    assert asks(cmds) == [Ask("main", "cmn", 5.0)]              # moved on, not hung up
    assert vars_of(cmds)["HL_PATH"] == "lang:t@1004.000,lang:t@1008.000"


def test_department_timeouts_retry_twice_then_go_to_general(menu):
    state, cmds, history = run(menu, "12345", ["2", "", "", ""])
    assert state.finished
    assert finish_of(cmds) == Finish("queue", "general")
    assert vars_of(cmds)["HL_LANG"] == "yue"
    assert [s.input for s in state.path] == ["2", "t", "t", "t"]
    # the two retries replayed the main prompt in the caller's language
    assert asks(history[2]) == [Ask("main", "yue", 5.0)]
    assert asks(history[3]) == [Ask("main", "yue", 5.0)]


def test_silent_caller_ends_at_the_operator(menu):
    state, cmds, history = run(menu, "12345", ["", "", "", "", ""])
    assert state.finished
    assert finish_of(cmds) == Finish("queue", "general")
    assert vars_of(cmds)["HL_PATH"] == ",".join(
        f"{n}:t@{1000 + i}.000" for i, n in enumerate(["lang", "lang", "main", "main", "main"], start=1))
    assert all(finish_of(h) is None for h in history[:-1])


def test_invalid_language_digit_says_invalid_retries_then_falls_back(menu):
    state, cmds, history = run(menu, "12345", ["9", "8"])
    assert [s.input for s in state.path] == ["!9", "!8"]
    # the caller is told the key was wrong, then hears the question again
    assert [c for c in history[1] if isinstance(c, (Play, Ask))] == [Play("invalid", "cmn"),
                                                                      Ask("welcome", "cmn", 4.0)]
    assert asks(cmds) == [Ask("main", "cmn", 5.0)]
    assert not state.finished


def test_invalid_department_digit_says_invalid_retries_then_goes_to_general(menu):
    state, cmds, history = run(menu, "12345", ["2", "*", "#", "*"])
    assert finish_of(cmds) == Finish("queue", "general")
    assert [s.input for s in state.path] == ["2", "!*", "!#", "!*"]
    for h in history[2:4]:   # both retries: "invalid" in Cantonese, then the main menu again
        assert [c for c in h if isinstance(c, (Play, Ask))] == [Play("invalid", "yue"),
                                                                 Ask("main", "yue", 5.0)]


def test_valid_digit_after_retries_is_accepted(menu):
    _, cmds, _ = run(menu, "12345", ["1", "#", "", "4"])
    assert finish_of(cmds) == Finish("queue", "ecology")
    assert vars_of(cmds)["HL_PATH"] == "lang:1@1001.000,main:!#@1002.000,main:t@1003.000,main:4@1004.000"


# -- garbage DTMF ---------------------------------------------------------------------------
GARBAGE = ["*#*#*#", "#", "*", "abc", "9" * 10_000, "1" * 10_000, "\n", "\x00", "lang:1@5,main:2",
           "１", "@@@", " ", "A B C D", "\u202e12"]


@pytest.mark.parametrize("digits", GARBAGE)
def test_garbage_dtmf_never_raises_and_keeps_the_path_bounded(menu, digits):
    state, cmds = machine.start(menu, Started("12345", 1000.0))
    steps = 0
    while not state.finished:
        state, cmds = machine.step(menu, state, Input(digits, 1000.0 + steps))
        steps += 1
        assert steps <= 10, "the menu never ended"
    fin = finish_of(cmds)
    assert fin is not None
    v = vars_of(cmds)
    if fin.action == "queue":
        assert v["HL_QUEUE"] == f"hl-{fin.department}"
    else:   # the only hang-up in the menu is "9": a callback was booked
        assert fin == Finish("hangup", None) and v["HL_CALLBACK"] == "1"
    assert len(v["HL_PATH"]) < 200
    for s in state.path:
        assert len(s.input) <= 17
        assert set(s.input) <= set("0123456789*#!t")
    # the path text stays parseable: exactly one ':' and '@' per step, no stray separators
    for item in v["HL_PATH"].split(","):
        assert item.count(":") == 1 and item.count("@") == 1
    assert_path_round_trips(state, v["HL_PATH"], 1000.0)


def _garbage_ticket(menu, digits):
    state, _, _ = run(menu, "12345", ["1", "8"])
    state, cmds = machine.step(menu, state, Input(digits, 1003.0))
    looks = [c for c in cmds if isinstance(c, LookUpTicket)]
    if looks:   # only ASCII digits reach the ticket store, at most 10 of them
        assert set(looks[0].ticket) <= set("0123456789")
        assert 1 <= len(looks[0].ticket) <= machine.MAX_TICKET_DIGITS
    else:       # nothing usable: straight back to the main menu
        assert asks(cmds) == [Ask("main", "cmn", 5.0)]
    assert set(state.path[-1].input) <= set("0123456789t")


@pytest.mark.parametrize("digits", [g for g in GARBAGE if g != "１"])
def test_garbage_as_a_ticket_number_never_raises(menu, digits):
    _garbage_ticket(menu, digits)


@pytest.mark.parametrize("digits", ["１", "²#", "٣٣#"])
def test_non_ascii_digits_never_reach_the_ticket_store(menu, digits):
    _garbage_ticket(menu, digits)


def test_long_input_only_its_first_digit_counts(menu):
    _, cmds, _ = run(menu, "12345", ["2999", "3123"])
    assert finish_of(cmds) == Finish("queue", "hrss")
    assert vars_of(cmds)["HL_LANG"] == "yue"


def test_invalid_input_label_is_cleaned_and_capped(menu):
    state, _ = machine.start(menu, Started("12345", 1000.0))
    state, _ = machine.step(menu, state, Input("9x*y#" + "9" * 100, 1001.0))
    assert state.path[-1].input == "!" + ("9*#" + "9" * 100)[:16]


def test_step_after_finish_is_a_no_op(menu):
    state, _, _ = run(menu, "12345", ["1", "2"])
    assert machine.step(menu, state, Input("3", 2000.0)) == (state, [])
    assert machine.step(menu, state, Played(2000.0)) == (state, [])


def test_stray_played_event_while_waiting_for_a_digit_changes_nothing(menu):
    state, _, _ = run(menu, "12345", ["1"])
    assert machine.step(menu, state, Played(1002.0)) == (state, [])


# -- determinism --------------------------------------------------------------------------------
@pytest.mark.parametrize("inputs", [["1", "2"], ["", "", "", "", ""], ["*#", "0"], ["3", "*", "6"],
                                    ["2", "7", "*", "9"], ["1", "8", "12345#"]])
def test_identical_inputs_give_identical_outputs(menu, centre, inputs):
    a = run(menu, "12345", inputs)
    b = run(menu, "12345", inputs)
    assert a == b
    fresh = from_centre(centre)
    assert run(fresh, "12345", inputs) == a


# -- FAQ: the knowledge base's answer read out, then back to the main menu -------------------------
FAQ = {"1": ("office_hours", "faq_hours"), "2": ("ss_card_replacement", "faq_card")}


def _at_kb_look_up(menu, lang_digit, faq_digit):
    state, cmds, history = run(menu, "12345", [lang_digit, "7", faq_digit])
    return state, cmds, history


@pytest.mark.parametrize("lang_digit, lang", [("1", "cmn"), ("2", "yue"), ("3", "en")])
@pytest.mark.parametrize("faq_digit", ["1", "2"])
def test_policy_answer_is_the_kb_entry_read_in_the_callers_language(menu, lang_digit, lang, faq_digit):
    key, _ = FAQ[faq_digit]
    state, cmds, history = _at_kb_look_up(menu, lang_digit, faq_digit)
    assert asks(history[2]) == [Ask("faq", lang, 5.0)]
    # the answer is looked up in the caller's language; nothing is played before it is known
    assert [c for c in cmds if not isinstance(c, SetVars)] == [LookUpKb(key, lang)]
    state, cmds = machine.step(menu, state, KbLooked(key, 41, "ANSWER TEXT", 1003.5))
    assert [c for c in cmds if not isinstance(c, SetVars)] == [Speak("ANSWER TEXT", lang), KbUsed(41)]
    # the call record will say which answer was heard
    assert vars_of(cmds)["HL_PATH"].endswith(",kb:41@1003.500")
    assert not state.finished
    state, cmds = machine.step(menu, state, Played(1010.0))
    assert asks(cmds) == [Ask("main", lang, 5.0)] and vars_of(cmds)["HL_LANG"] == lang
    state, cmds = machine.step(menu, state, Input("5", 1011.0))
    assert finish_of(cmds) == Finish("queue", "housing")
    assert [(s.node, s.input) for s in state.path] == [("lang", lang_digit), ("main", "7"), ("faq", faq_digit),
                                                        ("kb", "41"), ("main", "5")]
    assert_path_round_trips(state, vars_of(cmds)["HL_PATH"], 1000.0)


@pytest.mark.parametrize("lang_digit, lang", [("1", "cmn"), ("3", "en")])
@pytest.mark.parametrize("faq_digit", ["1", "2"])
@pytest.mark.parametrize("entry, text", [(None, None), (7, ""), (7, "   ")],
                         ids=["missing-or-unavailable", "empty", "blank"])
def test_policy_answer_without_a_kb_entry_plays_the_menus_fallback_prompt(menu, lang_digit, lang, faq_digit,
                                                                          entry, text):
    key, fallback = FAQ[faq_digit]
    state, _, _ = _at_kb_look_up(menu, lang_digit, faq_digit)
    state, cmds = machine.step(menu, state, KbLooked(key, entry, text, 1004.0))
    assert [c for c in cmds if not isinstance(c, SetVars)] == [Play(fallback, lang)]   # never silence
    assert not any(isinstance(c, KbUsed) for c in cmds)
    assert state.path[-1] == machine.Step("kb", "-", 1004.0)
    state, cmds = machine.step(menu, state, Played(1010.0))
    assert asks(cmds) == [Ask("main", lang, 5.0)]


def test_keys_and_stale_results_during_the_kb_look_up_change_nothing(menu):
    state, _, _ = _at_kb_look_up(menu, "1", "1")
    for event in (Input("2", 1003.1), KbLooked("ss_card_replacement", 9, "other answer", 1003.2),
                  Played(1003.3), Looked("1", "new", None, 1003.4)):
        assert machine.step(menu, state, event) == (state, [])
    _, cmds = machine.step(menu, state, KbLooked("office_hours", 3, "hours", 1004.0))
    assert Speak("hours", "cmn") in cmds


def test_a_kb_result_after_the_answer_was_said_is_ignored(menu):
    state, _, _ = _at_kb_look_up(menu, "1", "1")
    state, _ = machine.step(menu, state, KbLooked("office_hours", 3, "hours", 1004.0))
    assert machine.step(menu, state, KbLooked("office_hours", 3, "hours", 1004.5)) == (state, [])


def test_star_in_the_faq_goes_back_to_main_and_silence_too(menu):
    _, cmds, _ = run(menu, "12345", ["2", "7", "*"])
    assert asks(cmds) == [Ask("main", "yue", 5.0)]
    state, cmds, history = run(menu, "12345", ["2", "7", "", ""])
    assert asks(history[3]) == [Ask("faq", "yue", 5.0)]      # one retry
    assert asks(cmds) == [Ask("main", "yue", 5.0)] and not state.finished


# -- ticket status -----------------------------------------------------------------------------
def _at_ticket_prompt(menu, lang_digit="3"):
    state, cmds, _ = run(menu, "12345", [lang_digit, "8"])
    return state, cmds


@pytest.mark.parametrize("lang_digit, lang", [("1", "cmn"), ("2", "yue"), ("3", "en")])
def test_ticket_status_is_looked_up_and_spoken_in_the_callers_language(menu, lang_digit, lang):
    state, cmds = _at_ticket_prompt(menu, lang_digit)
    assert asks(cmds) == [Ask("ticket_ask", lang, 10.0, 10)]
    state, cmds = machine.step(menu, state, Input("12345#", 1003.0))
    assert [c for c in cmds if not isinstance(c, SetVars)] == [LookUpTicket("12345")]
    state, cmds = machine.step(menu, state, Looked("12345", "STATUS-X", "DUE-Y", 1004.0))
    speaks = [c for c in cmds if isinstance(c, Speak)]
    assert len(speaks) == 1 and speaks[0].language == lang
    text = speaks[0].text
    assert "12345" in text and "STATUS-X" in text and "DUE-Y" in text
    assert "{" not in text
    assert text == menu.templates["ticket_status"][lang].format(id="12345", status="STATUS-X", due="DUE-Y")
    assert asks(cmds) == []      # the status is heard in full before the menu comes back
    state, cmds = machine.step(menu, state, Played(1010.0))
    assert asks(cmds) == [Ask("main", lang, 5.0)]
    assert not state.finished
    assert [(s.node, s.input) for s in state.path] == [("lang", lang_digit), ("main", "8"),
                                                        ("ticket", "12345")]


def test_ticket_status_sentence_in_english(menu):
    state, _ = _at_ticket_prompt(menu, "3")
    state, _ = machine.step(menu, state, Input("12345#", 1003.0))
    _, cmds = machine.step(menu, state, Looked("12345", "in progress", "Due on Friday.", 1004.0))
    assert [c for c in cmds if isinstance(c, Speak)] == [Speak("Ticket 12345: in progress. Due on Friday.", "en")]


def test_ticket_without_due_date_has_no_placeholder_or_none(menu):
    state, _ = _at_ticket_prompt(menu, "3")
    state, _ = machine.step(menu, state, Input("777#", 1003.0))
    _, cmds = machine.step(menu, state, Looked("777", "closed", None, 1004.0))
    text = [c for c in cmds if isinstance(c, Speak)][0].text
    assert "None" not in text and "{" not in text and "closed" in text


def test_unknown_ticket_says_so_then_back_to_main(menu):
    state, _ = _at_ticket_prompt(menu, "2")
    state, cmds = machine.step(menu, state, Input("99999#", 1003.0))
    assert LookUpTicket("99999") in cmds
    state, cmds = machine.step(menu, state, Looked("99999", None, None, 1004.0))
    assert [c for c in cmds if isinstance(c, (Play, Speak, Ask))] == [Play("ticket_unknown", "yue")]
    state, cmds = machine.step(menu, state, Played(1006.0))
    assert asks(cmds) == [Ask("main", "yue", 5.0)]
    assert not state.finished


@pytest.mark.parametrize("digits", ["", "#", "*#", "abc#"])
def test_empty_ticket_number_goes_back_to_main_without_a_look_up(menu, digits):
    state, _ = _at_ticket_prompt(menu, "1")
    state, cmds = machine.step(menu, state, Input(digits, 1003.0))
    assert not any(isinstance(c, LookUpTicket) for c in cmds)
    assert asks(cmds) == [Ask("main", "cmn", 5.0)]
    assert state.path[-1].node == "ticket" and state.path[-1].input == "t"
    # back at main, keys work again
    _, cmds = machine.step(menu, state, Input("2", 1004.0))
    assert finish_of(cmds) == Finish("queue", "tax")


def test_ticket_number_is_digits_only_and_capped(menu):
    state, _ = _at_ticket_prompt(menu)
    _, cmds = machine.step(menu, state, Input("12*34a5" + "6" * 30 + "#", 1003.0))
    assert [c for c in cmds if isinstance(c, LookUpTicket)] == [LookUpTicket("1234566666")]


def test_zero_as_ticket_number_is_looked_up_not_the_operator(menu):
    state, _ = _at_ticket_prompt(menu)
    state, cmds = machine.step(menu, state, Input("0#", 1003.0))
    assert LookUpTicket("0") in cmds and finish_of(cmds) is None


# -- callback ----------------------------------------------------------------------------------
@pytest.mark.parametrize("lang_digit, lang", [("1", "cmn"), ("2", "yue"), ("3", "en")])
def test_nine_books_a_callback_and_hangs_up(menu, lang_digit, lang):
    state, cmds, _ = run(menu, "12345", [lang_digit, "9"])
    assert state.finished and state.callback
    assert [c for c in cmds if not isinstance(c, SetVars)] == [Play("callback_ok", lang), Finish("hangup", None)]
    v = vars_of(cmds)
    assert v["HL_CALLBACK"] == "1"
    assert v["HL_ACTION"] == "hangup"
    assert v["HL_LANG"] == lang
    assert "HL_QUEUE" not in v and "HL_DEPT" not in v
    assert v["HL_PATH"] == f"lang:{lang_digit}@1001.000,main:9@1002.000"


def test_department_choice_is_not_a_callback(menu):
    state, cmds, _ = run(menu, "12345", ["1", "2"])
    assert not state.callback
    assert "HL_CALLBACK" not in vars_of(cmds)


# -- remembered language ---------------------------------------------------------------------------
def test_remembered_language_is_used_when_the_caller_does_not_choose(menu):
    state, cmds, history = run(menu, "12345", ["", ""], remembered="yue")
    assert state.language == "yue"
    assert asks(cmds) == [Ask("main", "yue", 5.0)]
    assert vars_of(cmds)["HL_LANG"] == "yue"
    _, cmds = machine.step(menu, state, Input("4", 1003.0))
    assert finish_of(cmds) == Finish("queue", "ecology")
    assert vars_of(cmds)["HL_LANG"] == "yue"


def test_pressing_a_language_beats_the_remembered_one(menu):
    state, cmds, _ = run(menu, "12345", ["3"], remembered="yue")
    assert state.language == "en"
    assert asks(cmds) == [Ask("main", "en", 5.0)]


def test_without_remembered_language_timeouts_fall_back_to_mandarin(menu):
    state, cmds, _ = run(menu, "12345", ["", ""], remembered=None)
    assert state.language == "cmn"


def test_operator_from_the_language_menu_gets_the_remembered_language(menu):
    _, cmds, _ = run(menu, "12345", ["0"], remembered="en")
    assert finish_of(cmds) == Finish("queue", "general")
    assert vars_of(cmds)["HL_LANG"] == "en"


# -- max_steps: nobody goes round in circles forever --------------------------------------------------
def test_faq_round_trips_forever_reach_the_operator_after_max_steps(menu):
    assert menu.max_steps == 12
    state, cmds = machine.start(menu, Started("12345", 1000.0))
    keys = ["3"] + ["7", "*"] * 20
    fed = 0
    for fed, key in enumerate(keys, start=1):
        state, cmds = machine.step(menu, state, Input(key, 1000.0 + fed))
        if state.finished:
            break
        assert asks(cmds), "the caller was left in silence"
    assert state.finished
    assert fed == menu.max_steps + 1
    assert finish_of(cmds) == Finish("queue", "general")
    v = vars_of(cmds)
    assert v["HL_LANG"] == "en"
    assert len(state.path) == menu.max_steps
    assert_path_round_trips(state, v["HL_PATH"], 1000.0)


def test_max_steps_is_the_menus_setting(menu):
    short = replace(menu, max_steps=4)
    state, cmds, history = run(short, "12345", ["1", "7", "*", "7"])
    assert not state.finished and asks(cmds) == [Ask("faq", "cmn", 5.0)]
    state, cmds = machine.step(short, state, Input("*", 1010.0))
    assert finish_of(cmds) == Finish("queue", "general")


# -- a hand-built menu: hangup action, on_invalid, loop guard ------------------------------------
def _loop_menu(**kw) -> Menu:
    nodes = {
        "a": Node("a", "pa", {"1": Goto("b"), "9": Hangup()}, retries=0,
                  on_timeout=Hangup(), on_invalid=ToDepartment("complaints")),
        "b": Node("b", "pb", {"1": Goto("a"), "2": SetLanguage("en", Goto("a"))}, retries=0),
    }
    return Menu(nodes=nodes, entries={"100": Entry("100", "a", None, None)}, operator="ops", max_depth=3, **kw)


def test_hangup_action_finishes_without_a_queue():
    state, cmds, _ = run(_loop_menu(), "100", ["9"])
    assert finish_of(cmds) == Finish("hangup", None)
    v = vars_of(cmds)
    assert v["HL_ACTION"] == "hangup"
    assert "HL_QUEUE" not in v
    assert "HL_CALLBACK" not in v          # a plain hang-up books no callback
    assert state.finished and not state.callback


def test_on_invalid_differs_from_on_timeout():
    _, cmds_t, _ = run(_loop_menu(), "100", [""])
    _, cmds_i, _ = run(_loop_menu(), "100", ["7"])
    assert finish_of(cmds_t) == Finish("hangup", None)
    assert finish_of(cmds_i) == Finish("queue", "complaints")


def test_menu_loop_is_cut_at_max_steps_to_the_operator():
    # a -> b -> a -> b: after max_steps (3) inputs the next one goes to the operator
    menu = _loop_menu(max_steps=3)
    state, cmds, history = run(menu, "100", ["1", "2", "1"])
    assert asks(history[2]) == [Ask("pa", "en", 5.0)]
    assert not state.finished
    state, cmds = machine.step(menu, state, Input("1", 1004.0))
    assert state.finished
    assert finish_of(cmds) == Finish("queue", "ops")
    assert vars_of(cmds)["HL_LANG"] == "en"
    assert [s.input for s in state.path] == ["1", "2", "1"]


def test_max_depth_no_longer_cuts_a_call_at_run_time():
    # four node entries exceed max_depth 3, but only max_steps (12) ends a call
    state, cmds, _ = run(_loop_menu(), "100", ["1", "1", "1", "1", "1"])
    assert not state.finished
    assert asks(cmds) == [Ask("pb", "cmn", 5.0)]


# -- whole calls, driven like the runner: never silent, always ends, HL_PATH parseable ----------------
_KEYS = list("0123456789*#") + ["", "", "12345#", "#", "7", "*", "8", "x", "9" * 50, "\x00"]


def _drive(menu: Menu, entry: str, rng: random.Random, t0: float = 1000.0):
    """Answer every command as the runner would; returns (state, final commands, inputs fed)."""
    state, cmds = machine.start(menu, Started(entry, t0, rng.choice([None, "cmn", "yue", "en"])))
    t, inputs = t0, 0
    while not state.finished:
        t += 1
        if any(isinstance(c, LookUpKb) for c in cmds):
            key = next(c for c in cmds if isinstance(c, LookUpKb)).key
            event = rng.choice([KbLooked(key, None, None, t), KbLooked(key, 12, "answer", t)])
        elif any(isinstance(c, LookUpTicket) for c in cmds):
            ticket = next(c for c in cmds if isinstance(c, LookUpTicket)).ticket
            event = Looked(ticket, rng.choice([None, "new", "closed"]), rng.choice([None, "", "soon"]), t)
        elif asks(cmds):
            event, inputs = Input(rng.choice(_KEYS), t), inputs + 1
        else:
            assert any(isinstance(c, (Play, Speak)) for c in cmds), f"caller left in silence: {cmds}"
            event = Played(t)
        state, cmds = machine.step(menu, state, event)
        assert inputs <= menu.max_steps + 1, "the call never ended"
    return state, cmds, inputs


@pytest.mark.parametrize("seed", range(300))
def test_random_calls_always_end_and_hl_path_is_parseable(menu, centre, seed):
    state, cmds, _ = _drive(menu, "12345", random.Random(seed))
    fin = finish_of(cmds)
    v = vars_of(cmds)
    assert fin is not None and v["HL_ACTION"] == fin.action
    if fin.action == "queue":
        assert fin.department in {d.code for d in centre.departments}
        assert v["HL_QUEUE"] == f"hl-{fin.department}"
    else:
        assert v["HL_CALLBACK"] == "1"
    assert v["HL_LANG"] in ("cmn", "yue", "en")
    assert_path_round_trips(state, v["HL_PATH"], 1000.0)


def test_hl_path_is_parseable_for_a_second_menu_file(centre, tmp_path):
    shutil.copy(FLOWS / "12345.toml", tmp_path / "12345.toml")
    second = (FLOWS / "12345.toml").read_text().replace('entry = "12345"', 'entry = "12366"')
    (tmp_path / "12366.toml").write_text(second)
    menu = from_centre(centre, tmp_path)
    state, cmds, _ = run(menu, "12366", ["1", "2"])
    assert finish_of(cmds) == Finish("queue", "tax")
    parsed = parse_path(vars_of(cmds)["HL_PATH"], 1000.0)
    assert [p["input"] for p in parsed] == ["1", "2"]
    assert_path_round_trips(state, vars_of(cmds)["HL_PATH"], 1000.0)
