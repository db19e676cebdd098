"""The journal intake: calls are read when they end, the sweep is a safety net, and the
disk is never touched from the event loop (where a slow read would stall every AGI reply)."""
from __future__ import annotations

import asyncio
import builtins
import io
import os
import threading
from pathlib import Path

import pytest

from calls import intake as intake_mod
from calls.intake import Intake
from core.errors import DatabaseUnavailable
from recordings import archive

START = "1795955816.802 start caller=13800138000 name= dialed=12345 uniqueid={lid} node=node1 rec={lid}.wav"
END = "1795955824.648 end lang=cmn dept=tax path= fallback= cause=16"


def write(folder: Path, lid: str, finished: bool = True) -> Path:
    path = folder / f"{lid}.log"
    path.write_text(START.format(lid=lid) + "\n" + (END + "\n" if finished else ""))
    return path


class Sink:
    def __init__(self):
        self.stored: dict[str, tuple] = {}
        self.down = False

    async def ingest_many(self, items):
        if self.down:
            raise DatabaseUnavailable("cut")
        out = {}
        for rec, text, media in items:
            created = rec.linkedid not in self.stored
            self.stored.setdefault(rec.linkedid, (rec, text, media))
            out[rec.linkedid] = (len(self.stored), created)
        return out


class DiskProbe:
    """Records the thread of every file-system call on paths under `root`."""

    NAMES = ("stat", "lstat", "scandir", "listdir", "rename", "replace", "unlink", "remove")

    def __init__(self, root: Path, monkeypatch):
        self.root = str(root)
        self.calls: list[tuple[str, int]] = []
        for name in self.NAMES:
            monkeypatch.setattr(os, name, self._wrap(name, getattr(os, name)))
        monkeypatch.setattr(io, "open", self._wrap("open", io.open))
        monkeypatch.setattr(builtins, "open", self._wrap("open", builtins.open))

    def _wrap(self, name, real):
        def probe(*args, **kw):
            first = args[0] if args else kw.get("path", kw.get("file", ""))
            if isinstance(first, (str, os.PathLike)) and os.fspath(first).startswith(self.root):
                self.calls.append((name, threading.get_ident()))
            return real(*args, **kw)
        return probe

    def on(self, thread: int) -> list[str]:
        return [name for name, t in self.calls if t == thread]


async def until(cond, seconds: float = 5.0):
    for _ in range(int(seconds / 0.01)):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met")


async def test_no_file_io_of_the_intake_runs_on_the_event_loop(tmp_path, monkeypatch):
    journals, recs = tmp_path / "journal", tmp_path / "rec"
    journals.mkdir()
    recs.mkdir()
    write(journals, "node1-a")              # ended while the engine was away: the start sweep
    write(journals, "node1-open", finished=False)
    (journals / "not ours!.log").write_text("x")   # a name the sweep must set aside
    for lid in ("node1-a", "node1-b"):
        (recs / f"{lid}.wav").write_bytes(b"RIFF" + b"\0" * 100)

    async def media(rec):   # what the engine's media step does: wait for the file, then move it
        src = recs / f"{rec.linkedid}.wav"
        await archive.settled(src, timeout=1, interval=0.01)
        got = await asyncio.to_thread(archive.archive, src, tmp_path / "store", rec.linkedid, rec.started_at)
        return [got.attachment(src, archive.MIME)]

    sink = Sink()
    probe = DiskProbe(tmp_path, monkeypatch)
    loop_thread = threading.get_ident()
    it = Intake(sink, journals, sweep_seconds=3600, media=media)
    task = asyncio.create_task(it.run())
    try:
        await until(lambda: "node1-a" in sink.stored)
        await asyncio.to_thread(write, journals, "node1-b")   # (the test's own writes: off the loop too)
        it.notify("node1-b")                 # the end-of-call event
        await until(lambda: "node1-b" in sink.stored)
        assert await it.backlog() == 1       # the open call (the stranger is set aside as .bad)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    on_loop = probe.on(loop_thread)
    assert not (journals / "node1-a.log").exists() and not (journals / "node1-b.log").exists()
    assert sink.stored["node1-b"][2][0]["status"] != "error"     # the recording was archived
    assert it.stats["bad_files"] == 1
    # the probe saw the intake's disk work, and none of it on the loop's thread
    assert {"stat", "open", "unlink", "scandir"} <= {name for name, _ in probe.calls}
    assert on_loop == []
    # (and it would see it: the test's own stat calls above, made from the loop, were caught)
    assert "stat" in probe.on(loop_thread)


async def test_an_ended_call_is_read_without_a_sweep(tmp_path):
    sink = Sink()
    it = Intake(sink, tmp_path, sweep_seconds=3600)
    task = asyncio.create_task(it.run())
    try:
        await until(lambda: it.stats["sweeps"] == 1)
        write(tmp_path, "node1-c")
        it.notify("node1-c")
        await until(lambda: "node1-c" in sink.stored)
        assert it.stats["sweeps"] == 1       # read because it ended, not because the clock ticked
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_sweep_index_does_not_reread_an_unchanged_open_journal(tmp_path, monkeypatch):
    sink = Sink()
    it = Intake(sink, tmp_path)
    write(tmp_path, "node1-open", finished=False)
    reads: list[list[str]] = []
    real = intake_mod._read_many
    monkeypatch.setattr(intake_mod, "_read_many", lambda folder, names: (reads.append(names), real(folder, names))[1])
    assert await it.sweep() == 0
    assert await it.sweep() == 0
    assert reads == [["node1-open.log"]]          # the second sweep only listed the folder
    with (tmp_path / "node1-open.log").open("a") as f:
        f.write(END + "\n")
    os.utime(tmp_path / "node1-open.log", ns=(1, 1))  # a change the index sees even within one mtime tick
    assert await it.sweep() == 1
    assert "node1-open" in sink.stored and it.pending == 0


async def test_database_away_keeps_the_journal_and_retries(tmp_path, monkeypatch):
    monkeypatch.setattr(intake_mod, "RETRY_MIN", 0.01)
    sink = Sink()
    sink.down = True
    it = Intake(sink, tmp_path, sweep_seconds=3600)
    task = asyncio.create_task(it.run())
    try:
        await until(lambda: it.stats["sweeps"] == 1)
        write(tmp_path, "node1-d")
        it.notify("node1-d")
        await until(lambda: it.stats["db_errors"] >= 2)   # retried without a sweep or another event
        assert (tmp_path / "node1-d.log").exists()
        sink.down = False
        await until(lambda: "node1-d" in sink.stored)
        assert not (tmp_path / "node1-d.log").exists()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def test_ended_calls_waiting_to_be_read_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(intake_mod, "MAX_ENDED", 100)
    it = Intake(Sink(), tmp_path)
    it._rescan = False
    for i in range(1000):
        it.notify(f"node1-{i}")
    assert len(it._ended) == 100
    assert it._rescan     # the ones let go are the next sweep's
