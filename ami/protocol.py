"""AMI framing: messages are 'Key: Value' lines ended by a blank line. Pure functions."""
from __future__ import annotations

from core.errors import AmiBadValue

Message = dict[str, str]


def encode(action: str, fields: dict[str, object], action_id: str) -> bytes:
    """Serialise an action. Values that would break the framing are refused, not cleaned:
    a CR or LF in a header value would let a caller ID smuggle in a second action."""
    lines = [f"Action: {action}", f"ActionID: {action_id}"]
    for key, value in fields.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            text = str(v)
            if "\r" in text or "\n" in text or "\r" in key or "\n" in key or ":" in key:
                raise AmiBadValue(f"AMI field {key!r} contains a line break", field=key)
            lines.append(f"{key}: {text}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def decode(block: bytes) -> Message:
    """Parse one message block; lines without ': ' are kept under 'Output' (command output)."""
    msg: Message = {}
    for raw in block.decode("utf-8", "replace").split("\r\n"):
        if not raw:
            continue
        key, sep, value = raw.partition(": ")
        if not sep:
            if raw.endswith(":"):
                msg.setdefault(raw[:-1], "")
            else:
                msg["Output"] = (msg.get("Output", "") + "\n" + raw).lstrip("\n")
            continue
        if key in msg:  # repeated keys (ChanVariable...): keep all, newline separated
            msg[key] += "\n" + value
        else:
            msg[key] = value
    return msg
