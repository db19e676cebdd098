"""What a waiting caller hears: place in line, estimated wait, the callback offer. Pure."""
from __future__ import annotations

import math


def estimate_seconds(position: int, agents: int, handle_seconds: float) -> float:
    """Calls ahead (and this one) shared among the agents who may take them."""
    return position * handle_seconds / max(1, agents)


def minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))


def text(language: str, position: int, wait_seconds: float, callback: bool) -> str:
    m = minutes(wait_seconds)
    if language == "yue":
        out = f"您前面仲有{position - 1}位，預計等候大約{m}分鐘。" if position > 1 else f"下一位就係您，預計等候大約{m}分鐘。"
        return out + ("想我哋打返俾您，而且保留您嘅位置，請按1。" if callback else "")
    if language == "en":
        ahead = f"There {'is' if position == 2 else 'are'} {position - 1} caller{'s' if position != 2 else ''} ahead of you" \
            if position > 1 else "You are next in line"
        out = f"{ahead}. The estimated wait is about {m} minute{'s' if m != 1 else ''}. "
        return out + ("To be called back and keep your place, press 1." if callback else "")
    out = f"您前面还有{position - 1}位，预计等待约{m}分钟。" if position > 1 else f"下一位就是您，预计等待约{m}分钟。"
    return out + ("如需回电并保留排队位置，请按1。" if callback else "")
