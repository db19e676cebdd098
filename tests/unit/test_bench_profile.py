"""The benchmark's profile summary: py-spy's raw stacks attributed to the right part."""
from bench import profile

RAW = """\
_run_once (/usr/lib/python3.11/asyncio/base_events.py:1922);_on_read (/work/main/ami/session.py:120);parse (/work/main/ami/protocol.py:40) 30
_run_once (/usr/lib/python3.11/asyncio/base_events.py:1922);execute (/work/main/.venv/lib/python3.11/site-packages/sqlalchemy/engine/base.py:1400) 50
run (/usr/lib/python3.11/threading.py:975);select (/usr/lib/python3.11/selectors.py:468) 20
garbage line without a count
"""


def test_samples_are_attributed_to_the_leaf_frames_area():
    text = profile.summarise(RAW)
    assert "Profile: 100 samples." in text
    assert "| sqlalchemy | 50.0% |" in text
    assert "| ami | 30.0% |" in text
    assert "| stdlib | 20.0% |" in text
    assert "| parse (protocol.py) | 30.0% |" in text


def test_no_samples_says_so_instead_of_an_empty_table():
    assert "no samples" in profile.summarise("")


def test_areas():
    assert profile.area("/work/main/acd/service.py") == "acd"
    assert profile.area("/x/.venv/lib/python3.11/site-packages/aiosqlite/core.py") == "aiosqlite"
    assert profile.area("/usr/lib/python3.11/asyncio/events.py") == "stdlib"
