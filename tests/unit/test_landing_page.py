"""The landing page at `/`: served without a token by the engine's real app, every link it
offers leads to a route that answers, and the health it shows is read from keys /status has."""
from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient, TestServer

from core import settings
from hotline.app import Engine

LINKS = ("/wallboard", "/agent", "/portal", "/console", "/scorecard", "/digest", "/api/v1/openapi.json", "/status")


@pytest.fixture
async def engine_client(tmp_path):
    s = settings.load(env={}, home=str(tmp_path), asterisk_root=str(tmp_path / "root"))
    engine = Engine(s, phones=False)
    client = TestClient(TestServer(engine.http, host="127.0.0.1"))
    await client.start_server()
    yield engine, client
    await client.close()
    await engine.store.close()


async def test_root_serves_the_landing_page_without_a_token(engine_client):
    _, client = engine_client
    r = await client.get("/")
    assert r.status == 200
    assert r.content_type == "text/html"
    html = await r.text()
    assert "<title>12345" in html
    hrefs = set(re.findall(r'href="([^"]+)"', html))
    assert set(LINKS) <= hrefs


async def test_every_link_on_the_landing_page_answers(engine_client):
    _, client = engine_client
    html = await (await client.get("/")).text()
    local = sorted({h for h in re.findall(r'href="([^"]+)"', html) if h.startswith("/")})
    assert local
    for href in local:
        r = await client.get(href)
        # /status says 503 while AMI and FastAGI are down (nothing runs in this test), but answers
        assert r.status in ((200, 503) if href == "/status" else (200,)), href
        if href == "/api/v1/openapi.json":
            assert "paths" in await r.json()


async def test_health_the_page_shows_comes_from_keys_status_really_has(engine_client):
    engine, client = engine_client
    html = await (await client.get("/")).text()
    keys = set(re.findall(r'data-key="([^"]+)"', html))
    assert {"ami", "fastagi", "db"} <= keys
    body = await (await client.get("/status")).json()
    assert keys <= set(body), f"the page reads keys /status does not have: {keys - set(body)}"
    # every key the page reads has a formatter in its script, so none stays blank
    script = re.split(r"<script[^>]*>", html, maxsplit=1)[1]
    for key in keys:
        assert re.search(rf"\b{key}: ", script), key
