"""Prometheus metrics, one registry per engine (no module-level globals)."""
from __future__ import annotations

import gc
import time
from array import array

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

RTT_BUCKETS = (0.0001, 0.0002, 0.0003, 0.0004, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005,
               0.01, 0.05, 0.1, 1.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.agi_rtt = Histogram("hotline_agi_roundtrip_seconds",
                                 "FastAGI round trip of commands that do not wait for the caller",
                                 buckets=RTT_BUCKETS, registry=r)
        self.agi_sessions = Counter("hotline_agi_sessions", "FastAGI sessions served", registry=r)
        self.calls_ingested = Counter("hotline_calls_ingested", "Call records stored", ["disposition"], registry=r)
        self.ami_events = Counter("hotline_ami_events", "AMI events received", registry=r)
        self.journal_backlog = Gauge("hotline_journal_backlog", "Journals waiting to be stored", registry=r)
        self.rtt = Samples()
        self.gc = GcPauses()

    def agi_round_trip(self, seconds: float) -> None:
        self.agi_rtt.observe(seconds)
        self.rtt.add(seconds)


class GcPauses:
    """How long the collector stops the engine, by generation: a full collection walks every
    object the process holds and nothing else runs meanwhile (no AGI reply, no routing pass).
    Installed while the engine runs (gc.callbacks is the process's, so `remove` on the way out)."""

    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.max_ms = [0.0, 0.0, 0.0]
        self.total_ms = [0.0, 0.0, 0.0]
        self._t0 = 0.0

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
            return
        g = info.get("generation", 0)
        ms = (time.perf_counter() - self._t0) * 1000
        self.count[g] += 1
        self.total_ms[g] += ms
        self.max_ms[g] = max(self.max_ms[g], ms)

    def install(self) -> None:
        gc.callbacks.append(self._callback)

    def remove(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def status(self) -> dict:
        return {"collections": list(self.count), "max_ms": [round(x, 2) for x in self.max_ms],
                "total_ms": [round(x, 1) for x in self.total_ms], "frozen": gc.get_freeze_count()}


class Samples:
    """The newest round trips themselves (the histogram's buckets are too coarse for exact
    percentiles): a ring of fixed size, allocated once, so memory stays flat."""

    def __init__(self, size: int = 65536):
        self.ring = array("d", bytes(8 * size))
        self.count = 0

    def add(self, value: float) -> None:
        self.ring[self.count % len(self.ring)] = value
        self.count += 1

    def since(self, start: int) -> tuple[int, list[float]]:
        """(the next index, the samples from `start` on that the ring still holds)."""
        start = max(start, self.count - len(self.ring), 0)
        n = len(self.ring)
        return self.count, [self.ring[i % n] for i in range(start, self.count)]


def add_routes(app: web.Application, metrics: Metrics, acd_stats=None) -> None:
    async def agi_samples(request: web.Request) -> web.Response:
        """The benchmarks' exact percentiles: GET /metrics/agi-rtt?since=<next of the last read>."""
        try:
            start = int(request.query.get("since", "0"))
        except ValueError:
            raise web.HTTPBadRequest(text="since must be an integer") from None
        nxt, samples = metrics.rtt.since(start)
        return web.json_response({"next": nxt, "seconds": samples})

    app.router.add_get("/metrics/agi-rtt", agi_samples)

    async def free_to_ring(request: web.Request) -> web.Response:
        """The ACD's "agent free -> agent's phone rings" samples, the same way:
        GET /metrics/free-to-ring?since=<next of the last read>."""
        try:
            start = int(request.query.get("since", "0"))
        except ValueError:
            raise web.HTTPBadRequest(text="since must be an integer") from None
        nxt, samples = acd_stats.free_to_ring_since(start)
        return web.json_response({"next": nxt, "seconds": samples})

    if acd_stats is not None:
        app.router.add_get("/metrics/free-to-ring", free_to_ring)
