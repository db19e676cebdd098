"""Fixtures the unit tests share: the real HTTP app on a SQLite store (`env`)."""
from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from recordings import routes as recording_routes
from surveys import routes as survey_routes
from surveys.service import Surveys
from tickets.providers import Providers
from tickets.routes import add_routes
from tickets.store import Store
from web.app import Deps, make_app


@pytest.fixture
async def env(tmp_path):
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/hotline.db")
    await store.migrate()

    async def status():
        return {"ok": True}

    app = make_app(Deps(store=store, status=status))
    providers = Providers(store, {"homecare"})
    add_routes(app, providers)
    survey_routes.add_routes(app, Surveys(store, None, providers, "node1"))
    recording_routes.add_routes(app)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    tokens = {name: await store.create_token(role, name) for role, name in [
        ("agent", "agent1002"), ("agent", "agent1003"), ("supervisor", "sup1"), ("department", "tax/zhang"),
        ("department", "housing"), ("ops", "ops1"), ("auditor", "aud1")]}
    tokens["unnamed-agent"] = await store.create_token("agent", "")
    yield store, client, tokens
    await client.close()
    await store.close()
