"""One FastAGI session: send a command line, parse '200 result=... (data)'."""
from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import HotlineError

_RESULT = re.compile(r"^(\d{3})(?: result=(\S*))?(?: \((.*)\))?(?: endpos=(\d+))?")


class ChannelHungUp(HotlineError):
    id, status = "channel-hung-up", 410


class AgiProtocolError(HotlineError):
    id, status = "agi-protocol-error", 502


@dataclass(frozen=True)
class AgiResult:
    code: int
    result: str
    data: str
    raw: str


def quote(value: str) -> str:
    """An AGI argument: double-quoted, backslash-escaped; line breaks are refused."""
    if "\n" in value or "\r" in value:
        raise AgiProtocolError("AGI argument contains a line break")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# Asterisk sends these before agi_callerid (res_agi.c setup_env): a caller ID carrying
# "\nagi_network_script: x" must not override them, so their first value wins. Keys sent
# after the caller ID (agi_arg_N...) keep their last value for the same reason.
_BEFORE_CALLERID = frozenset({"agi_network", "agi_network_script", "agi_request", "agi_channel",
                              "agi_language", "agi_type", "agi_uniqueid", "agi_version"})


def parse_headers(block: bytes) -> dict[str, str]:
    """agi_* headers; lines that are not 'key: value' (e.g. a caller ID with a newline in
    it splits its header line) are skipped rather than trusted."""
    headers: dict[str, str] = {}
    for line in block.decode("utf-8", "replace").split("\n"):
        key, sep, value = line.partition(": ")
        if sep and key.startswith("agi_") and " " not in key:
            if key in _BEFORE_CALLERID and key in headers:
                continue
            headers[key] = value
    return headers


class AgiChannel:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 headers: dict[str, str], timeout: float = 120.0,
                 on_rtt: Callable[[float], None] | None = None):
        self.reader, self.writer, self.headers, self.timeout = reader, writer, headers, timeout
        self.hung_up = False
        self.commands = 0
        self.on_rtt = on_rtt  # told the round trip of commands that do not wait for the caller

    @property
    def script(self) -> str:
        return self.headers.get("agi_network_script", "").split("?", 1)[0].strip("/")

    async def command(self, line: str) -> AgiResult:
        if "\n" in line or "\r" in line:
            raise AgiProtocolError("AGI command contains a line break")
        self.commands += 1
        started = time.perf_counter()
        self.writer.write(line.encode() + b"\n")
        await self.writer.drain()
        while True:
            raw = await self._readline()
            if raw.startswith("HANGUP"):
                self.hung_up = True
                continue
            m = _RESULT.match(raw)
            if not m:
                raise AgiProtocolError(f"unexpected AGI reply {raw[:80]!r}")
            code = int(m.group(1))
            if raw.startswith("520-"):  # multi-line usage text
                while not (await self._readline()).startswith("520 "):
                    pass
            if code == 511:
                self.hung_up = True
                raise ChannelHungUp("channel is gone")
            if code != 200:
                raise AgiProtocolError(f"AGI {line.split(' ', 1)[0]} failed: {raw[:120]}")
            if self.on_rtt is not None and line.startswith(("SET VARIABLE", "GET VARIABLE")):
                self.on_rtt(time.perf_counter() - started)
            result = m.group(2) or ""
            if result == "-1" and not line.startswith(("SET VARIABLE", "GET VARIABLE")):
                self.hung_up = True
                raise ChannelHungUp("channel hung up during " + line.split(" ", 1)[0])
            return AgiResult(code, result, m.group(3) or "", raw)

    async def _readline(self) -> str:
        try:
            async with asyncio.timeout(self.timeout):
                data = await self.reader.readline()
        except TimeoutError as e:
            raise AgiProtocolError("no AGI reply in time") from e
        if not data:
            self.hung_up = True
            raise ChannelHungUp("AGI connection closed")
        return data.decode("utf-8", "replace").rstrip("\r\n")

    # -- the few commands the engine uses -----------------------------------------
    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> tuple[str, bool]:
        """Play a prompt and collect digits; returns (digits, timed_out)."""
        r = await self.command(f"GET DATA {prompt} {int(timeout_ms)} {int(max_digits)}")
        return r.result, r.data == "timeout" or r.result == ""

    async def set_variable(self, name: str, value: str) -> None:
        await self.command(f"SET VARIABLE {name} {quote(value)}")

    async def stream(self, prompt: str, escape: str = "") -> str:
        r = await self.command(f"STREAM FILE {prompt} {quote(escape)}")
        return chr(int(r.result)) if r.result.isdigit() and int(r.result) > 0 else ""
