"""The benchmarks' exact-sample routes: a reader gets the samples after its last read."""
from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from acd.service import Stats
from hotline.metrics import Metrics, add_routes


async def test_samples_are_read_from_where_the_reader_left_off():
    metrics, stats = Metrics(), Stats()
    app = web.Application()
    add_routes(app, metrics, stats)
    for x in (0.001, 0.002):
        metrics.agi_round_trip(x)
    stats.free_to_ring.append(0.05)
    stats.free_to_ring_total += 1
    async with TestClient(TestServer(app)) as client:
        first = await (await client.get("/metrics/agi-rtt?since=0")).json()
        assert first == {"next": 2, "seconds": [0.001, 0.002]}
        metrics.agi_round_trip(0.003)
        assert await (await client.get(f"/metrics/agi-rtt?since={first['next']}")).json() == \
            {"next": 3, "seconds": [0.003]}
        ring = await (await client.get("/metrics/free-to-ring?since=0")).json()
        assert ring == {"next": 1, "seconds": [0.05]}
        assert (await client.get("/metrics/free-to-ring?since=x")).status == 400
