"""The HTTP API as outside tools use it: bearer tokens, roles, filters, stable error ids."""
from __future__ import annotations

import aiohttp

from .conftest import call, ticket_for


async def test_tickets_api_filters_and_roles(hotline, driver):
    s = hotline.settings
    linkedid = await call(driver, s, "12369", caller="13600136000", talk=1, wait=0.3)
    ticket = await ticket_for(hotline.store, linkedid)
    ops = await hotline.store.create_token("ops", "test")
    dept = await hotline.store.create_token("department", "test")
    base = s.http_url
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/status") as r:
            body = await r.json()
            assert r.status == 200 and body["ami"] and body["fastagi"] and body["db"]
            assert body["asterisk_version"].startswith("22.")
        async with http.get(f"{base}/api/v1/tickets") as r:
            assert r.status == 401 and (await r.json())["error"] == "unauthorized"
        async with http.get(f"{base}/api/v1/tickets", headers={"Authorization": "Bearer nope"}) as r:
            assert r.status == 401
        async with http.get(f"{base}/api/v1/tickets", headers={"Authorization": f"Bearer {dept}"}) as r:
            assert r.status == 403 and (await r.json())["error"] == "forbidden"
        auth = {"Authorization": f"Bearer {ops}"}
        async with http.get(f"{base}/api/v1/tickets", params={"caller": "13600136000", "dialed": "12369"},
                            headers=auth) as r:
            items = (await r.json())["items"]
            assert r.status == 200 and [t["id"] for t in items] == [ticket["id"]]
            assert items[0]["department"] == "ecology" and items[0]["linkedid"] == linkedid
        for evil in ("' OR '1'='1", "1; DROP TABLE tickets;--"):
            async with http.get(f"{base}/api/v1/tickets", params={"caller": evil}, headers=auth) as r:
                assert r.status == 200 and (await r.json())["items"] == []
        async with http.get(f"{base}/api/v1/tickets", params={"limit": "abc"}, headers=auth) as r:
            assert r.status == 400 and (await r.json())["error"] == "bad-request"
        async with http.get(f"{base}/api/v1/tickets/{ticket['id']}", headers=auth) as r:
            assert r.status == 200 and (await r.json())["linkedid"] == linkedid
        async with http.get(f"{base}/api/v1/tickets/999999", headers=auth) as r:
            assert r.status == 404 and (await r.json())["error"] == "not-found"
    assert await hotline.store.tickets(linkedid=linkedid)  # the injection strings left the table alone
