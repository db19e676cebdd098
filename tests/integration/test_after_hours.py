"""After hours on real Asterisk: the calendar decides, voicemail becomes a ticket."""
from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from pydub import AudioSegment

from .conftest import call, ticket_for

NATIONAL_DAY = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)      # 09:00 in Beijing, a holiday
MAKEUP_DAY = datetime(2026, 9, 20, 2, 0, tzinfo=UTC)        # Sunday 10:00, a make-up working day


def audio(path, fmt: str = "wav") -> AudioSegment:
    with open(path, "rb") as f:
        return AudioSegment.from_file(f, format=fmt)


@contextlib.contextmanager
def clock(hotline, at: datetime):
    before = hotline.engine.now
    hotline.engine.now = lambda: at
    try:
        yield
    finally:
        hotline.engine.now = before


async def test_closed_day_voicemail_becomes_a_ticket_with_audio(hotline, driver):
    s = hotline.settings
    sounds = s.root / "usr/share/asterisk/sounds/cmn/hotline"
    greeting, spoken = audio(sounds / "closed.wav"), audio(sounds / "faq_card.wav")
    with clock(hotline, NATIONAL_DAY):
        # the citizen speaks once the greeting and the beep are over
        linkedid = await call(driver, s, "12366", caller="13312345678", wait=len(greeting) / 1000 + 2,
                              play="cmn/hotline/faq_card", talk=1)
        t = await ticket_for(hotline.store, linkedid, timeout=60)
    assert (t["disposition"], t["department"], t["category"]) == ("voicemail", "tax", "callback_needed")
    assert t["caller"] == "13312345678" and t["agent"] is None
    assert t["due_at"] is not None and t["due_at"].startswith("2026-10-08")  # next opening after the holiday
    [att] = [a for a in await hotline.store.attachments(t["id"]) if a["kind"] == "voicemail"]
    assert att["kind"] == "voicemail" and att["status"] == "ok", att
    assert abs(att["seconds"] - len(spoken) / 1000) < 1.5, (att["seconds"], len(spoken))
    message = audio(att["path"], "ogg")
    assert message.dBFS > -40 and abs(len(message) / 1000 - att["seconds"]) < 0.2
    assert [c["id"] for c in await hotline.store.callbacks("tax")][-1] == t["id"]


async def test_silent_voicemail_keeps_the_caller_number(hotline, driver):
    s = hotline.settings
    with clock(hotline, NATIONAL_DAY):
        t = await ticket_for(hotline.store, await call(driver, s, "12366", caller="13399998888", wait=1, talk=12),
                             timeout=60)
    assert (t["disposition"], t["caller"], t["category"]) == ("voicemail", "13399998888", "callback_needed")
    [att] = [a for a in await hotline.store.attachments(t["id"]) if a["kind"] == "voicemail"]
    assert att["status"] == "empty" and "no message" in att["error"]


async def test_makeup_working_day_is_answered_normally(hotline, driver):
    s = hotline.settings
    with clock(hotline, MAKEUP_DAY):
        t = await ticket_for(hotline.store, await call(driver, s, "12366", talk=2, wait=0.5))
    assert (t["disposition"], t["agent"], t["category"]) == ("answered", "agent1002", None)
