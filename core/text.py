"""Search terms for Chinese text on databases that do not split Chinese into words.

Every run of Han characters becomes its overlapping character pairs (社保卡 -> 社保, 保卡),
other text its lower-case words. A row stores its terms as " t1 t2 ... " in a text column; a
query matches rows containing any of its terms (LIKE '% term %', wildcards escaped) and
ranks by how many. The knowledge base (kb/) and ticket search (tickets/) both use it, so a
question finds the same answers and cases on SQLite and PostgreSQL."""
from __future__ import annotations

import re
import unicodedata

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+")
STOP = frozenset({"怎么", "什么", "如何", "请问", "可以", "哪里", "需要", "一下", "办理"})


def terms(text: str | None) -> list[str]:
    text = unicodedata.normalize("NFKC", text or "").lower()
    out: list[str] = []
    for run in _HAN.findall(text):
        if len(run) == 1:
            out.append(run)
        out += [run[i:i + 2] for i in range(len(run) - 1)]
    out += [w for w in _WORD.findall(_HAN.sub(" ", text)) if len(w) > 1 or w.isdigit()]
    seen: dict[str, None] = {}
    for t in out:
        if t not in STOP:
            seen.setdefault(t, None)
    return list(seen)


def index(*texts: str | None) -> str:
    """The stored form: every term once, space-delimited on both sides."""
    return " " + " ".join(terms(" ".join(t or "" for t in texts))) + " "


def escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like(term: str) -> str:
    """The LIKE pattern of one term in a stored index (use with escape='\\\\')."""
    return "% " + escape_like(term) + " %"
