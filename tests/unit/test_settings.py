"""Settings layering and centre-file validation."""
from __future__ import annotations

from pathlib import Path

import pytest

from core import settings
from core.errors import ConfigInvalid

GOOD = '''
centre_number = "12345"
fallback_department = "general"

[[departments]]
code = "general"
digit = "0"
name = { cmn = "综合服务", en = "general enquiries" }

[[departments]]
code = "tax"
number = "12366"
digit = "2"

[[agents]]
id = "1002"
name = "Wang Qiang"
skills = ["tax:cmn:4", "general:en:1"]
'''


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "centre.toml"
    p.write_text(text, encoding="utf-8")
    return p


def invalid(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigInvalid) as ei:
        settings.load_centre(write(tmp_path, text))
    return str(ei.value)


# -- the demo and a good file -------------------------------------------------------------
def test_demo_centre_loads():
    c = settings.load_centre(settings.DEMO_CONFIG)
    assert c.centre_number == "12345"
    assert c.fallback_department == "general"
    assert sorted(d.digit for d in c.departments) == list("01234567")
    assert [d.code for d in c.departments if d.provider] == ["homecare"]
    assert c.department("tax").number == "12366"
    assert c.entry_numbers()["12345"] is None
    assert c.entry_numbers()["12366"].code == "tax"
    assert [a.endpoint for a in c.members("tax")] == ["agent1002", "agent1007"]


def test_good_centre_file(tmp_path):
    c = settings.load_centre(write(tmp_path, GOOD))
    assert [d.code for d in c.departments] == ["general", "tax"]
    assert c.department("general").name["cmn"] == "综合服务"
    assert c.department("tax").queue == "hl-tax"
    assert c.agents[0].skills == (settings.Skill("tax", "cmn", 4), settings.Skill("general", "en", 1))
    assert [a.id for a in c.members("general")] == ["1002"]
    assert set(c.entry_numbers()) == {"12345", "12366"}


def test_integer_digit_is_accepted(tmp_path):
    c = settings.load_centre(write(tmp_path, GOOD.replace('digit = "2"', "digit = 2")))
    assert c.department("tax").digit == "2"


# -- rejected centre files ----------------------------------------------------------------------
@pytest.mark.parametrize("code", ["Tax", "1tax", "", "tax-1", "tax rates", "a" * 33, "税务"])
def test_bad_department_code(tmp_path, code):
    msg = invalid(tmp_path, GOOD.replace('code = "tax"', f'code = "{code}"'))
    assert "department code" in msg
    assert repr(code) in msg


def test_missing_department_code(tmp_path):
    msg = invalid(tmp_path, GOOD.replace('code = "tax"\n', ""))
    assert "department code" in msg


@pytest.mark.parametrize("number", ["12a66", "1236 6", "+12366", "12", "1" * 21, "\\n12366"])
def test_non_digit_department_number(tmp_path, number):
    msg = invalid(tmp_path, GOOD.replace('number = "12366"', f'number = "{number}"'))
    assert "department tax" in msg and "not digits" in msg


@pytest.mark.parametrize("digit", ['"10"', '"a"', '""', '"*"', "-1", "true"])
def test_bad_department_digit(tmp_path, digit):
    msg = invalid(tmp_path, GOOD.replace('digit = "2"', f"digit = {digit}"))
    assert "department tax" in msg and "digit" in msg


def test_missing_department_digit(tmp_path):
    msg = invalid(tmp_path, GOOD.replace('digit = "2"\n', ""))
    assert "digit" in msg


def test_duplicate_digits(tmp_path):
    msg = invalid(tmp_path, GOOD.replace('digit = "2"', 'digit = "0"'))
    assert "unique" in msg and "digits" in msg


def test_duplicate_codes(tmp_path):
    text = GOOD + '\n[[departments]]\ncode = "tax"\ndigit = "5"\n'
    msg = invalid(tmp_path, text)
    assert "codes" in msg and "unique" in msg


@pytest.mark.parametrize("skill", [
    "tax:cmn",            # no level
    "tax:cmn:4:x",        # too many parts
    "tax:cmn:high",       # level not a number
    "customs:cmn:4",      # unknown department
    "tax:fr:4",           # unknown language
    "tax:cmn:0",          # level below 1
    "tax:cmn:6",          # level above 5
    "",
])
def test_bad_skill(tmp_path, skill):
    msg = invalid(tmp_path, GOOD.replace('"tax:cmn:4"', f'"{skill}"'))
    assert "agent 1002" in msg
    assert repr(skill) in msg


@pytest.mark.parametrize("agent_id", ['"12"', '"123456789"', '"10a2"', '""'])
def test_bad_agent_id(tmp_path, agent_id):
    msg = invalid(tmp_path, GOOD.replace('id = "1002"', f"id = {agent_id}"))
    assert "agent id" in msg


def test_unknown_fallback_department(tmp_path):
    msg = invalid(tmp_path, GOOD.replace('fallback_department = "general"', 'fallback_department = "nowhere"'))
    assert "fallback_department" in msg and "'nowhere'" in msg


def test_default_fallback_department_must_exist(tmp_path):
    text = GOOD.replace('fallback_department = "general"\n', "").replace('code = "general"', 'code = "other"')
    text = text.replace("general:en:1", "other:en:1")
    msg = invalid(tmp_path, text)
    assert "'general'" in msg


def test_unparseable_toml_names_the_file(tmp_path):
    p = write(tmp_path, "centre_number = \n[[departments")
    with pytest.raises(ConfigInvalid) as ei:
        settings.load_centre(p)
    assert str(p) in str(ei.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigInvalid) as ei:
        settings.load_centre(tmp_path / "nope.toml")
    assert "nope.toml" in str(ei.value)


@pytest.mark.parametrize("old, new", [
    ('number = "12366"', 'number = "12366\\n"'),
    ("[[agents]]", '[[departments]]\ncode = "vat\\n"\ndigit = "5"\n\n[[agents]]'),
    ('id = "1002"', 'id = "1002\\n"'),
])
def test_trailing_newline_in_identifiers_is_rejected(tmp_path, old, new):
    invalid(tmp_path, GOOD.replace(old, new))


def test_integer_department_number_is_config_invalid(tmp_path):
    invalid(tmp_path, GOOD.replace('number = "12366"', "number = 12366"))


@pytest.mark.parametrize("number", ["12a45", "_X.", "12345 "])
def test_non_digit_centre_number_is_rejected(tmp_path, number):
    msg = invalid(tmp_path, GOOD.replace('centre_number = "12345"', f'centre_number = "{number}"'))
    assert "centre_number" in msg


def test_department_number_equal_to_centre_number_is_rejected(tmp_path):
    invalid(tmp_path, GOOD.replace('number = "12366"', 'number = "12345"'))


def test_duplicate_department_numbers_are_rejected(tmp_path):
    text = GOOD + '\n[[departments]]\ncode = "vat"\nnumber = "12366"\ndigit = "5"\n'
    invalid(tmp_path, text)


# -- settings layering ---------------------------------------------------------------------------
def test_defaults_with_empty_env():
    s = settings.load(env={})
    assert s.ami_port == 5038
    assert s.agi_port == 4573
    assert s.centre.centre_number == "12345"


def test_env_overrides_ami_port():
    s = settings.load(env={"HOTLINE_AMI_PORT": "15038"})
    assert s.ami_port == 15038
    assert isinstance(s.ami_port, int)


def test_env_overrides_file_and_cli_overrides_env(tmp_path):
    f = tmp_path / "settings.toml"
    f.write_text("ami_port = 6000\nagi_port = 6001\n")
    s = settings.load(f, env={"HOTLINE_AMI_PORT": "7000"})
    assert (s.ami_port, s.agi_port) == (7000, 6001)
    s = settings.load(f, env={"HOTLINE_AMI_PORT": "7000"}, ami_port="8000")
    assert s.ami_port == 8000


def test_settings_file_from_env(tmp_path):
    f = tmp_path / "settings.toml"
    f.write_text('instance = "blue"\n')
    s = settings.load(env={"HOTLINE_SETTINGS": str(f)})
    assert s.instance == "blue"


def test_centre_file_from_env(tmp_path):
    p = write(tmp_path, GOOD.replace('"12345"', '"12300"'))
    s = settings.load(env={"HOTLINE_CONFIG": str(p)})
    assert s.config == p
    assert s.centre.centre_number == "12300"


def test_bad_centre_file_from_env_is_config_invalid(tmp_path):
    p = write(tmp_path, GOOD.replace('digit = "2"', 'digit = "0"'))
    with pytest.raises(ConfigInvalid):
        settings.load(env={"HOTLINE_CONFIG": str(p)})


@pytest.mark.parametrize("value", ["abc", "5038.5", "", "0x13"])
def test_bad_int_in_env_is_config_invalid(value):
    with pytest.raises(ConfigInvalid) as ei:
        settings.load(env={"HOTLINE_AMI_PORT": value})
    assert "ami_port" in str(ei.value)
    assert repr(value) in str(ei.value)


def test_bad_float_in_env_is_config_invalid():
    with pytest.raises(ConfigInvalid) as ei:
        settings.load(env={"HOTLINE_JOURNAL_SWEEP_SECONDS": "soon"})
    assert "journal_sweep_seconds" in str(ei.value)


@pytest.mark.parametrize("value, expected", [("1", True), ("yes", True), ("true", True), ("0", False),
                                             ("no", False), ("off", False)])
def test_bool_from_env(value, expected):
    assert settings.load(env={"HOTLINE_DEMO_AGENTS": value}).demo_agents is expected


def test_unknown_setting_in_file(tmp_path):
    f = tmp_path / "settings.toml"
    f.write_text("ami_prot = 6000\n")
    with pytest.raises(ConfigInvalid) as ei:
        settings.load(f, env={})
    assert "ami_prot" in str(ei.value)


def test_unknown_cli_setting():
    with pytest.raises(ConfigInvalid) as ei:
        settings.load(env={}, bogus="1")
    assert "bogus" in str(ei.value)


def test_bad_int_in_file_is_config_invalid(tmp_path):
    f = tmp_path / "settings.toml"
    f.write_text('queue_timeout = "ten minutes"\n')
    with pytest.raises(ConfigInvalid) as ei:
        settings.load(f, env={})
    assert "queue_timeout" in str(ei.value)


def test_unrelated_env_is_ignored():
    s = settings.load(env={"HOTLINE_NOPE": "1", "AMI_PORT": "1", "hotline_ami_port": "2"})
    assert s.ami_port == 5038
