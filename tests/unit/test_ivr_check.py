"""`hotline ivr check`: every defect in a menu file is reported with its file and line.

Each test breaks a small valid menu in one way and expects an error on the line of the
offending node or key, with a message naming it; the reload refuses menus with errors.
"""
from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from core import settings
from ivr import machine
from ivr.loader import FLOWS, Problem, errors, load_all, load_menu

# A minimal valid menu: main (departments, a goto to "more"), more (back with *).
MINIMAL = '''\
entry = "12345"
start = "main"
operator = "general"
fallback_language = "cmn"
max_depth = 3

[prompts.main]
cmn = "税务请按1，更多请按2。"
yue = "稅務請按1，更多請按2。"
en = "Tax, press 1. More, press 2."

[prompts.more]
cmn = "返回请按星号。"
yue = "返回請按星號。"
en = "To go back, press star."

[templates.ticket_status]
cmn = "工单{id}，状态：{status}。{due}"
yue = "工單{id}，狀態：{status}。{due}"
en = "Ticket {id}: {status}. {due}"

[nodes.main]
prompt = "main"
timeout = 5
retries = 2
on_timeout = { department = "general" }

[nodes.main.options]
"1" = { department = "tax" }
"2" = { goto = "more" }

[nodes.more]
prompt = "more"
timeout = 5
on_timeout = { goto = "main" }

[nodes.more.options]
"*" = { goto = "main" }
'''


@pytest.fixture(scope="module")
def centre():
    return settings.load_centre(settings.DEMO_CONFIG)


def line_of(text: str, needle: str) -> int:
    """1-based line of the only line containing needle."""
    hits = [no for no, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) == 1, f"{needle!r} is on lines {hits}"
    return hits[0]


def add_option(text: str, node: str, option: str) -> str:
    """Add an option line under [nodes.<node>.options]."""
    header = f"[nodes.{node}.options]\n"
    assert header in text
    return text.replace(header, header + option + "\n")


def check(tmp_path: Path, centre, text: str, name: str = "12345.toml") -> tuple[object, list[Problem]]:
    path = tmp_path / name
    path.write_text(text)
    return load_menu(path, centre)


def only_error(problems: list[Problem], *words: str) -> Problem:
    """The one error the defect causes; it names what is wrong."""
    errs = errors(problems)
    assert len(errs) == 1, [str(p) for p in problems]
    for w in words:
        assert w in errs[0].message, str(errs[0])
    return errs[0]


def test_the_minimal_menu_is_clean(tmp_path, centre):
    menu, problems = check(tmp_path, centre, MINIMAL)
    assert problems == []
    assert menu is not None and set(menu.nodes) == {"main", "more"}
    # and it really works: 1 is tax
    state, _ = machine.start(menu, machine.Started("12345", 0.0))
    _, cmds = machine.step(menu, state, machine.Input("1", 1.0))
    assert machine.Finish("queue", "tax") in cmds


def test_the_shipped_menu_has_no_errors(centre):
    menu, problems = load_menu(FLOWS / "12345.toml", centre)
    assert menu is not None
    assert errors(problems) == [], [str(p) for p in problems]


def test_problem_reads_as_file_line_kind_message():
    assert str(Problem("12345.toml", 7, "node 'x' is unreachable")) == "12345.toml:7: error: node 'x' is unreachable"
    assert str(Problem("12345.toml", 9, "no en text", error=False)) == "12345.toml:9: warning: no en text"


# -- structure ----------------------------------------------------------------------------------
def test_unreachable_node(tmp_path, centre):
    text = MINIMAL + '\n[nodes.orphan]\nprompt = "more"\n'
    _, problems = check(tmp_path, centre, text)
    p = only_error(problems, "'orphan'", "unreachable")
    assert p.line == line_of(text, "[nodes.orphan]")
    assert p.file == "12345.toml"


def test_action_that_leads_nowhere_is_a_dead_end(tmp_path, centre):
    text = add_option(MINIMAL, "main", '"3" = { language = "en" }')
    _, problems = check(tmp_path, centre, text)
    p = only_error(problems, "dead end", "options.3")
    assert p.line == line_of(text, '"3" = { language = "en" }')


def test_on_timeout_that_leads_nowhere_is_a_dead_end(tmp_path, centre):
    text = MINIMAL.replace('on_timeout = { goto = "main" }', 'on_timeout = { callback = false }')
    _, problems = check(tmp_path, centre, text)
    p = only_error(problems, "dead end", "nodes.more.on_timeout")
    assert p.line == line_of(text, "on_timeout = { callback = false }")


@pytest.mark.parametrize("action", ['{ say = "more" }', "{ ticket_status = true }"])
def test_say_or_ticket_status_without_a_follow_up_is_a_dead_end(tmp_path, centre, action):
    text = add_option(MINIMAL, "more", f'"1" = {action}')
    _, problems = check(tmp_path, centre, text)
    dead = [p for p in errors(problems) if "dead end" in p.message]
    assert len(dead) == 1 and dead[0].line == line_of(text, f'"1" = {action}')


def test_node_whose_every_path_loops_back_to_itself(tmp_path, centre):
    text = add_option(MINIMAL, "main", '"3" = { goto = "spin" }') + '''
[nodes.spin]
prompt = "more"
on_timeout = { goto = "spin" }
options = { "1" = { goto = "spin" }, "2" = { goto = "spin" } }
'''
    _, problems = check(tmp_path, centre, text)
    p = only_error(problems, "'spin'", "loop without exit")
    assert p.line == line_of(text, "[nodes.spin]")


def test_loop_without_exit_between_two_nodes(tmp_path, centre):
    text = add_option(MINIMAL, "main", '"3" = { goto = "ping" }') + '''
[nodes.ping]
prompt = "more"
on_timeout = { goto = "pong" }
options = { "1" = { goto = "pong" } }

[nodes.pong]
prompt = "more"
on_timeout = { goto = "ping" }
options = { "1" = { goto = "ping" } }
'''
    _, problems = check(tmp_path, centre, text)
    errs = errors(problems)
    assert {(p.line, "loop without exit" in p.message) for p in errs} == {
        (line_of(text, "[nodes.ping]"), True), (line_of(text, "[nodes.pong]"), True)}
    assert any("'ping'" in p.message for p in errs) and any("'pong'" in p.message for p in errs)


def test_node_that_only_leads_into_a_closed_loop_is_a_dead_end(tmp_path, centre):
    text = add_option(MINIMAL, "main", '"3" = { goto = "door" }') + '''
[nodes.door]
prompt = "more"
on_timeout = { goto = "ping" }

[nodes.ping]
prompt = "more"
on_timeout = { goto = "pong" }

[nodes.pong]
prompt = "more"
on_timeout = { goto = "ping" }
'''
    _, problems = check(tmp_path, centre, text)
    door = [p for p in errors(problems) if "'door'" in p.message]
    assert len(door) == 1 and "dead end" in door[0].message
    assert door[0].line == line_of(text, "[nodes.door]")


def test_goto_to_an_undefined_node(tmp_path, centre):
    text = add_option(MINIMAL, "main", '"3" = { goto = "nowhere" }')
    _, problems = check(tmp_path, centre, text)
    p = only_error(problems, "'nowhere'", "undefined node")
    assert p.line == line_of(text, '"3" = { goto = "nowhere" }')


def test_start_node_undefined(tmp_path, centre):
    text = MINIMAL.replace('start = "main"', 'start = "begin"')
    _, problems = check(tmp_path, centre, text)
    start = [p for p in errors(problems) if "start node 'begin'" in p.message]
    assert len(start) == 1 and start[0].line == line_of(text, 'start = "begin"')


@pytest.mark.parametrize("max_depth, deep", [(3, True), (4, False)])
def test_node_deeper_than_max_depth(tmp_path, centre, max_depth, deep):
    # main(1) -> more(2) -> d3(3) -> d4(4)
    text = add_option(MINIMAL, "more", '"1" = { goto = "d3" }').replace("max_depth = 3", f"max_depth = {max_depth}")
    text += '''
[nodes.d3]
prompt = "more"
options = { "1" = { goto = "d4" } }

[nodes.d4]
prompt = "more"
'''
    _, problems = check(tmp_path, centre, text)
    if deep:
        p = only_error(problems, "'d4'", "4 levels", "max_depth 3")
        assert p.line == line_of(text, "[nodes.d4]")
    else:
        assert errors(problems) == []


# -- departments and prompts ----------------------------------------------------------------------
@pytest.mark.parametrize("where", ["option", "on_timeout"])
def test_undefined_department(tmp_path, centre, where):
    if where == "option":
        bad = '"3" = { department = "police" }'
        text = add_option(MINIMAL, "main", bad)
    else:
        bad = 'on_timeout = { department = "police" }'
        text = MINIMAL.replace('on_timeout = { department = "general" }', bad)
    _, problems = check(tmp_path, centre, text)
    p = only_error(problems, "'police'", "not defined")
    assert p.line == line_of(text, bad)


def test_undefined_operator(tmp_path, centre):
    text = MINIMAL.replace('operator = "general"', 'operator = "switchboard"')
    _, problems = check(tmp_path, centre, text)
    p = only_error(problems, "'switchboard'")
    assert p.line == line_of(text, 'operator = "switchboard"')


def test_undefined_prompt_of_a_node(tmp_path, centre):
    text = MINIMAL.replace('prompt = "more"', 'prompt = "moer"')
    _, problems = check(tmp_path, centre, text)
    p = only_error(problems, "'moer'", "not defined")
    assert p.line == line_of(text, 'prompt = "moer"')


def test_undefined_prompt_of_a_say(tmp_path, centre):
    bad = '"1" = { say = "opening_hours", goto = "main" }'
    text = add_option(MINIMAL, "more", bad)
    _, problems = check(tmp_path, centre, text)
    p = only_error(problems, "'opening_hours'", "not defined")
    assert p.line == line_of(text, bad)


@pytest.mark.parametrize("action, prompt", [('{ callback = true }', "callback_ok"),
                                            ('{ ticket_status = true, goto = "main" }', "ticket_ask")])
def test_feature_prompts_must_exist_when_the_feature_is_used(tmp_path, centre, action, prompt):
    text = add_option(MINIMAL, "main", f'"9" = {action}')
    _, problems = check(tmp_path, centre, text)
    named = [p for p in errors(problems) if f"'{prompt}'" in p.message]
    assert len(named) == 1 and named[0].line == line_of(text, f'"9" = {action}')


def test_node_without_a_prompt(tmp_path, centre):
    text = MINIMAL.replace('prompt = "more"\n', "")
    _, problems = check(tmp_path, centre, text)
    assert any("more" in p.message and "no prompt" in p.message and p.line == line_of(text, "[nodes.more]")
               for p in errors(problems)), [str(p) for p in problems]


def test_missing_translation_is_a_warning_naming_prompt_and_language(tmp_path, centre):
    text = MINIMAL.replace('en = "To go back, press star."\n', "")
    menu, problems = check(tmp_path, centre, text)
    assert errors(problems) == []
    assert len(problems) == 1
    p = problems[0]
    assert p.error is False
    assert "'more'" in p.message and re.search(r"\ben\b", p.message)
    assert p.line == line_of(text, "[prompts.more]")
    assert str(p).startswith(f"12345.toml:{p.line}: warning:")
    assert menu is not None


def test_unknown_prompt_language(tmp_path, centre):
    text = MINIMAL.replace('en = "To go back, press star."', 'en = "To go back, press star."\nfr = "Retour."')
    _, problems = check(tmp_path, centre, text)
    p = only_error(problems, "'fr'", "more")
    assert p.line == line_of(text, 'fr = "Retour."')


def test_unknown_language_in_an_action(tmp_path, centre):
    bad = '"3" = { language = "de", goto = "more" }'
    text = add_option(MINIMAL, "main", bad)
    _, problems = check(tmp_path, centre, text)
    p = only_error(problems, "'de'")
    assert p.line == line_of(text, bad)


# -- keys and timing ------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["12", "a", "**", "1 "])
def test_option_key_that_is_not_one_dtmf_key(tmp_path, centre, key):
    bad = f'"{key}" = {{ department = "tax" }}'
    text = add_option(MINIMAL, "main", bad)
    _, problems = check(tmp_path, centre, text)
    p = only_error(problems, repr(key), "DTMF")
    assert p.line == line_of(text, bad)


def test_bad_option_key_in_an_inline_options_table(tmp_path, centre):
    text = MINIMAL.replace('[nodes.more.options]\n"*" = { goto = "main" }\n',
                           'options = { "*" = { goto = "main" }, "12" = { goto = "main" } }\n')
    _, problems = check(tmp_path, centre, text)
    p = only_error(problems, "'12'")
    assert p.line == line_of(text, '"12" = { goto = "main" }')


@pytest.mark.parametrize("value", ["0", "0.5", "31", "-5", "120", "inf", "nan"])
def test_timeout_out_of_range(tmp_path, centre, value):
    text = MINIMAL.replace("timeout = 5\non_timeout", f"timeout = {value}\non_timeout")
    _, problems = check(tmp_path, centre, text)
    p = only_error(problems, "more", "timeout")
    assert p.line == line_of(text, f"timeout = {value}")


@pytest.mark.parametrize("value", ['"five"', "[5]", "{ s = 5 }"])
def test_timeout_that_is_not_a_number(tmp_path, centre, value):
    text = MINIMAL.replace("timeout = 5\non_timeout", f"timeout = {value}\non_timeout")
    _, problems = check(tmp_path, centre, text)
    p = only_error(problems, "more", "timeout")
    assert p.line in (line_of(text, "[nodes.more]"), line_of(text, f"timeout = {value}"))


@pytest.mark.parametrize("value", ["1", "30"])
def test_timeout_at_the_limits_is_fine(tmp_path, centre, value):
    text = MINIMAL.replace("timeout = 5\non_timeout", f"timeout = {value}\non_timeout")
    menu, problems = check(tmp_path, centre, text)
    assert problems == []
    assert menu.nodes["more"].timeout == float(value)


def test_retries_out_of_range(tmp_path, centre):
    text = MINIMAL.replace("retries = 2", "retries = 9")
    _, problems = check(tmp_path, centre, text)
    p = only_error(problems, "main", "retries")
    assert p.line == line_of(text, "retries = 9")


def test_retries_out_of_range_without_a_timeout_key_points_at_the_node(tmp_path, centre):
    text = MINIMAL.replace("timeout = 5\non_timeout", "retries = -1\non_timeout")
    _, problems = check(tmp_path, centre, text)
    p = only_error(problems, "more", "retries")
    assert p.line in (line_of(text, "[nodes.more]"), line_of(text, "retries = -1"))


@pytest.mark.parametrize("old, new", [
    ('"1" = { department = "tax" }', '"1" = { department = "tax" '),   # unclosed inline table
    ('timeout = 5\non_timeout = { goto', 'timeout = \non_timeout = { goto'),   # no value
    ("[nodes.main]\n", "[nodes.main\n"),                              # unclosed header
    ('cmn = "返回请按星号。"', 'cmn = "返回请按星号。'),                  # unterminated string
], ids=["inline-table", "no-value", "header", "string"])
def test_toml_syntax_error_reports_the_parsers_line(tmp_path, centre, old, new):
    assert MINIMAL.count(old) == 1
    text = MINIMAL.replace(old, new)
    broken = new.split("\n")[0]
    expected = [no for no, line in enumerate(text.splitlines(), 1) if line == broken]
    assert len(expected) == 1
    menu, problems = check(tmp_path, centre, text)
    assert menu is None
    assert len(problems) == 1 and problems[0].error
    assert "TOML" in problems[0].message
    assert problems[0].line == expected[0]


def test_unreadable_file_is_a_problem_not_an_exception(tmp_path, centre):
    path = tmp_path / "12345.toml"
    path.write_bytes(b'entry = "\xff\xfe"\n')
    menu, problems = load_menu(path, centre)
    assert menu is None and len(errors(problems)) == 1


@pytest.mark.parametrize("mutate", [
    lambda t: t.replace("max_depth = 3", 'max_depth = "three"'),
    lambda t: t.replace("[prompts.main]", 'prompts.x = "hi"\n\n[prompts.main]'),
    lambda t: t.replace('[nodes.more.options]\n"*" = { goto = "main" }\n', "options = 5\n"),
], ids=["max_depth-string", "prompt-string", "options-int"])
def test_wrong_types_are_reported_not_raised(tmp_path, centre, mutate):
    text = mutate(MINIMAL)
    _, problems = check(tmp_path, centre, text)
    assert errors(problems)


def test_ticket_template_with_an_unknown_placeholder(tmp_path, centre):
    text = add_option(MINIMAL, "main", '"8" = { ticket_status = true, goto = "main" }')
    text = text.replace("[prompts.more]", '[prompts.ticket_ask]\ncmn = "a"\nyue = "a"\nen = "a"\n\n'
                                          '[prompts.ticket_unknown]\ncmn = "b"\nyue = "b"\nen = "b"\n\n[prompts.more]')
    bad = 'en = "Ticket {id}: {state}. {due}"'
    text = text.replace('en = "Ticket {id}: {status}. {due}"', bad)
    menu, problems = check(tmp_path, centre, text)
    if not errors(problems):    # accepted: then an English caller asking for a ticket must hear it
        state, _ = machine.start(menu, machine.Started("12345", 0.0))
        state = dataclasses.replace(state, language="en")
        state, _ = machine.step(menu, state, machine.Input("8", 1.0))
        state, _ = machine.step(menu, state, machine.Input("42#", 2.0))
        _, cmds = machine.step(menu, state, machine.Looked("42", "open", "", 3.0))
        assert [c for c in cmds if isinstance(c, machine.Speak)], "the status was not spoken"
    p = only_error(problems, "ticket_status", "{state}")
    assert p.line == line_of(text, bad)


# -- the folder: load_all -------------------------------------------------------------------------
def test_shipped_file_alone_covers_every_centre_number(tmp_path, centre):
    shutil.copy(FLOWS / "12345.toml", tmp_path / "12345.toml")
    menu, problems = load_all(tmp_path, centre)
    assert errors(problems) == []
    numbers = centre.entry_numbers()
    assert set(menu.entries) == set(numbers)
    for number, dep in numbers.items():
        entry = menu.entries[number]
        if dep is None:     # the centre number opens the menu
            assert entry.start == "lang" and entry.department is None
        else:               # a department number goes straight to its queue
            assert entry.start is None and entry.department == dep.code
            state, cmds = machine.start(menu, machine.Started(number, 0.0))
            assert machine.Finish("queue", dep.code) in cmds


def test_live_folder_loads_without_errors(centre):
    menu, problems = load_all(FLOWS, centre)
    assert menu is not None and errors(problems) == []
    assert set(centre.entry_numbers()) <= set(menu.entries)


def test_centre_number_without_a_menu_file_is_reported(tmp_path, centre):
    (tmp_path / "12366.toml").write_text(MINIMAL.replace('entry = "12345"', 'entry = "12366"'))
    _, problems = load_all(tmp_path, centre)
    assert any("12345" in p.message and p.error for p in problems), [str(p) for p in problems]


def test_empty_folder_is_reported(tmp_path, centre):
    menu, problems = load_all(tmp_path, centre)
    assert menu is None
    assert len(problems) == 1 and "no menu files" in problems[0].message


def test_a_broken_file_in_the_folder_is_reported_with_its_name(tmp_path, centre):
    shutil.copy(FLOWS / "12345.toml", tmp_path / "12345.toml")
    bad = add_option(MINIMAL.replace('entry = "12345"', 'entry = "12366"'), "main", '"3" = { goto = "nowhere" }')
    (tmp_path / "12366.toml").write_text(bad)
    _, problems = load_all(tmp_path, centre)
    errs = errors(problems)
    assert len(errs) == 1
    assert errs[0].file == "12366.toml" and errs[0].line == line_of(bad, '"3" = { goto = "nowhere" }')


def test_a_second_file_cannot_silently_change_another_entrys_prompt(tmp_path, centre):
    shutil.copy(FLOWS / "12345.toml", tmp_path / "12345.toml")
    tax = MINIMAL.replace('entry = "12345"', 'entry = "12366"')
    (tmp_path / "12366.toml").write_text(tax)
    shipped, _ = load_menu(FLOWS / "12345.toml", centre)
    menu, problems = load_all(tmp_path, centre)
    state, cmds = machine.start(menu, machine.Started("12345", 0.0))
    state, cmds = machine.step(menu, state, machine.Input("1", 1.0))
    ask = [c for c in cmds if isinstance(c, machine.Ask)][0]
    heard = menu.prompts[ask.prompt].texts["cmn"]
    reported = any("main" in p.message for p in problems)
    assert reported or heard == shipped.prompts["main"].texts["cmn"], heard


# -- knowledge-base answers: kb = "<key>", fallback = "<prompt>" --------------------------------------
KB_OK = '"3" = { kb = "office_hours", fallback = "more", goto = "main" }'


def test_a_kb_action_is_clean_and_reads_the_entry_or_says_the_fallback(tmp_path, centre):
    menu, problems = check(tmp_path, centre, add_option(MINIMAL, "main", KB_OK))
    assert problems == []
    state, _ = machine.start(menu, machine.Started("12345", 0.0))
    state, cmds = machine.step(menu, state, machine.Input("3", 1.0))
    assert machine.LookUpKb("office_hours", "cmn") in cmds
    _, cmds = machine.step(menu, state, machine.KbLooked("office_hours", None, None, 2.0))
    assert machine.Play("more", "cmn") in cmds


@pytest.mark.parametrize("action, words", [
    ('{ kb = "Office Hours", fallback = "more", goto = "main" }', ["kb 'Office Hours'", "a-z, 0-9"]),
    ('{ kb = 12, fallback = "more", goto = "main" }', ["kb 12", "knowledge-base key"]),
    ('{ kb = "", fallback = "more", goto = "main" }', ["kb ''", "knowledge-base key"]),
    ('{ kb = "x,y", fallback = "more", goto = "main" }', ["kb 'x,y'"]),
    ('{ kb = "office_hours", goto = "main" }', ["kb 'office_hours'", "needs fallback", "unavailable"]),
    ('{ kb = "office_hours", fallback = 3, goto = "main" }', ["needs fallback"]),
    ('{ fallback = "more", goto = "main" }', ["fallback belongs to a kb action"]),
    ('{ kb = "office_hours", fallback = "more", say = "more", goto = "main" }', ["cannot be combined with say"]),
    ('{ kb = "office_hours", fallback = "hours_prompt", goto = "main" }', ["'hours_prompt'", "not defined"]),
    ('{ kb = "office_hours", fallback = "more" }', ["dead end"]),
    ('{ kb = "office_hours", fallback = "more", goto = "mian" }', ["undefined node 'mian'"]),
], ids=["uppercase-and-space", "an-id-number", "empty", "comma", "no-fallback", "fallback-not-text",
        "fallback-alone", "with-say", "fallback-prompt-undefined", "no-follow-up", "bad-goto"])
def test_malformed_kb_action_is_one_clear_error_on_its_line(tmp_path, centre, action, words):
    option = f'"3" = {action}'
    text = add_option(MINIMAL, "main", option)
    _, problems = check(tmp_path, centre, text)
    p = only_error(problems, *words)
    assert p.line == line_of(text, option)
    assert str(p).startswith(f"12345.toml:{p.line}: error: ")


def test_kb_with_ticket_status_is_refused(tmp_path, centre):
    option = '"3" = { kb = "office_hours", fallback = "more", ticket_status = true, goto = "main" }'
    text = add_option(MINIMAL, "main", option)
    _, problems = check(tmp_path, centre, text)
    assert [p.line for p in errors(problems) if "cannot be combined with say or ticket_status" in p.message] == \
        [line_of(text, option)]


def test_a_refused_kb_action_is_not_half_applied(tmp_path, centre):
    # the menu is refused; what the loader returns never asks the knowledge base
    menu, problems = check(tmp_path, centre, add_option(MINIMAL, "main", '"3" = { kb = "BAD", goto = "main" }'))
    assert errors(problems)
    state, _ = machine.start(menu, machine.Started("12345", 0.0))
    _, cmds = machine.step(menu, state, machine.Input("3", 1.0))
    assert not any(isinstance(c, machine.LookUpKb) for c in cmds)


def test_a_second_files_kb_fallback_is_its_own_prompt_but_the_key_is_shared(tmp_path, centre):
    shutil.copy(FLOWS / "12345.toml", tmp_path / "12345.toml")
    tax = add_option(MINIMAL.replace('entry = "12366"', "").replace('entry = "12345"', 'entry = "12366"'),
                     "main", KB_OK)
    (tmp_path / "12366.toml").write_text(tax)
    menu, problems = load_all(tmp_path, centre)
    assert errors(problems) == []
    state, _ = machine.start(menu, machine.Started("12366", 0.0))
    state, cmds = machine.step(menu, state, machine.Input("3", 1.0))
    assert machine.LookUpKb("office_hours", "cmn") in cmds
    _, cmds = machine.step(menu, state, machine.KbLooked("office_hours", None, None, 2.0))
    fallback = [c for c in cmds if isinstance(c, machine.Play)][0].prompt
    assert fallback == "12366_more" and menu.prompts[fallback].texts["en"] == "To go back, press star."


def test_the_shipped_policy_answers_come_from_the_knowledge_base(centre):
    menu, problems = load_menu(FLOWS / "12345.toml", centre)
    assert errors(problems) == []
    faq = menu.nodes["faq"].options
    assert (faq["1"].key, faq["1"].fallback) == ("office_hours", "faq_hours")
    assert (faq["2"].key, faq["2"].fallback) == ("ss_card_replacement", "faq_card")


def test_a_department_option_may_carry_a_priority_class_for_the_acd(tmp_path, centre):
    text = add_option(MINIMAL, "main", '"3" = { department = "general", priority = "emergency" }')
    menu, problems = check(tmp_path, centre, text)
    assert errors(problems) == []
    state, _ = machine.start(menu, machine.Started("12345", 0.0))
    _, cmds = machine.step(menu, state, machine.Input("3", 1.0))
    sets = [c for c in cmds if isinstance(c, machine.SetVars)][-1].values
    assert (sets["HL_DEPT"], sets["HL_PRIO"]) == ("general", "0")   # 0: emergency, served first
    _, cmds = machine.step(menu, state, machine.Input("1", 1.0))
    assert "HL_PRIO" not in [c for c in cmds if isinstance(c, machine.SetVars)][-1].values


@pytest.mark.parametrize("action", ['{ department = "general", priority = "vip" }',
                                    '{ goto = "more", priority = "emergency" }',
                                    '{ department = "general", priority = 0 }'])
def test_a_bad_priority_is_one_clear_error(tmp_path, centre, action):
    _, problems = check(tmp_path, centre, add_option(MINIMAL, "main", f'"3" = {action}'))
    only_error(problems, "priority", "emergency, elderly")
