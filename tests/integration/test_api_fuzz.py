"""The API against its own OpenAPI document: roles on every route, and a fuzz run
(schemathesis) that must find no server error."""
from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import aiohttp

ROLES = ("agent", "supervisor", "department", "ops", "auditor")
FILL = {"id": "1", "linkedid": "nosuchcall", "code": "tax", "action": "accept", "op": "login", "number": "13800138000"}
ST = Path(sys.executable).with_name("schemathesis")


async def test_openapi_lists_every_route_and_each_refuses_missing_and_wrong_role_tokens(hotline):
    s = hotline.settings
    tokens = {role: await hotline.store.create_token(role, f"fuzz-{role}") for role in ROLES}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{s.http_url}/api/v1/openapi.json") as r:
            assert r.status == 200
            doc = await r.json()
        assert len(doc["paths"]) >= 20
        checked = 0
        for path, ops in doc["paths"].items():
            url = s.http_url + re.sub(r"{(\w+)}", lambda m: FILL[m.group(1)], path)
            for method, op in ops.items():
                async with http.request(method.upper(), url) as r:
                    assert r.status == 401, (method, path, r.status)
                    assert (await r.json())["error"] == "unauthorized"
                async with http.request(method.upper(), url, headers={"Authorization": "Bearer hl_forged"}) as r:
                    assert r.status == 401, (method, path)
                for role in set(ROLES) - set(op["x-roles"]):
                    async with http.request(method.upper(), url,
                                            headers={"Authorization": f"Bearer {tokens[role]}"}) as r:
                        assert r.status == 403, (method, path, role, r.status)
                        checked += 1
        assert checked > 30


async def fuzz(s, token: str, seed: int, phases: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        str(ST), "run", f"{s.http_url}/api/v1/openapi.json", "-H", f"Authorization: Bearer {token}",
        "-c", "not_a_server_error", "-n", "12", "--seed", str(seed), "--phases", phases,
        # endless event streams are checked by the browser tests; changing or removing the
        # agents other tests rely on is checked in tests/unit/test_agent_directory.py
        "--exclude-name-regex", r"(stream|pops)$|^(PATCH|DELETE) /api/v1/agents/",
        # its example cache in the worker's own folder, not in the checkout
        cwd=str(s.state_dir), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 300)
    return proc.returncode, out.decode(errors="replace")


async def test_fuzzing_from_the_openapi_document_finds_no_server_error(hotline):
    # time: on PostgreSQL (the stricter database) the boundary values of every parameter
    # (coverage) and random cases as a supervisor; on SQLite random cases as ops
    s = hotline.settings
    pg = not hotline.settings.database_url.startswith("sqlite")
    role, phases = ("supervisor", "coverage,fuzzing") if pg else ("ops", "fuzzing")
    token = await hotline.store.create_token(role, "1002")
    code, out = await fuzz(s, token, seed=7, phases=phases)
    totals = re.search(r"(\d+) generated, (\d+) passed", out)
    assert code == 0 and totals and totals.group(1) == totals.group(2), out[-4000:]
    assert int(totals.group(1)) > (300 if pg else 100)
