"""The catalogue as data: matter types and the suggestion from a citizen's words. Pure."""
from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Matter:
    code: str
    name: str
    category: str
    department: str
    days: int
    keywords: tuple[str, ...] = ()

    def json(self) -> dict:
        return {"code": self.code, "name": self.name, "category": self.category, "department": self.department,
                "days": self.days, "keywords": list(self.keywords)}


@dataclass(frozen=True)
class Catalogue:
    matters: tuple[Matter, ...] = ()
    version: str = ""
    by_code: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self):
        object.__setattr__(self, "by_code", {m.code: m for m in self.matters})
        if not self.version:
            text = repr([m.json() for m in self.matters]).encode()
            object.__setattr__(self, "version", hashlib.sha256(text).hexdigest()[:12])

    def get(self, code: str) -> Matter | None:
        return self.by_code.get(code)

    def suggest(self, text: str, limit: int = 3) -> list[tuple[Matter, list[str]]]:
        """The matter types whose name or keywords appear in `text`, the most hits first
        (longer keywords first among equals), each with the words that matched."""
        text = unicodedata.normalize("NFKC", text or "").lower()
        scored = []
        for order, m in enumerate(self.matters):
            hits = [k for k in (m.name, *m.keywords) if k and k.lower() in text]
            if hits:
                scored.append((-len(hits), -max(map(len, hits)), order, m, hits))
        scored.sort(key=lambda s: s[:3])
        return [(m, hits) for *_, m, hits in scored[:limit]]
