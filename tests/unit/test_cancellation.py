"""Stopping the engine cancels its long-running tasks once. On Python 3.11,
`asyncio.wait_for` returns the inner result and drops that cancellation when the awaited
thing completes in the same turn (CPython gh-86296, fixed in 3.12): a loop built on it goes
on forever and the engine's shutdown waits for it forever (seen in CI: a test restarting the
engine hung until the run's 90 minutes were up). `asyncio.timeout` does not drop it."""
from __future__ import annotations

import ast
import asyncio
from pathlib import Path

from core import contract

from .fakes import service, ue

ROOT = Path(__file__).resolve().parents[2]


async def test_the_routing_task_stops_when_cancelled_as_a_message_arrives():
    for i in range(200):
        svc, *_ = service()
        ready = asyncio.Event()
        ready.set()
        task = asyncio.create_task(svc.run(ready))
        for _ in range(5):
            await asyncio.sleep(0)
        # the message completes the task's inbox read in the same turn as the cancellation
        svc.on_ami(ue(contract.EV_CALL_END, linkedid=f"c{i}"))
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=2)
        assert done, f"round {i}: the routing task went on after it was cancelled"


def test_no_engine_code_uses_asyncio_wait_for():
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in {".venv", "tests", "build"}:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(rel))):
            if isinstance(node, ast.Attribute) and node.attr == "wait_for" and \
                    isinstance(node.value, ast.Name) and node.value.id == "asyncio":
                offenders.append(f"{rel}:{node.lineno}")
    assert not offenders, f"use `async with asyncio.timeout(...)` instead: {offenders}"
