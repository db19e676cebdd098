"""The benchmark's profile summary: py-spy's raw stacks attributed to the right part."""
from bench import profile

RAW = """\
_run_once (asyncio/base_events.py:1922);_on_read (ami/session.py:120);parse (ami/protocol.py:40) 30
_run_once (asyncio/base_events.py:1922);ingest (tickets/store.py:99);execute (sqlalchemy/engine/base.py:1400) 50
_run_once (asyncio/base_events.py:1922);_write (asyncio/selector_events.py:1100) 20
run (threading.py:975);EpollSelector.select (selectors.py:468) 900
garbage line without a count
"""


def test_samples_are_attributed_to_the_leaf_frames_area():
    text = profile.summarise(RAW)
    assert "Profile: 1000 samples, 100 busy (900 in a wait" in text
    assert "| sqlalchemy | 50.0% |" in text
    assert "| ami | 30.0% |" in text
    assert "| stdlib | 20.0% |" in text
    assert "| ingest (tickets/store.py) | 50.0% |" in text   # the library time under our function
    assert "| parse (protocol.py) | 30.0% |" in text


def test_no_samples_says_so_instead_of_an_empty_table():
    assert "no busy samples" in profile.summarise("")


def test_areas():
    assert profile.area("acd/service.py") == "acd"
    assert profile.area("aiosqlite/core.py") == "aiosqlite"
    assert profile.area("selectors.py") == "stdlib"
    assert profile.area("<frozen runpy>") == "stdlib"
    assert profile.area("/work/main/acd/service.py") == "acd"
    assert profile.area("/x/.venv/lib/python3.11/site-packages/aiosqlite/core.py") == "aiosqlite"
    assert profile.area("/usr/lib/python3.11/asyncio/events.py") == "stdlib"
