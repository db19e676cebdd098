"""SIPp as the carrier: a thin async wrapper around the scenarios in trunks/sipp/.

`place()` runs the UAC (calls into the centre over a trunk) and returns what SIPp saw, per
SIP response; `Citizen` runs a UAS (the far end of the centre's outbound calls: answers as
the citizen and may key a survey answer, or answers 503 as a carrier out of service) and
reports the INVITEs it received. SIPp runs as a subprocess in a folder of its own; the
scenario's media block is written per run (SIPp's play_pcap_audio takes no variables).
"""
from __future__ import annotations

import asyncio
import contextlib
import csv
import logging
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import BadRequest

from trunks.sipp import make_pcaps

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent / "sipp"
UAC, UAS, UAS_UNAVAILABLE = HERE / "uac.xml", HERE / "uas.xml", HERE / "uas_unavailable.xml"
SPEECH = HERE / "speech.pcap"
_KEYS = re.compile(r"[0-9*#w]{0,32}")
_CALLER = re.compile(r"[+0-9A-Za-z._-]{0,40}")
_MEDIA = re.compile(r"  <!-- media: begin.*?<!-- media: end -->\n", re.S)


def key_pcap(key: str) -> Path:
    return HERE / f"dtmf_{ {'*': 'star', '#': 'pound'}.get(key, key)}.pcap"


def media_block(keys: str, wait: float, gap: float, speech: bool, talk: float, folder: Path | None = None) -> str:
    """The scenario lines after the answer: wait, each key (w = half a second more), the
    citizen's sentence, then `talk` seconds on the line. With `folder`, each key gets a
    capture of its own there (its own RTP timestamp: see make_pcaps.dtmf_packets)."""
    lines = [f'  <pause milliseconds="{int(wait * 1000)}"/>']
    nth = 0
    for k in keys:
        if k == "w":
            lines.append('  <pause milliseconds="500"/>')
            continue
        pcap = key_pcap(k)
        if folder is not None:
            pcap = folder / f"key{nth}.pcap"
            make_pcaps.write_pcap(pcap, make_pcaps.dtmf_packets(k, nth=nth))
        nth += 1
        lines.append(f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>')
        lines.append(f'  <pause milliseconds="{int(gap * 1000)}"/>')
    if speech:
        lines.append(f'  <nop><action><exec play_pcap_audio="{SPEECH}"/></action></nop>')
    lines.append(f'  <pause milliseconds="{int(talk * 1000)}"/>')
    return "\n".join(lines) + "\n"


def through_proxy(text: str) -> str:
    """The UAC for calls through a record-routing proxy (Kamailio in front of the nodes):
    the answer's Record-Route set becomes the ACK's and BYE's Route, and their Request-URI
    the node's Contact (SIPp's [next_url]), so that they follow the dialog's path."""
    text = text.replace('<recv response="200" response_txn="invite" rtd="true"/>',
                        '<recv response="200" response_txn="invite" rtd="true" rrs="true"/>', 1)
    text = text.replace("ACK sip:[field3]@[remote_ip]:[remote_port] SIP/2.0", "ACK [next_url] SIP/2.0", 1)
    text = text.replace("CSeq: 1 ACK\n", "CSeq: 1 ACK\n      [routes]\n", 1)
    text = text.replace("BYE sip:[field3]@[remote_ip]:[remote_port] SIP/2.0", "BYE [next_url] SIP/2.0", 1)
    return text.replace("CSeq: 2 BYE\n", "CSeq: 2 BYE\n      [routes]\n", 1)


def scenario(template: Path, media: str) -> str:
    text = template.read_text()
    if not _MEDIA.search(text):
        raise BadRequest(f"{template.name}: no media block")
    return _MEDIA.sub(lambda _: media, text, count=1)


@dataclass(frozen=True)
class CarrierCall:
    """One citizen's call as a carrier delivers it. `caller` "" is a withheld number (From
    anonymous, Privacy: id); `pai` False sends the caller in From only."""
    to: str
    caller: str = "+8613800138000"
    keys: str = ""
    wait: float = 2.0
    gap: float = 1.0
    talk: float = 5.0
    speech: bool = True
    pai: bool = True
    name: str = "citizen"

    def validate(self) -> None:
        if not re.fullmatch(r"[+]?[0-9]{1,20}", self.to):
            raise BadRequest(f"--to must be a dialled number (digits, optional +), got {self.to!r}")
        if not _CALLER.fullmatch(self.caller) or not re.fullmatch(r"[A-Za-z0-9 ._-]{0,40}", self.name):
            raise BadRequest("the caller must be 0-40 characters of [+0-9A-Za-z._-] (it goes into a SIP header)")
        if not _KEYS.fullmatch(self.keys):
            raise BadRequest("keys may hold only 0-9 * # and w (half a second), at most 32")
        if not (0 <= self.wait <= 120 and 0 <= self.gap <= 10 and 0 <= self.talk <= 3600):
            raise BadRequest("wait 0-120 s, gap 0-10 s, talk 0-3600 s")

    def csv_row(self) -> str:
        if not self.caller:   # withheld: what carriers send for a number the citizen hid
            return f"anonymous;Privacy: id;Anonymous;{self.to};"
        identity = f"P-Asserted-Identity: <sip:{self.caller}@127.0.0.1>" if self.pai else "X-Hotline-Sim: from-only"
        return f"{self.caller};{identity};{self.name};{self.to};"


@dataclass
class SippResult:
    returncode: int
    calls: int
    responses: dict[int, int] = field(default_factory=dict)   # final/provisional code -> count received
    answered: int = 0
    stderr: str = ""

    @property
    def refused(self) -> int:
        return sum(n for code, n in self.responses.items() if code >= 300)


def _counts(folder: Path) -> dict[str, int]:
    """The last row of SIPp's -trace_counts file: message column -> count."""
    files = sorted(folder.glob("*_counts.csv"))
    if not files:
        return {}
    with files[-1].open() as f:
        rows = list(csv.reader(f, delimiter=";"))
    if len(rows) < 2:
        return {}
    head, last = rows[0], rows[-1]
    return {h: int(v) for h, v in zip(head, last) if v.isdigit()}


def _responses(counts: dict[str, int]) -> dict[int, int]:
    """'10_200_Recv' -> 200. The first 200 of the scenario is the INVITE's (the answer); later
    ones (the BYE's) are left out, and so is anything sent."""
    out: dict[int, int] = {}
    first_200 = None
    for col, n in counts.items():
        m = re.fullmatch(r"(\d+)_(\d{3})_Recv", col)
        if not m:
            continue
        idx, code = int(m.group(1)), int(m.group(2))
        if code == 200:
            if first_200 is not None and idx != first_200:
                continue
            first_200 = idx
        out[code] = out.get(code, 0) + n
    return out


def _binary() -> str:
    path = shutil.which("sipp")
    if not path:
        raise BadRequest("sipp is not installed (Debian package sip-tester; scripts/bootstrap.sh installs it)")
    return path


async def place(host: str, port: int, calls: list[CarrierCall], *, source: str = "127.0.0.1",
                local_port: int = 0, media_port: int = 0, rate: float | None = None, limit: int | None = None,
                timeout: float = 120, proxy: bool = False, media_ip: str = "") -> SippResult:
    """Place `calls` (the same timings for all: the first call's) and wait for SIPp to end.
    `rate`: calls per second (default: all at once up to `limit`). `proxy`: `host` is a
    record-routing proxy (cluster/); `media_ip`: where SIPp's RTP comes from, when the
    signalling source (an accepted carrier address) is not reachable from the media's peer."""
    if not calls:
        raise BadRequest("no calls to place")
    for c in calls:
        c.validate()
    first = calls[0]
    with tempfile.TemporaryDirectory(prefix="hotline-sipp-") as tmp:
        folder = Path(tmp)
        text = scenario(UAC, media_block(first.keys, first.wait, first.gap, first.speech, first.talk, folder))
        (folder / "uac.xml").write_text(through_proxy(text) if proxy else text)
        (folder / "callers.csv").write_text("SEQUENTIAL\n" + "\n".join(c.csv_row() for c in calls) + "\n")
        args = [_binary(), f"{host}:{port}", "-sf", "uac.xml", "-inf", "callers.csv", "-s", first.to,
                "-i", source, "-m", str(len(calls)), "-l", str(limit or len(calls)),
                "-r", str(rate if rate else len(calls)), "-rp", "1000",
                "-trace_counts", "-trace_err", "-fd", "1", "-timeout", f"{int(timeout)}s",
                "-timeout_error", "-nostdin", "-nd", "-max_recv_loops", "1000"]
        if local_port:
            args += ["-p", str(local_port)]
        if media_port:
            args += ["-mp", str(media_port)]
        if media_ip:
            args += ["-mi", media_ip]
        proc = await asyncio.create_subprocess_exec(*args, cwd=folder, stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.PIPE)
        try:
            async with asyncio.timeout(timeout + 15):
                _, err = await proc.communicate()
        except TimeoutError:
            proc.kill()
            await proc.wait()
            err = b"sipp killed after the timeout"
        responses = _responses(_counts(folder))
        errors = "".join(p.read_text(errors="replace") for p in folder.glob("*_errors.log"))
    result = SippResult(proc.returncode or 0, len(calls), responses, answered=responses.get(200, 0),
                        stderr=(err.decode(errors="replace") + errors)[-2000:])
    log.info("sipp: %s calls to %s@%s:%s from %s: %s", len(calls), first.to, host, port, source, responses)
    return result


@dataclass(frozen=True)
class Invite:
    uri_user: str
    from_user: str
    pai_user: str | None


_MSG_INVITE = re.compile(r"^INVITE sip:([^@;> ]*)@", re.M)


def _invites(text: str) -> list[Invite]:
    out = []
    for block in re.split(r"\n(?=-{10,}|\S+\s+\S+\s+\S+: message received)", text):
        m = _MSG_INVITE.search(block)
        if not m:
            continue
        frm = re.search(r"^From:[^<\n]*<sips?:([^@>;]*)", block, re.M)
        pai = re.search(r"^P-Asserted-Identity:[^<\n]*<sips?:([^@>;]*)", block, re.M)
        out.append(Invite(m.group(1), frm.group(1) if frm else "", pai.group(1) if pai else None))
    return out


class Citizen:
    """A SIPp UAS on 127.0.0.1:`port`: `async with Citizen(port, key="1") as c: ...; c.invites`.
    `unavailable=True`: every INVITE is answered 503 (a carrier out of service)."""

    def __init__(self, port: int, *, key: str = "", wait: float = 3.0, hold: float = 3.0,
                 unavailable: bool = False, media_port: int = 0, calls: int = 0):
        if key and (len(key) != 1 or not _KEYS.fullmatch(key)):
            raise BadRequest("the citizen keys at most one digit")
        self.port, self.key, self.wait, self.hold = port, key, wait, hold
        self.unavailable, self.media_port, self.calls = unavailable, media_port, calls
        self.invites: list[Invite] = []
        self._proc: asyncio.subprocess.Process | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None

    async def __aenter__(self) -> Citizen:
        self._tmp = tempfile.TemporaryDirectory(prefix="hotline-sipp-uas-")
        folder = Path(self._tmp.name)
        if self.unavailable:
            (folder / "uas.xml").write_text(UAS_UNAVAILABLE.read_text())
        else:
            lines = [f'  <pause milliseconds="{int(self.wait * 1000)}"/>']
            if self.key:
                lines.append(f'  <nop><action><exec play_pcap_audio="{key_pcap(self.key)}"/></action></nop>')
            lines.append(f'  <pause milliseconds="{int(self.hold * 1000)}"/>')
            (folder / "uas.xml").write_text(scenario(UAS, "\n".join(lines) + "\n"))
        args = [_binary(), "-sf", "uas.xml", "-i", "127.0.0.1", "-p", str(self.port), "-trace_msg",
                "-nostdin", "-nd"]
        if self.media_port:
            args += ["-mp", str(self.media_port)]
        if self.calls:
            args += ["-m", str(self.calls)]
        self._proc = await asyncio.create_subprocess_exec(*args, cwd=folder, stdout=asyncio.subprocess.DEVNULL,
                                                          stderr=asyncio.subprocess.DEVNULL)
        await asyncio.sleep(0.3)   # bound before the first INVITE can come
        if self._proc.returncode is not None:
            raise BadRequest(f"sipp UAS on port {self.port} did not start (port in use?)")
        return self

    def received(self) -> list[Invite]:
        assert self._tmp is not None
        text = "".join(p.read_text(errors="replace") for p in Path(self._tmp.name).glob("*_messages.log"))
        self.invites = _invites(text)
        return self.invites

    async def __aexit__(self, *exc) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.terminate()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await self._proc.wait()
            if self._proc.returncode is None:
                self._proc.kill()
                await self._proc.wait()
        if self._tmp is not None:
            self.received()
            self._tmp.cleanup()
            self._tmp = None
