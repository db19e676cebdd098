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


def area(path: str) -> str:
    """Which part of the code a frame's file is: one of ours by folder, a library by its
    top package, or the standard library."""
    parts = Path(path).parts
    if "site-packages" in parts or "dist-packages" in parts:
        i = max(i for i, p in enumerate(parts) if p in ("site-packages", "dist-packages"))
        top = parts[i + 1] if i + 1 < len(parts) else "?"
        return top.removesuffix(".py").split(".")[0]
    for p in parts[:-1]:
        if p in OURS:
            return p
    if parts and parts[0] in OURS:
        return parts[0]
    if "python3" in path or path.startswith("<"):
        return "stdlib"
    return parts[-2] if len(parts) > 1 else path


def parse(raw: str) -> list[tuple[list[tuple[str, str]], int]]:
    """(frames as (function, file), samples) per stack line; malformed lines are skipped."""
    out = []
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = []
        for f in stack.split(";"):
            m = _FRAME.match(f.strip())
            frames.append((m["fn"], m["file"]) if m else (f.strip(), ""))
        out.append((frames, int(count)))
    return out


def summarise(raw: str, top: int = 12) -> str:
    """Markdown: samples by the leaf's area, then the busiest leaf functions."""
    stacks = parse(raw)
    total = sum(n for _, n in stacks)
    if not total:
        return "(no samples: the engine was idle or py-spy could not attach)"
    by_area: Counter[str] = Counter()
    by_leaf: Counter[str] = Counter()
    for frames, n in stacks:
        fn, file = frames[-1]
        by_area[area(file)] += n
        by_leaf[f"{fn} ({Path(file).name})"] += n
    lines = [f"Profile: {total} samples.", "", "| where (leaf frame) | share |", "|---|---:|"]
    lines += [f"| {a} | {n / total:.1%} |" for a, n in by_area.most_common(top)]
    lines += ["", "| function (leaf) | share |", "|---|---:|"]
    lines += [f"| {f.replace('|', '/')} | {n / total:.1%} |" for f, n in by_leaf.most_common(top)]
    return "\n".join(lines)


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
