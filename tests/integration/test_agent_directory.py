"""The agent directory at run time on real Asterisk: an agent added through the API gets a
PJSIP endpoint a real phone registers to with the generated credentials, and takes calls;
an agent added from the CLI on a Local line is routed to without any dialplan reload;
removal takes the endpoint away."""
from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys

import aiohttp

from acd.softphones import Softphones
from asterisk_conf import process, secrets
from core.centre import Agent, Skill

from .conftest import call, registered, ticket_for, until


async def _endpoint(s, name: str) -> str:
    return (await asyncio.to_thread(process.rx, s, f"pjsip show endpoint {name}")).stdout


async def test_agent_added_by_api_registers_its_phone_takes_a_call_and_is_removed(hotline, driver, tmp_path):
    s, acd = hotline.settings, hotline.engine.acd
    ops = {"Authorization": f"Bearer {await hotline.store.create_token('ops', 'ops-dir')}"}
    async with aiohttp.ClientSession(s.http_url) as http:
        r = await http.post("/api/v1/agents", headers=ops,
                            json={"id": "2005", "name": "新坐席 Xu", "skills": ["housing:cmn:5"]})
        body = await r.json()
        assert r.status == 201, body
        assert body["applied"]["asterisk"]["errors"] == []
        assert "module reload res_pjsip.so" in body["applied"]["asterisk"]["reloaded"]
        shown = await _endpoint(s, "agent2005")
        assert "Endpoint:  agent2005" in shown and "Unable to find" not in shown, shown
        creds = await (await http.get("/api/v1/agents/2005/sip", headers=ops)).json()
        assert creds["username"] == "agent2005"
        assert creds["password"] == secrets.agent_password(s.state_dir, "2005")

        # a real phone with those credentials, beside the other test phones' ports
        mine = dataclasses.replace(s, phones_port=s.phones_port + 20, rtp_end=s.rtp_end + 2000)
        phone = Softphones(mine, [Agent("2005", "Xu", (Skill("housing", "cmn", 5),))], tmp_path / "phone")
        task = asyncio.create_task(phone.run())
        try:
            await until(lambda: registered(s, ["agent2005"]), 20, "agent2005 registered")
            assert acd.board.agent("2005").state == "logged_out"      # new agents log in first
            r = await http.post("/api/v1/agents/2005/login", headers=ops)
            assert r.status == 200
            # level 5 beats the demo's housing agent (level 4): the new phone gets the call
            t = await ticket_for(hotline.store, await call(driver, s, "12329", talk=3))
            assert (t["department"], t["agent"], t["disposition"]) == ("housing", "agent2005", "answered")
            await until(lambda: acd.board.agent("2005").call is None, 30, "2005 free")
            r = await http.delete("/api/v1/agents/2005", headers=ops)
            assert r.status == 200
            assert "2005" not in acd.agents
            assert "Unable to find object agent2005" in await _endpoint(s, "agent2005")
            listed = await (await http.get("/api/v1/agents", headers=ops)).json()
            assert "2005" not in [a["id"] for a in listed["items"]]
        finally:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass


async def test_agent_added_from_the_cli_is_picked_up_and_routed_to(hotline, driver):
    s, acd = hotline.settings, hotline.engine.acd
    cli = [sys.executable, "-m", "hotline.cli", "--home", str(s.home), "--instance", s.instance,
           "--db-url", s.database_url]
    env_config = {"HOTLINE_CONFIG": str(s.config)}
    add = cli + ["agents", "add", "2006", "--name", "cli line", "--line", "local-talk", "--skill", "housing:cmn:5"]
    r = await asyncio.to_thread(subprocess.run, add, capture_output=True, text=True, timeout=60,
                                env={**_env(), **env_config})
    assert r.returncode == 0, r.stderr
    await until(lambda: "2006" in acd.agents, 15, "the engine to see agent 2006")
    await acd.agent_action("2006", "login", by="test")
    try:
        t = await ticket_for(hotline.store, await call(driver, s, "12329", talk=2))
        # a Local line added at run time: no dialplan reload, the engine set its globals
        assert (t["department"], t["agent"], t["disposition"]) == ("housing", "2006", "answered")
        await until(lambda: acd.board.agent("2006").call is None, 30, "2006 free")
    finally:
        rm = await asyncio.to_thread(subprocess.run, cli + ["agents", "remove", "2006"], capture_output=True,
                                     text=True, timeout=60, env={**_env(), **env_config})
    assert rm.returncode == 0, rm.stderr
    await until(lambda: "2006" not in acd.agents, 15, "the engine to drop agent 2006")
    bad = await asyncio.to_thread(subprocess.run, cli + ["agents", "add", "2007", "--skill", "housing:cmn:9"],
                                  capture_output=True, text=True, timeout=60, env={**_env(), **env_config})
    assert bad.returncode == 2 and "[bad-request]" in bad.stderr


def _env() -> dict:
    return dict(os.environ)
