"""FastAGI server and channel, with the test playing Asterisk over loopback sockets."""
from __future__ import annotations

import asyncio
import contextlib

import pytest

from agi_scripts.channel import AgiChannel, AgiProtocolError, AgiResult, ChannelHungUp, parse_headers, quote
from agi_scripts.server import FastAgiServer

HEADER = b"agi_network: yes\nagi_network_script: ivr\nagi_arg_1: 12345\n\n"
IO_TIMEOUT = 5.0


@contextlib.asynccontextmanager
async def serving(routes, **kw):
    server = FastAgiServer("127.0.0.1", 0, routes, **kw)
    await server.start()
    try:
        assert server.listening
        yield server, server._server.sockets[0].getsockname()[1]
    finally:
        await server.stop()


class Asterisk:
    """The Asterisk end of one FastAGI connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int, header: bytes | None = HEADER) -> "Asterisk":
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        a = cls(reader, writer)
        if header is not None:
            writer.write(header)
            await writer.drain()
        return a

    async def command(self) -> str:
        line = await asyncio.wait_for(self.reader.readline(), IO_TIMEOUT)
        assert line.endswith(b"\n"), f"expected a command, got {line!r}"
        return line.decode().rstrip("\n")

    async def reply(self, text: str) -> None:
        self.writer.write(text.encode())
        await self.writer.drain()

    async def ends(self) -> bytes:
        """Everything the server still sends until it closes the connection."""
        try:
            return await asyncio.wait_for(self.reader.read(), IO_TIMEOUT)
        except ConnectionResetError:
            return b""

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


async def proper_session(server: FastAgiServer, port: int, seen: list) -> None:
    """One well-behaved call through the `ivr` route; asserts the server served it."""
    before = server.stats["sessions"]
    a = await Asterisk.connect(port)
    try:
        assert await a.command() == 'SET VARIABLE HL_ACTION "queue"'
        await a.reply("200 result=1\n")
        assert await a.ends() == b""
    finally:
        await a.close()
    assert server.stats["sessions"] == before + 1
    assert seen[-1] == "12345"


def ivr_route(seen: list):
    async def route(ch: AgiChannel) -> None:
        seen.append(ch.headers.get("agi_arg_1"))
        await ch.set_variable("HL_ACTION", "queue")
    return route


# -- a normal session --------------------------------------------------------------------
async def test_session_sees_headers_and_command_results():
    got: dict = {}

    async def route(ch: AgiChannel) -> None:
        got["script"] = ch.script
        got["arg"] = ch.headers["agi_arg_1"]
        got["set"] = await ch.command("SET VARIABLE HL_LANG cmn")
        got["data"] = await ch.get_data("hotline/cmn/welcome", 4000, 1)
        got["timeout"] = await ch.get_data("hotline/cmn/departments", 5000, 1)

    async with serving({"ivr": route}) as (server, port):
        a = await Asterisk.connect(port)
        try:
            assert await a.command() == "SET VARIABLE HL_LANG cmn"
            await a.reply("200 result=1\n")
            assert await a.command() == "GET DATA hotline/cmn/welcome 4000 1"
            await a.reply("200 result=2\n")
            assert await a.command() == "GET DATA hotline/cmn/departments 5000 1"
            await a.reply("200 result= (timeout)\n")
            assert await a.ends() == b""
        finally:
            await a.close()
        assert server.stats["sessions"] == 1
        assert server.stats["commands"] == 3
        assert server.stats["errors"] == 0 and server.stats["bad_clients"] == 0
    assert got["script"] == "ivr" and got["arg"] == "12345"
    assert got["set"] == AgiResult(200, "1", "", "200 result=1")
    assert got["data"] == ("2", False)
    assert got["timeout"] == ("", True)


async def test_script_name_ignores_slashes_and_query():
    seen: list = []
    header = HEADER.replace(b"agi_network_script: ivr", b"agi_network_script: /ivr/?x=1")
    async with serving({"ivr": ivr_route(seen)}) as (server, port):
        a = await Asterisk.connect(port, header)
        try:
            assert await a.command() == 'SET VARIABLE HL_ACTION "queue"'
            await a.reply("200 result=1\n")
            await a.ends()
        finally:
            await a.close()
        assert server.stats["sessions"] == 1
    assert seen == ["12345"]


async def test_hangup_line_before_the_reply_is_noted_and_skipped():
    got: dict = {}

    async def route(ch: AgiChannel) -> None:
        got["result"] = await ch.command("SET VARIABLE HL_PATH x")
        got["hung_up"] = ch.hung_up

    async with serving({"ivr": route}) as (server, port):
        a = await Asterisk.connect(port)
        try:
            await a.command()
            await a.reply("HANGUP\n200 result=1\n")
            await a.ends()
        finally:
            await a.close()
    assert got["result"].result == "1"
    assert got["hung_up"] is True


async def test_usage_error_is_a_protocol_error_and_its_text_is_consumed():
    got: dict = {}

    async def route(ch: AgiChannel) -> None:
        with pytest.raises(AgiProtocolError) as ei:
            await ch.command("GET DATA")
        got["error"] = str(ei.value)
        got["next"] = await ch.command("SET VARIABLE HL_LANG cmn")

    async with serving({"ivr": route}) as (server, port):
        a = await Asterisk.connect(port)
        try:
            assert await a.command() == "GET DATA"
            await a.reply("520-Invalid command syntax.  Proper usage follows:\n"
                          "Usage: GET DATA <file to be streamed> [timeout] [maxdigits]\n"
                          "520 End of proper usage.\n")
            assert await a.command() == "SET VARIABLE HL_LANG cmn"
            await a.reply("200 result=1\n")
            await a.ends()
        finally:
            await a.close()
        assert server.stats["errors"] == 0
    assert "GET" in got["error"] and "520" in got["error"]
    assert got["next"].result == "1"   # the next reply was not confused with the usage text


async def test_uncaught_usage_error_counts_as_an_error():
    async def route(ch: AgiChannel) -> None:
        await ch.command("GET DATA")

    async with serving({"ivr": route}) as (server, port):
        a = await Asterisk.connect(port)
        try:
            await a.command()
            await a.reply("520-Invalid command syntax.  Proper usage follows:\nUsage: x\n520 End of proper usage.\n")
            await a.ends()
        finally:
            await a.close()
        assert server.stats["errors"] == 1
        assert server.stats["hangups"] == 0


async def test_dead_channel_reply_is_a_hangup():
    got: dict = {}

    async def route(ch: AgiChannel) -> None:
        try:
            await ch.command("STREAM FILE hotline/cmn/welcome \"\"")
        finally:
            got["hung_up"] = ch.hung_up

    async with serving({"ivr": route}) as (server, port):
        a = await Asterisk.connect(port)
        try:
            await a.command()
            await a.reply("511 Command Not Permitted on a dead channel or intercept routine\n")
            await a.ends()
        finally:
            await a.close()
        assert server.stats["hangups"] == 1
        assert server.stats["errors"] == 0
    assert got["hung_up"] is True


async def test_result_minus_one_means_the_caller_hung_up():
    async def route(ch: AgiChannel) -> None:
        await ch.get_data("hotline/cmn/welcome", 4000, 1)

    async with serving({"ivr": route}) as (server, port):
        a = await Asterisk.connect(port)
        try:
            await a.command()
            await a.reply("200 result=-1\n")
            await a.ends()
        finally:
            await a.close()
        assert server.stats["hangups"] == 1


async def test_set_variable_minus_one_is_not_a_hangup():
    got: dict = {}

    async def route(ch: AgiChannel) -> None:
        await ch.set_variable("HL_LANG", "cmn")
        got["hung_up"] = ch.hung_up

    async with serving({"ivr": route}) as (server, port):
        a = await Asterisk.connect(port)
        try:
            await a.command()
            await a.reply("200 result=-1\n")
            await a.ends()
        finally:
            await a.close()
        assert server.stats["hangups"] == 0
    assert got["hung_up"] is False


async def test_connection_closed_mid_command_is_a_hangup():
    async def route(ch: AgiChannel) -> None:
        await ch.get_data("hotline/cmn/welcome", 4000, 1)

    async with serving({"ivr": route}) as (server, port):
        a = await Asterisk.connect(port)
        try:
            await a.command()
            a.writer.write_eof()
            await a.ends()
        finally:
            await a.close()
        assert server.stats["hangups"] == 1
        assert server.stats["errors"] == 0


async def test_garbage_reply_is_a_protocol_error():
    async def route(ch: AgiChannel) -> None:
        await ch.command("ANSWER")

    async with serving({"ivr": route}) as (server, port):
        a = await Asterisk.connect(port)
        try:
            await a.command()
            await a.reply("hello there\n")
            await a.ends()
        finally:
            await a.close()
        assert server.stats["errors"] == 1


async def test_stream_returns_the_escape_digit():
    got: list = []

    async def route(ch: AgiChannel) -> None:
        got.append(await ch.stream("hotline/cmn/welcome", "#"))
        got.append(await ch.stream("hotline/cmn/welcome", "#"))

    async with serving({"ivr": route}) as (server, port):
        a = await Asterisk.connect(port)
        try:
            assert await a.command() == 'STREAM FILE hotline/cmn/welcome "#"'
            await a.reply("200 result=35 endpos=8000\n")
            await a.command()
            await a.reply("200 result=0 endpos=16000\n")
            await a.ends()
        finally:
            await a.close()
    assert got == ["#", ""]


async def test_no_reply_in_time_is_a_protocol_error():
    async def route(ch: AgiChannel) -> None:
        await ch.command("ANSWER")

    async with serving({"ivr": route}, command_timeout=0.2) as (server, port):
        a = await Asterisk.connect(port)
        try:
            await a.command()
            await a.ends()   # never answered: the server gives up and closes
        finally:
            await a.close()
        assert server.stats["errors"] == 1


# -- values that would smuggle a second command ---------------------------------------------
async def test_line_break_in_a_variable_value_never_reaches_asterisk():
    async def route(ch: AgiChannel) -> None:
        await ch.set_variable("HL_CALLER", "138\nHANGUP")

    async with serving({"ivr": route}) as (server, port):
        a = await Asterisk.connect(port)
        try:
            assert await a.ends() == b""   # not a single byte was sent
        finally:
            await a.close()
        assert server.stats["errors"] == 1


async def test_line_break_in_a_command_is_refused():
    async def route(ch: AgiChannel) -> None:
        await ch.command("SET VARIABLE A 1\nHANGUP")

    async with serving({"ivr": route}) as (server, port):
        a = await Asterisk.connect(port)
        try:
            assert await a.ends() == b""
        finally:
            await a.close()
        assert server.stats["errors"] == 1


@pytest.mark.parametrize("value, quoted", [
    ("cmn", '"cmn"'),
    ("", '""'),
    ('say "hi"', '"say \\"hi\\""'),
    ("back\\slash", '"back\\\\slash"'),
    ('\\"', '"\\\\\\""'),
    ("lang:1@1795955818.526,dept:2", '"lang:1@1795955818.526,dept:2"'),
    ("张三", '"张三"'),
])
def test_quote(value, quoted):
    assert quote(value) == quoted


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "\r\n", "x\n"])
def test_quote_refuses_line_breaks(value):
    with pytest.raises(AgiProtocolError):
        quote(value)


# -- bad clients ------------------------------------------------------------------------------
async def test_client_closing_before_the_blank_line_then_a_proper_session():
    seen: list = []
    async with serving({"ivr": ivr_route(seen)}) as (server, port):
        a = await Asterisk.connect(port, header=b"agi_network: yes\nagi_network_script: ivr\n")
        try:
            a.writer.write_eof()
            assert await a.ends() == b""
        finally:
            await a.close()
        assert server.stats["bad_clients"] == 1
        assert seen == []
        await proper_session(server, port, seen)
        assert server.stats["bad_clients"] == 1


async def test_client_dropping_the_connection_abruptly_then_a_proper_session():
    seen: list = []
    async with serving({"ivr": ivr_route(seen)}) as (server, port):
        a = await Asterisk.connect(port, header=b"agi_network: yes\nagi_netw")
        await a.close()
        await proper_session(server, port, seen)
        assert server.listening


async def test_oversized_header_is_dropped_then_a_proper_session():
    seen: list = []
    async with serving({"ivr": ivr_route(seen)}, header_limit=1024) as (server, port):
        a = await Asterisk.connect(port, header=None)
        try:
            a.writer.write(b"agi_network: yes\nagi_callerid: " + b"9" * 4096 + b"\n")
            with contextlib.suppress(ConnectionError):
                await a.writer.drain()
            assert await a.ends() == b""
        finally:
            await a.close()
        assert server.stats["bad_clients"] == 1
        assert seen == []
        await proper_session(server, port, seen)
        assert server.stats["bad_clients"] == 1


async def test_silent_client_times_out_then_a_proper_session():
    seen: list = []
    async with serving({"ivr": ivr_route(seen)}, header_timeout=0.2) as (server, port):
        a = await Asterisk.connect(port, header=None)
        try:
            assert await a.ends() == b""   # the server hangs up on it
        finally:
            await a.close()
        assert server.stats["bad_clients"] == 1
        await proper_session(server, port, seen)
        assert server.stats["bad_clients"] == 1


async def test_slow_header_times_out():
    seen: list = []
    async with serving({"ivr": ivr_route(seen)}, header_timeout=0.2) as (server, port):
        a = await Asterisk.connect(port, header=b"agi_network: yes\n")   # and then nothing
        try:
            assert await a.ends() == b""
        finally:
            await a.close()
        assert server.stats["bad_clients"] == 1
        assert seen == []


async def test_unknown_route_is_counted_and_closed():
    seen: list = []
    async with serving({"ivr": ivr_route(seen)}) as (server, port):
        header = HEADER.replace(b"agi_network_script: ivr", b"agi_network_script: admin")
        a = await Asterisk.connect(port, header)
        try:
            assert await a.ends() == b""   # no command sent
        finally:
            await a.close()
        assert server.stats["unknown_route"] == 1
        assert server.stats["sessions"] == 0
        await proper_session(server, port, seen)
        assert server.stats["unknown_route"] == 1


async def test_missing_script_header_is_an_unknown_route():
    seen: list = []
    async with serving({"ivr": ivr_route(seen)}) as (server, port):
        a = await Asterisk.connect(port, b"agi_network: yes\nagi_arg_1: 12345\n\n")
        try:
            assert await a.ends() == b""
        finally:
            await a.close()
        assert server.stats["unknown_route"] == 1
        assert seen == []


async def test_route_that_raises_is_counted_and_the_server_lives_on():
    seen: list = []

    async def broken(ch: AgiChannel) -> None:
        await ch.command("ANSWER")
        raise RuntimeError("bug in a route")

    routes = {"ivr": ivr_route(seen), "broken": broken}
    async with serving(routes) as (server, port):
        header = HEADER.replace(b"agi_network_script: ivr", b"agi_network_script: broken")
        a = await Asterisk.connect(port, header)
        try:
            assert await a.command() == "ANSWER"
            await a.reply("200 result=0\n")
            assert await a.ends() == b""
        finally:
            await a.close()
        assert server.stats["errors"] == 1
        assert isinstance(server.last_error, RuntimeError)
        assert server.listening
        await proper_session(server, port, seen)
        assert server.stats["errors"] == 1
        assert server.stats["sessions"] == 2


async def _stop_with_a_call_in_progress() -> tuple[bytes, bool, list[dict], int]:
    """Stop the server while a route waits for Asterisk; returns what the caller's side saw,
    whether the server still listens, what reached the event loop's exception handler, and
    the port."""
    started = asyncio.Event()

    async def route(ch: AgiChannel) -> None:
        started.set()
        await ch.command("ANSWER")   # never answered

    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    loop_errors: list[dict] = []
    loop.set_exception_handler(lambda _loop, ctx: loop_errors.append(ctx))
    try:
        server = FastAgiServer("127.0.0.1", 0, {"ivr": route})
        await server.start()
        port = server._server.sockets[0].getsockname()[1]
        a = await Asterisk.connect(port)
        try:
            assert await a.command() == "ANSWER"
            await asyncio.wait_for(started.wait(), IO_TIMEOUT)
            await asyncio.wait_for(server.stop(), IO_TIMEOUT)
            tail = await a.ends()
        finally:
            await a.close()
            await server.stop()
        for _ in range(5):   # let done-callbacks of the cancelled sessions run
            await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    return tail, server.listening, loop_errors, port


async def test_stop_ends_sessions_in_progress():
    tail, listening, _, port = await _stop_with_a_call_in_progress()
    assert tail == b""          # the call's connection was closed
    assert not listening
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)


async def test_stop_with_a_call_in_progress_reports_nothing_to_the_event_loop():
    _, _, loop_errors, _ = await _stop_with_a_call_in_progress()
    assert loop_errors == []


async def test_concurrent_sessions_are_independent():
    async def route(ch: AgiChannel) -> None:
        r = await ch.command(f"SET VARIABLE ENTRY {ch.headers['agi_arg_1']}")
        await ch.set_variable("ECHO", r.result)

    async with serving({"ivr": route}) as (server, port):
        a = await Asterisk.connect(port, HEADER.replace(b"12345", b"111"))
        b = await Asterisk.connect(port, HEADER.replace(b"12345", b"222"))
        try:
            assert await b.command() == "SET VARIABLE ENTRY 222"
            assert await a.command() == "SET VARIABLE ENTRY 111"
            await b.reply("200 result=b\n")
            await a.reply("200 result=a\n")
            assert await a.command() == 'SET VARIABLE ECHO "a"'
            assert await b.command() == 'SET VARIABLE ECHO "b"'
            await a.reply("200 result=1\n")
            await b.reply("200 result=1\n")
            await a.ends()
            await b.ends()
        finally:
            await a.close()
            await b.close()
        assert server.stats["sessions"] == 2
        assert server.stats["commands"] == 4


# -- header parsing ------------------------------------------------------------------------------
def test_parse_headers():
    h = parse_headers(b"agi_network: yes\nagi_network_script: ivr\nagi_channel: PJSIP/trunk-00000001\n"
                      b"agi_arg_1: 12345\n\n")
    assert h == {"agi_network": "yes", "agi_network_script": "ivr",
                 "agi_channel": "PJSIP/trunk-00000001", "agi_arg_1": "12345"}


def test_parse_headers_skips_the_broken_line_of_a_caller_id_with_a_newline():
    block = (b"agi_network: yes\nagi_network_script: ivr\n"
             b"agi_callerid: 13800138000\nevil: PJSIP/x then more\n"
             b"agi_calleridname: \xe5\xbc\xa0\xe4\xb8\x89\n"
             b"agi_arg_1: 12345\n\n")
    h = parse_headers(block)
    assert h["agi_callerid"] == "13800138000"
    assert h["agi_calleridname"] == "张三"
    assert h["agi_arg_1"] == "12345"
    assert h["agi_network_script"] == "ivr"
    assert "evil" not in h
    assert not any("PJSIP/x" in v for v in h.values())


@pytest.mark.parametrize("line", [b"no separator", b"agi_x:novalue", b"agi bad key: v", b"Other: v",
                                  b": v", b"\xff\xfe: v"])
def test_parse_headers_skips_lines_that_are_not_agi_headers(line):
    h = parse_headers(b"agi_network_script: ivr\n" + line + b"\nagi_arg_1: 1\n\n")
    assert h == {"agi_network_script": "ivr", "agi_arg_1": "1"}


def test_parse_headers_keeps_colons_in_values():
    h = parse_headers(b"agi_callerid: a: b\n\n")
    assert h == {"agi_callerid": "a: b"}


async def test_caller_id_with_a_newline_still_reaches_the_ivr():
    seen: list = []
    header = (b"agi_network: yes\nagi_network_script: ivr\nagi_callerid: 138\nPJSIP/evil\n"
              b"agi_arg_1: 12345\n\n")
    async with serving({"ivr": ivr_route(seen)}) as (server, port):
        a = await Asterisk.connect(port, header)
        try:
            assert await a.command() == 'SET VARIABLE HL_ACTION "queue"'
            await a.reply("200 result=1\n")
            await a.ends()
        finally:
            await a.close()
        assert server.stats["sessions"] == 1
    assert seen == ["12345"]


async def test_caller_id_cannot_change_the_route():
    seen: list = []
    # Asterisk sends agi_network_script before the channel's caller ID, unescaped
    header = (b"agi_network: yes\nagi_network_script: ivr\nagi_request: agi://127.0.0.1/ivr\n"
              b"agi_callerid: 138\nagi_network_script: nowhere\n"
              b"agi_arg_1: 12345\n\n")
    async with serving({"ivr": ivr_route(seen)}) as (server, port):
        a = await Asterisk.connect(port, header)
        try:
            sent = await a.reader.readline()   # a command, or b"" if the call was dropped
            if sent:
                await a.reply("200 result=1\n")
            await a.ends()
        finally:
            await a.close()
        assert server.stats["unknown_route"] == 0
    assert seen == ["12345"]


async def test_caller_id_with_a_blank_line_does_not_cut_the_header():
    """A caller ID of '138\\n\\nagi_arg_1: 666' would end the header early; the real
    header (ending in agi_threadid and the arguments) still wins."""
    seen: list = []
    header = (b"agi_network: yes\nagi_network_script: ivr\nagi_callerid: 138\n\nagi_arg_1: 666\n"
              b"agi_context: hl-route\nagi_threadid: 1\nagi_arg_1: 12345\n\n")
    async with serving({"ivr": ivr_route(seen)}) as (server, port):
        a = await Asterisk.connect(port, header)
        try:
            assert await a.command() == 'SET VARIABLE HL_ACTION "queue"'
            await a.reply("200 result=1\n")
            await a.ends()
        finally:
            await a.close()
        assert server.stats["sessions"] == 1
    assert seen == ["12345"]
