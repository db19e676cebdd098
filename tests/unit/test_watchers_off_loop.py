"""The menu and catalogue watchers look at their files from a worker thread: a stat is a
disk wait, and the event loop answers every caller's AGI (issue 15)."""
from __future__ import annotations

import asyncio
import contextlib
import shutil
import threading
from pathlib import Path

from catalogue.live import LiveCatalogue
from core import settings
from ivr.live import LiveMenu
from tickets.workflow import Category

S = settings.load(env={})
REPO = Path(__file__).resolve().parents[2]


async def watched(live, change) -> list[int]:
    """Threads the watcher's stat ran on over a few polls, a change made meanwhile."""
    threads: list[int] = []
    sig = live._sig

    def recording():
        threads.append(threading.get_ident())
        return sig()

    live._sig = recording
    task = asyncio.create_task(live.watch())
    try:
        await asyncio.sleep(0.05)
        change()
        for _ in range(100):
            if live.reloads:
                break
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return threads


async def test_the_catalogue_watcher_stats_off_the_loop_and_still_reloads(tmp_path):
    f = tmp_path / "catalogue.toml"
    shutil.copy(REPO / "catalogue" / "catalogue.toml", f)
    live = LiveCatalogue(f, {d.code for d in S.centre.departments}, {c.value for c in Category},
                         poll_seconds=0.01)
    threads = await watched(live, lambda: f.write_text(f.read_text() + "\n# changed\n"))
    assert threads and threading.get_ident() not in threads
    assert live.reloads == 1


async def test_the_menu_watcher_stats_off_the_loop_and_still_reloads(tmp_path):
    folder = tmp_path / "flows"
    shutil.copytree(REPO / "ivr" / "flows", folder)
    live = LiveMenu(folder, S.centre, poll_seconds=0.01)
    menu = next(folder.glob("*.toml"))
    threads = await watched(live, lambda: menu.write_text(menu.read_text() + "\n# changed\n"))
    assert threads and threading.get_ident() not in threads
    assert live.reloads == 1
