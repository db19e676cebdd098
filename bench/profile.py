"""A sampling profile of the engine during a benchmark run, summarised next to its table.

py-spy samples the engine's process from outside (no change to the engine, `--nonblocking`
so the run is not paused); its raw output is one line per distinct stack,
"frame;frame;...;leaf count". The summary is where the samples were spent: by the leaf's
area (our packages by folder, the libraries by name, the standard library as "stdlib") and
by the leaf function, each as a share of all samples. The event loop's thread and the worker
threads are counted together: it is the engine's CPU, not only its loop's.
"""
from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<fn>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
OURS = ("acd", "ami", "asterisk_conf", "calls", "catalogue", "cluster", "console", "core", "db", "hotline",
        "hours", "ivr", "kb", "portal", "recordings", "reports", "scorecard", "surveys", "tickets", "trunks",
        "users", "voicemail", "web", "agi_scripts")


# Leaves where a thread sleeps, not works (py-spy's idle test misses these waits inside C
# calls): the loop's epoll, aiosqlite's worker and the thread pools waiting for work.
WAITS = {("EpollSelector.select", "selectors.py"), ("_connection_worker_thread", "core.py:59"),
         ("_worker", "thread.py"), ("Condition.wait", "threading.py"), ("SimpleQueue.get", "")}


def area(path: str) -> str:
    """Which part of the code a frame's file is: one of ours by folder, a library by its
    top package, or the standard library. py-spy names files from the import root
    ("sqlalchemy/orm/session.py", "asyncio/events.py", "selectors.py"), full paths
    elsewhere."""
    parts = Path(path).parts
    if "site-packages" in parts or "dist-packages" in parts:
        i = max(i for i, p in enumerate(parts) if p in ("site-packages", "dist-packages"))
        parts = parts[i + 1:]
    elif path.startswith("/"):
        ours = [p for p in parts[:-1] if p in OURS]
        if ours:
            return ours[-1]
        return "stdlib" if "python3" in path else (parts[-2] if len(parts) > 1 else path)
    if not parts or path.startswith("<"):
        return "stdlib"
    top = parts[0].removesuffix(".py")
    if top in OURS:
        return top
    return "stdlib" if top in sys.stdlib_module_names or top.startswith("_") else top


def _waiting(frame: tuple[str, str]) -> bool:
    fn, file = frame
    return any(fn == w and (file if ":" in where else file.rsplit(":", 1)[0]).endswith(where)
               for w, where in WAITS)


def parse(raw: str) -> list[tuple[list[tuple[str, str]], int]]:
    """(frames as (function, "file:line"), samples) per stack line; malformed lines are skipped."""
    out = []
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = []
        for f in stack.split(";"):
            m = _FRAME.match(f.strip())
            frames.append((m["fn"], m["file"] + (f":{m['line']}" if m["line"] else "")) if m else (f.strip(), ""))
        out.append((frames, int(count)))
    return out


def summarise(raw: str, top: int = 12) -> str:
    """Markdown: the busy samples by the leaf's area, by our innermost function (what of
    ours the time was spent under, libraries included) and by the leaf function."""
    stacks = parse(raw)
    total = sum(n for _, n in stacks)
    busy = [(frames, n) for frames, n in stacks if frames and not _waiting(frames[-1])]
    work = sum(n for _, n in busy)
    if not work:
        return "(no busy samples: the engine was idle or py-spy could not attach)"
    by_area: Counter[str] = Counter()
    by_ours: Counter[str] = Counter()
    by_leaf: Counter[str] = Counter()
    for frames, n in busy:
        fn, file = frames[-1]
        by_area[area(file.rsplit(":", 1)[0])] += n
        by_leaf[f"{fn} ({Path(file.rsplit(':', 1)[0]).name})"] += n
        ours = [f for f in frames if area(f[1].rsplit(":", 1)[0]) in OURS]
        by_ours[f"{ours[-1][0]} ({ours[-1][1].rsplit(':', 1)[0]})" if ours else "(no frame of ours)"] += n

    def rows(title: str, c: Counter[str]) -> list[str]:
        return ["", f"| {title} | share of busy samples |", "|---|---:|"] + [
            f"| {k.replace('|', '/')} | {n / work:.1%} |" for k, n in c.most_common(top)]

    return "\n".join([f"Profile: {total} samples, {work} busy ({total - work} in a wait: epoll, idle worker threads)."]
                     + rows("area (leaf frame)", by_area) + rows("our innermost function", by_ours)
                     + rows("leaf function", by_leaf))


@contextlib.contextmanager
def recording(pid: int, out: Path, rate: int = 100):
    """py-spy sampling `pid` while the block runs; yields the file its raw stacks land in
    (read it after the block). Without py-spy the block runs unprofiled and the file says so."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        out.write_text("")
        yield out
        return
    proc = subprocess.Popen([spy, "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw",
                             "--nonblocking", "--output", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield out
    finally:
        proc.send_signal(2)   # SIGINT: py-spy writes what it sampled and exits
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
