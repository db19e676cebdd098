"""The IVR runner on a scripted channel (no sockets): what a caller pressing 7 then 1 hears
when the knowledge base answers, has no entry, is slow, or the answer cannot be synthesised,
and that the answer's text never reaches an AGI command."""
from __future__ import annotations

import asyncio
import hashlib
import subprocess

import pytest

from core import settings
from ivr.loader import FLOWS, load_all
from ivr.prompts import PromptCatalogue, synthesise
from ivr.runner import IvrRunner

# Newlines, AGI and dialplan syntax, an espeak-ng option: all of it is only ever spoken.
EVIL = "办事时间\nEXEC System reboot\n${SHELL} \"quoted\" -f /etc/shadow"


class ScriptedChannel:
    """Plays the citizen: answers GET DATA with the next keys, records every AGI command."""

    def __init__(self, keys: list[str]):
        self.headers = {"agi_arg_1": "12345", "agi_callerid": "", "agi_uniqueid": "u1"}
        self.keys = list(keys)
        self.commands: list[str] = []
        self.vars: dict[str, str] = {}

    async def set_variable(self, name: str, value: str) -> None:
        self.commands.append(f"SET VARIABLE {name} {value}")
        self.vars[name] = value

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> tuple[str, bool]:
        self.commands.append(f"GET DATA {prompt}")
        key = self.keys.pop(0) if self.keys else ""
        return key, key == ""

    async def stream(self, prompt: str, escape: str = "") -> str:
        self.commands.append(f"STREAM FILE {prompt}")
        return ""

    def heard(self) -> list[str]:
        return [c.split(" ", 2)[2] for c in self.commands if c.startswith(("STREAM FILE", "GET DATA"))]


class FakeSpeech:
    def __init__(self, fail: bool = False):
        self.fail, self.texts = fail, []

    async def file_for(self, text: str, language: str) -> str:
        if self.fail:
            raise subprocess.CalledProcessError(1, ["espeak-ng"])
        self.texts.append((language, text))
        return "hotline-tts/" + hashlib.sha256(f"{language}:{text}".encode()).hexdigest()[:20]


@pytest.fixture(scope="module")
def menu():
    m, problems = load_all(FLOWS, settings.load_centre(settings.DEMO_CONFIG))
    assert not [p for p in problems if p.error]
    return m


async def _no_ticket(number):
    return None


async def _no_language(caller):
    return None


def runner(menu, speech, kb, counted: list, kb_seconds: float = 2.0) -> IvrRunner:
    async def used(entry: int) -> bool:
        counted.append(entry)
        return True
    return IvrRunner(lambda: menu, PromptCatalogue(lambda: menu), speech, _no_ticket, _no_language,
                     kb=kb, kb_used=used, kb_seconds=kb_seconds, clock=lambda: 1000.0)


# lang 3 (English), 7 policy answers, 1 office hours, then 5 (housing) at the main menu
KEYS = ["3", "7", "1", "5"]


async def test_the_kb_answer_is_spoken_in_english_counted_and_on_the_path(menu):
    asked = []

    async def kb(key, language):
        asked.append((key, language))
        return 17, EVIL

    chan, speech, counted = ScriptedChannel(KEYS), FakeSpeech(), []
    await runner(menu, speech, kb, counted)(chan)
    assert asked == [("office_hours", "en")]
    digest = hashlib.sha256(f"en:{EVIL}".encode()).hexdigest()[:20]
    assert chan.heard() == ["cmn/hotline/welcome", "en/hotline/main", "en/hotline/faq", f"hotline-tts/{digest}",
                            "en/hotline/main"]
    assert counted == [17]
    assert "kb:17@" in chan.vars["HL_PATH"] and chan.vars["HL_DEPT"] == "housing"
    # the text went to the synthesiser only: no AGI command carries any of it
    assert set(speech.texts) == {("en", EVIL)}
    for c in chan.commands:
        assert "EXEC" not in c and "SHELL" not in c and "办事" not in c and "\n" not in c


async def test_no_entry_in_the_callers_language_plays_the_fallback_prompt(menu):
    async def kb(key, language):
        return None

    chan, counted = ScriptedChannel(KEYS), []
    await runner(menu, FakeSpeech(), kb, counted)(chan)
    assert "en/hotline/faq_hours" in chan.heard() and chan.heard()[-1] == "en/hotline/main"
    assert counted == [] and "kb:-@" in chan.vars["HL_PATH"]


async def test_a_knowledge_base_that_does_not_answer_in_time_plays_the_fallback(menu):
    async def kb(key, language):
        await asyncio.sleep(30)   # a database cut off mid-query

    chan, counted = ScriptedChannel(KEYS), []
    started = asyncio.get_running_loop().time()
    await runner(menu, FakeSpeech(), kb, counted, kb_seconds=0.05)(chan)
    assert asyncio.get_running_loop().time() - started < 5
    assert "en/hotline/faq_hours" in chan.heard() and chan.vars["HL_DEPT"] == "housing"
    assert counted == []


async def test_an_answer_that_cannot_be_synthesised_plays_the_fallback(menu):
    async def kb(key, language):
        return 17, "answer"

    chan, counted = ScriptedChannel(KEYS), []
    await runner(menu, FakeSpeech(fail=True), kb, counted)(chan)
    assert "en/hotline/faq_hours" in chan.heard() and counted == []
    assert "kb:-@" in chan.vars["HL_PATH"]


async def test_a_slow_use_count_never_holds_the_caller(menu):
    async def kb(key, language):
        return 17, "answer"

    async def stuck(entry):
        await asyncio.sleep(30)

    chan = ScriptedChannel(KEYS)
    r = IvrRunner(lambda: menu, PromptCatalogue(lambda: menu), FakeSpeech(), _no_ticket, _no_language,
                  kb=kb, kb_used=stuck, kb_seconds=0.05)
    await r(chan)
    assert chan.vars["HL_DEPT"] == "housing" and chan.heard()[-1] == "en/hotline/main"


async def test_an_answer_that_looks_like_espeak_options_is_spoken_not_obeyed(tmp_path):
    # real espeak-ng and sox (scripts/bootstrap.sh installs both): a missing tool fails here
    # rather than hiding the check
    leak = tmp_path / "leak.wav"
    target = tmp_path / "answer.wav"
    await asyncio.to_thread(synthesise, [("en", f"--version -w {leak}")], target)
    assert target.stat().st_size > 8000 and not leak.exists()
