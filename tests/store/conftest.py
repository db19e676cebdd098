"""The store tests' fixture: a migrated store on SQLite and on PostgreSQL (a database of its
own, `<test database>_workflow`, its schema dropped and recreated before each test)."""
from __future__ import annotations

import pytest

from tickets.store import Store

from ..databases import DATABASES
from .helpers import workflow_pg_url


@pytest.fixture(params=DATABASES)
async def store(request, tmp_path):
    url = await workflow_pg_url() if request.param == "postgres" else f"sqlite+aiosqlite:///{tmp_path}/hotline.db"
    s = Store(url)
    await s.migrate()
    yield s
    await s.close()
