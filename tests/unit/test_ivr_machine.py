"""The IVR state machine driven over the demo centre's menu."""
from __future__ import annotations

import pytest

from hotline import settings
from ivr import machine
from ivr.machine import Ask, Finish, Input, SetVars, Started
from ivr.model import Entry, Goto, Hangup, Menu, Node, SetLanguage, ToDepartment, from_centre


@pytest.fixture(scope="module")
def menu() -> Menu:
    return from_centre(settings.load_centre(settings.DEMO_CONFIG))


def asks(cmds) -> list[Ask]:
    return [c for c in cmds if isinstance(c, Ask)]


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


def run(menu: Menu, entry: str, inputs: list[str], t0: float = 1000.0):
    """Drive a whole call; returns (final state, commands of the last transition, all commands)."""
    state, cmds = machine.start(menu, Started(entry, t0))
    history = [cmds]
    for i, digits in enumerate(inputs, start=1):
        assert not state.finished, f"input {digits!r} fed after the call finished"
        state, cmds = machine.step(menu, state, Input(digits, t0 + i))
        history.append(cmds)
    return state, cmds, history


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
    assert v["HL_PATH"] == "lang:1@1001.000,dept:2@1002.000"
    # after the language choice the caller heard the department menu
    assert asks(history[1]) == [Ask("departments", "cmn", 5.0)]


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


# -- timeouts and invalid input ---------------------------------------------------------------
def test_language_timeout_retries_once_then_defaults_to_mandarin(menu):
    state, cmds = machine.start(menu, Started("12345", 1000.0))
    state, cmds = machine.step(menu, state, Input("", 1004.0))
    assert not state.finished
    assert asks(cmds) == [Ask("welcome", "cmn", 4.0)]           # replayed
    assert vars_of(cmds)["HL_PATH"] == "lang:t@1004.000"
    state, cmds = machine.step(menu, state, Input("", 1008.0))
    assert not state.finished
    assert state.language == "cmn"
    assert asks(cmds) == [Ask("departments", "cmn", 5.0)]       # moved on, not hung up
    assert vars_of(cmds)["HL_PATH"] == "lang:t@1004.000,lang:t@1008.000"


def test_department_timeouts_retry_twice_then_go_to_general(menu):
    state, cmds, history = run(menu, "12345", ["2", "", "", ""])
    assert state.finished
    assert finish_of(cmds) == Finish("queue", "general")
    assert vars_of(cmds)["HL_LANG"] == "yue"
    assert [s.input for s in state.path] == ["2", "t", "t", "t"]
    # the two retries replayed the department prompt in the caller's language
    assert asks(history[2]) == [Ask("departments", "yue", 5.0)]
    assert asks(history[3]) == [Ask("departments", "yue", 5.0)]


def test_silent_caller_ends_at_the_operator(menu):
    state, cmds, history = run(menu, "12345", ["", "", "", "", ""])
    assert state.finished
    assert finish_of(cmds) == Finish("queue", "general")
    assert vars_of(cmds)["HL_PATH"] == ",".join(
        f"{n}:t@{1000 + i}.000" for i, n in enumerate(["lang", "lang", "dept", "dept", "dept"], start=1))
    assert all(finish_of(h) is None for h in history[:-1])


def test_invalid_language_digit_retries_then_falls_back(menu):
    state, cmds, history = run(menu, "12345", ["9", "8"])
    assert [s.input for s in state.path] == ["!9", "!8"]
    assert asks(history[1]) == [Ask("welcome", "cmn", 4.0)]
    assert asks(cmds) == [Ask("departments", "cmn", 5.0)]
    assert not state.finished


def test_invalid_department_digit_retries_then_goes_to_general(menu):
    state, cmds, _ = run(menu, "12345", ["1", "9", "7", "8"])
    assert finish_of(cmds) == Finish("queue", "general")
    assert [s.input for s in state.path] == ["1", "!9", "!7", "!8"]


def test_valid_digit_after_retries_is_accepted(menu):
    _, cmds, _ = run(menu, "12345", ["1", "9", "", "4"])
    assert finish_of(cmds) == Finish("queue", "ecology")
    assert vars_of(cmds)["HL_PATH"] == "lang:1@1001.000,dept:!9@1002.000,dept:t@1003.000,dept:4@1004.000"


# -- garbage DTMF ---------------------------------------------------------------------------
GARBAGE = ["*#*#*#", "#", "*", "abc", "9" * 10_000, "1" * 10_000, "\n", "\x00", "lang:1@5,dept:2",
           "１", "@@@", " ", "A B C D", "\u202e12"]


@pytest.mark.parametrize("digits", GARBAGE)
def test_garbage_dtmf_never_raises_and_keeps_the_path_bounded(menu, digits):
    state, cmds = machine.start(menu, Started("12345", 1000.0))
    steps = 0
    while not state.finished:
        state, cmds = machine.step(menu, state, Input(digits, 1000.0 + steps))
        steps += 1
        assert steps <= 10, "the menu never ended"
    assert finish_of(cmds) is not None
    v = vars_of(cmds)
    assert v["HL_QUEUE"].startswith("hl-")
    assert len(v["HL_PATH"]) < 200
    for s in state.path:
        assert len(s.input) <= 17
        assert set(s.input) <= set("0123456789*#!t")
    # the path text stays parseable: exactly one ':' and '@' per step, no stray separators
    for item in v["HL_PATH"].split(","):
        assert item.count(":") == 1 and item.count("@") == 1


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


# -- determinism --------------------------------------------------------------------------------
@pytest.mark.parametrize("inputs", [["1", "2"], ["", "", "", "", ""], ["*#", "0"], ["3", "9", "6"]])
def test_identical_inputs_give_identical_outputs(menu, inputs):
    a = run(menu, "12345", inputs)
    b = run(menu, "12345", inputs)
    assert a == b
    fresh = from_centre(settings.load_centre(settings.DEMO_CONFIG))
    assert run(fresh, "12345", inputs) == a


# -- a hand-built menu: hangup action, on_invalid, loop guard ------------------------------------
def _loop_menu() -> Menu:
    nodes = {
        "a": Node("a", "pa", {"1": Goto("b"), "9": Hangup()}, retries=0,
                  on_timeout=Hangup(), on_invalid=ToDepartment("complaints")),
        "b": Node("b", "pb", {"1": Goto("a"), "2": SetLanguage("en", Goto("a"))}, retries=0),
    }
    return Menu(nodes=nodes, entries={"100": Entry("100", "a", None, None)}, operator="ops", max_depth=3)


def test_hangup_action_finishes_without_a_queue():
    state, cmds, _ = run(_loop_menu(), "100", ["9"])
    assert finish_of(cmds) == Finish("hangup", None)
    v = vars_of(cmds)
    assert v["HL_ACTION"] == "hangup"
    assert "HL_QUEUE" not in v
    assert state.finished


def test_on_invalid_differs_from_on_timeout():
    _, cmds_t, _ = run(_loop_menu(), "100", [""])
    _, cmds_i, _ = run(_loop_menu(), "100", ["7"])
    assert finish_of(cmds_t) == Finish("hangup", None)
    assert finish_of(cmds_i) == Finish("queue", "complaints")


def test_menu_loop_is_cut_at_max_depth_to_the_operator():
    # a -> b -> a are three node entries (max_depth); the next Goto is cut to the operator
    state, cmds, history = run(_loop_menu(), "100", ["1", "2", "1"])
    assert asks(history[2]) == [Ask("pa", "en", 5.0)]
    assert state.finished
    assert finish_of(cmds) == Finish("queue", "ops")
    assert vars_of(cmds)["HL_LANG"] == "en"
    assert [s.input for s in state.path] == ["1", "2", "1"]
