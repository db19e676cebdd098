"""The dispatch catalogue: the shipped file passes its check, defects are reported with their
line, the words of a request point to a matter type, a change is reloaded (a broken one
refused), and a dispatch uses the matter's department and deadline, overridden only with a reason."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer

from catalogue import loader
from catalogue.live import LiveCatalogue
from core import settings
from hotline import cli
from hotline.app import Engine
from tickets.workflow import Category

from .web_helpers import act, new_ticket

CATEGORIES = {c.value for c in Category}
S = settings.load(env={})
DEPARTMENTS = {d.code for d in S.centre.departments}

GOOD = '''
[[matter]]
code = "noise"
name = "噪音扰民"
category = "complaint"
department = "ecology"
days = 5
keywords = ["噪音", "施工"]
'''


def test_the_shipped_catalogue_passes_with_the_demo_centre():
    cat, problems = loader.load(loader.FILE, DEPARTMENTS, CATEGORIES)
    assert cat is not None and not loader.errors(problems), problems
    names = {m.name for m in cat.matters}
    assert {"噪音扰民", "欠薪", "物业纠纷"} <= names
    assert all(m.department in DEPARTMENTS and 1 <= m.days <= 60 for m in cat.matters)


def test_every_defect_is_reported_with_its_line(tmp_path):
    f = tmp_path / "catalogue.toml"
    f.write_text(GOOD + '''
[[matter]]
code = "noise"
name = "欠薪"
category = "gossip"
department = "police"
days = 0
keywords = ["施工"]
colour = "red"
''')
    cat, problems = loader.load(f, DEPARTMENTS, CATEGORIES)
    assert cat is None
    text = [str(p) for p in problems]
    assert f"{f}:11: error: matter noise: code used twice (first on line 3)" in text
    assert any(t.startswith(f"{f}:13: error: matter noise: category 'gossip'") for t in text)
    assert any(t.startswith(f"{f}:14: error: matter noise: department 'police' is not a department") for t in text)
    assert any(t.startswith(f"{f}:15: error: matter noise: days 0") for t in text)
    assert any(t.startswith(f"{f}:17: error: matter noise: unknown key 'colour'") for t in text)
    f.write_text(GOOD + "\n[[matter]\ncode = 1\n")
    cat, problems = loader.load(f, DEPARTMENTS, CATEGORIES)
    assert cat is None and problems[0].line == 10 and "not valid TOML" in problems[0].message


def test_hotline_catalogue_check_prints_the_problems_and_fails_on_errors(tmp_path, capsys):
    f = tmp_path / "c.toml"
    f.write_text(GOOD.replace('days = 5', 'days = 99'))
    assert cli.main(["--home", str(tmp_path), "catalogue", "check", "--file", str(f)]) == 1
    out = capsys.readouterr().out
    assert f"{f}:7: error: matter noise: days 99" in out and "catalogue check: 1 errors" in out
    assert cli.main(["--home", str(tmp_path), "catalogue", "check"]) == 0
    assert "0 errors" in capsys.readouterr().out


def test_the_citizens_words_point_to_the_matter_type():
    cat, _ = loader.load(loader.FILE, DEPARTMENTS, CATEGORIES)
    assert cat.suggest("楼上装修，夜间施工噪音太大")[0][0].code == "noise"
    assert cat.suggest("老板拖欠工资三个月了")[0][0].code == "unpaid-wages"
    assert cat.suggest("小区物业乱收停车位的钱")[0][0].code == "property-dispute"
    assert cat.suggest("今天天气很好") == []


async def test_a_change_is_reloaded_and_a_broken_one_refused(tmp_path):
    f = tmp_path / "catalogue.toml"
    f.write_text(GOOD)
    live = LiveCatalogue(f, DEPARTMENTS, CATEGORIES)
    assert live().get("noise").days == 5
    f.write_text(GOOD.replace("days = 5", "days = 3"))
    assert await live.reload() and live().get("noise").days == 3
    f.write_text(GOOD.replace('department = "ecology"', 'department = "nowhere"'))
    assert not await live.reload()
    assert live().get("noise").days == 3 and "nowhere" in live.status()["refused"][0]
    with pytest.raises(ValueError):
        LiveCatalogue(f, DEPARTMENTS, CATEGORIES)


@pytest.fixture
async def engine_client(tmp_path):
    s = settings.load(env={}, home=str(tmp_path), asterisk_root=str(tmp_path / "root"))
    engine = Engine(s, phones=False)
    await engine.store.migrate()
    engine.now = lambda: datetime(2026, 9, 28, 2, 0, tzinfo=UTC)   # Monday 28 September 2026
    client = TestClient(TestServer(engine.http, host="127.0.0.1"))
    await client.start_server()
    tokens = {"agent1002": await engine.store.create_token("agent", "agent1002")}
    yield engine, client, tokens
    await client.close()
    await engine.store.close()


async def test_dispatch_by_matter_takes_its_department_and_deadline_and_an_override_needs_a_reason(engine_client):
    engine, client, tokens = engine_client
    created = datetime(2026, 9, 28, 2, 0, tzinfo=UTC)   # Monday 28 September, before the National Day week
    r = await client.get("/api/v1/catalogue/suggest", params={"text": "工地老板拖欠工资"},
                         headers={"Authorization": f"Bearer {tokens['agent1002']}"})
    top = (await r.json())["items"][0]
    assert (top["code"], top["department"], top["days"]) == ("unpaid-wages", "hrss", 5)
    # Sep 29, 30, (National Day holiday Oct 1-7), Oct 8, 9 and the make-up Saturday Oct 10
    assert top["due_at"].startswith("2026-10-10T15:59:59")
    tid = await new_ticket(engine.store, agent="agent1002", created=created)
    status, body = await act(client, tokens, "agent1002", tid, "dispatch", {"matter": "unpaid-wages", "department": "tax"})
    assert status == 400 and body["error"] == "override-needs-reason"
    status, body = await act(client, tokens, "agent1002", tid, "dispatch", {"matter": "no-such"})
    assert status == 400 and body["error"] == "unknown-matter"
    status, body = await act(client, tokens, "agent1002", tid, "dispatch", {"matter": "unpaid-wages"})
    assert status == 200, body
    assert (body["department"], body["category"], body["due_at"][:10]) == ("hrss", "complaint", "2026-10-10")
    assert body["history"]["details"]["suggested"]["department"] == "hrss"
    assert (await engine.store.ticket(tid))["matter"] == "unpaid-wages"
    other = await new_ticket(engine.store, agent="agent1002", created=created)
    status, body = await act(client, tokens, "agent1002", other, "dispatch",
                             {"matter": "unpaid-wages", "department": "market", "override_reason": "建筑工地归市场监管"})
    assert status == 200 and body["department"] == "market"
    details = body["history"]["details"]
    assert details["overridden"] is True and details["override_reason"] == "建筑工地归市场监管"
