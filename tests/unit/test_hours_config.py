"""Loading [hours] from the centre TOML: good input, and bad input named by field."""
from __future__ import annotations

import tomllib
from datetime import date, datetime

import pytest

from core.errors import ConfigInvalid
from core.centre import DEMO_CONFIG, load_centre
from hours import calendar as hc
from hours.config import from_table, load_file, parse_spans
from hours.model import ALL_DAY, Span

GOOD = '''
[hours]
centre = "24/7"
local_years = [2099]
[hours.departments.tax]
weekdays = "13:30-17:30, 09:00-12:00"
friday = "09:00-12:00"
restdays = "09:00-11:00"
[[hours.overrides]]
date = 2026-12-31
working = false
name = "local closure"
[[hours.closures]]
start = "2026-06-01 00:00"
end = 2026-06-01T06:00:00
reason = "system maintenance"
departments = ["tax"]
'''


def table(text: str) -> dict:
    return tomllib.loads(text)["hours"]


def test_good_table():
    cal = from_table(table(GOOD), {"general", "tax"})
    tax = cal.departments["tax"]
    assert tax.working[0] == (Span(540, 720), Span(810, 1050))  # sorted
    assert tax.working[4] == (Span(540, 720),) and tax.working[5] == tax.working[0]
    assert tax.rest == (Span(540, 660),)
    assert cal.centre.always and cal.local_years == (2099,)
    assert cal.override(date(2026, 12, 31)).name == "local closure"
    c = cal.closures[0]
    assert (c.start, c.end, c.departments) == (datetime(2026, 6, 1), datetime(2026, 6, 1, 6), ("tax",))
    # the per-weekday and restday hours take effect
    assert not hc.decide(cal, datetime(2026, 10, 9, 14, 0), "tax").open  # Friday afternoon
    assert hc.decide(cal, datetime(2026, 10, 17, 10, 0), "tax").open  # Saturday morning
    assert not hc.decide(cal, datetime(2026, 6, 1, 5, 0), "tax").open  # closure


def test_missing_section_is_round_the_clock():
    cal = from_table({})
    assert cal.centre.always and cal.departments == {} and cal.timezone == "Asia/Shanghai"


def test_demo_file_has_tax_office_hours_and_still_loads_as_centre():
    centre = load_centre(DEMO_CONFIG)
    cal = load_file(DEMO_CONFIG, {d.code for d in centre.departments})
    assert not cal.departments["tax"].always and cal.centre.always


def test_spans_to_midnight():
    assert parse_spans("22:00-24:00", "f") == (Span(1320, 1440),)
    assert str(Span(1320, 1440)) == "22:00-24:00"
    assert parse_spans("24h", "f") == ALL_DAY and parse_spans("closed", "f") == ()


@pytest.mark.parametrize("text, field", [
    ('[hours.departments.tax]\nweekdays = "9:00-12:00"', "hours.departments.tax.weekdays"),
    ('[hours.departments.tax]\nweekdays = "12:00-09:00"', "hours.departments.tax.weekdays"),
    ('[hours.departments.tax]\nmonday = "09:00-12:00,11:00-13:00"', "hours.departments.tax.monday"),
    ('[hours.departments.tax]\nweekday = "09:00-12:00"', "hours.departments.tax: unknown key"),
    ('[hours.departments.tax]\nweekdays = 9', "hours.departments.tax.weekdays"),
    ('[hours.departments.taxes]\nweekdays = "09:00-12:00"', "hours.departments: 'taxes'"),
    ('[hours]\ncentre = "always"', "hours.centre"),
    ('[hours]\ntimezone = "Mars/Olympus"', "hours.timezone"),
    ('[hours]\nfallback = "closed"', "hours.fallback"),
    ('[hours]\nlocal_years = ["2027"]', "hours.local_years"),
    ('[hours]\nopening = 1', "hours: unknown key"),
    ('[[hours.overrides]]\ndate = "2026-13-01"\nworking = false\nname = "x"', "hours.overrides[0].date"),
    ('[[hours.overrides]]\ndate = 2026-12-31\nworking = "no"\nname = "x"', "hours.overrides[0].working"),
    ('[[hours.overrides]]\ndate = 2026-12-31\nworking = false', "hours.overrides[0].name"),
    ('[[hours.overrides]]\ndate = 2026-12-31\nworking = false\nname = "a"\n'
     '[[hours.overrides]]\ndate = 2026-12-31\nworking = true\nname = "b"', "hours.overrides[1].date"),
    ('[[hours.closures]]\nstart = "2026-06-01 06:00"\nend = "2026-06-01 00:00"\nreason = "x"',
     "hours.closures[0].end"),
    ('[[hours.closures]]\nstart = "soon"\nend = "2026-06-01 00:00"\nreason = "x"', "hours.closures[0].start"),
    ('[[hours.closures]]\nstart = "2026-06-01 00:00"\nend = "2026-06-02 00:00"', "hours.closures[0].reason"),
    ('[[hours.closures]]\nstart = "2026-06-01 00:00"\nend = "2026-06-02 00:00"\nreason = "x"\n'
     'departments = ["nope"]', "hours.closures[0].departments"),
])
def test_bad_input_names_the_field(text, field):
    with pytest.raises(ConfigInvalid) as ei:
        from_table(table(text), {"general", "tax"})
    assert field in str(ei.value)


def test_load_file_prefixes_the_path(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[hours]\nfallback = "open"\n', encoding="utf-8")
    with pytest.raises(ConfigInvalid, match=f"{p}: hours.fallback"):
        load_file(p)
