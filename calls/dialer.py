"""Place a simulated citizen's call through real Asterisk (AMI Originate, Local channel)."""
from __future__ import annotations

import base64
import re
import uuid
from dataclasses import dataclass

from core import contract
from ami.session import AmiSession
from core.errors import BadRequest

_DTMF = re.compile(r"^[0-9*#wW]{0,64}$")
_NUMBER = re.compile(r"^[0-9]{3,20}$")


@dataclass(frozen=True)
class SimCall:
    to: str
    caller: str
    dtmf: str = ""
    talk: float = 5
    wait: float = 1.5
    play: str = ""      # a sound (Asterisk name) the citizen says after the digits
    fax: str = ""       # a TIFF (path inside the Asterisk root): the caller is a fax machine
    cut: float = 0      # the fax machine hangs up after this many seconds (0: never)


def validate(call: SimCall) -> None:
    """Guard before acting: nothing reaches Asterisk unless every field is sound."""
    if not _NUMBER.match(call.to):
        raise BadRequest(f"--to must be 3-20 digits, got {call.to!r}")
    if not _DTMF.match(call.dtmf):
        raise BadRequest("--dtmf may hold only 0-9 * # and w (half-second pause), at most 64")
    if not 0 <= call.talk <= 3600 or not 0 <= call.wait <= 60:
        raise BadRequest("--talk must be 0-3600 s and --wait 0-60 s")
    if call.play and not re.fullmatch(r"[a-z0-9_/-]{1,80}", call.play):
        raise BadRequest("play must be a sound name such as hotline/faq_card")
    if call.fax and not re.fullmatch(r"/[A-Za-z0-9_./-]{1,200}\.tiff?", call.fax):
        raise BadRequest("fax must be an absolute .tif path inside the Asterisk root")
    if len(call.caller.encode()) > 200:
        raise BadRequest("--from is longer than 200 bytes")


def new_linkedid(node: str) -> str:
    return f"{node}-sim-{uuid.uuid4().hex[:16]}"


async def originate(ami: AmiSession, call: SimCall, linkedid: str, timeout: float = 10) -> None:
    """The caller number travels base64-encoded (any bytes, newlines too) and is set by the
    simulated trunk, exactly as a network would present it."""
    validate(call)
    cid = base64.b64encode(call.caller.encode()).decode()
    await ami.action(
        "Originate", timeout=timeout,
        Channel=f"Local/s@{contract.SIM_FAX if call.fax else contract.SIM_CALLER}", Context=contract.SIM_TRUNK, Exten=call.to, Priority=1,
        Async="true", ChannelId=linkedid, OtherChannelId=linkedid + "-c",
        Variable=[f"{contract.V_SIM_CID}={cid}", f"{contract.V_SIM_DTMF}={call.dtmf}",
                  f"{contract.V_SIM_WAIT}={call.wait:g}", f"{contract.V_SIM_TALK}={call.talk:g}",
                  f"{contract.V_SIM_PLAY}={call.play}", f"{contract.V_SIM_FAX}={call.fax}",
                  f"{contract.V_SIM_CUT}={call.cut:g}"])
