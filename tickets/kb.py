"""Knowledge base: standard answers per department, searchable in Chinese on both databases.

Neither SQLite nor PostgreSQL splits Chinese into words, so we index terms ourselves: every
run of Han characters becomes its overlapping character pairs (社保卡 -> 社保, 保卡), other
text its lower-case words. An entry stores its terms as " t1 t2 ... "; a query matches an
entry containing any of its terms and ranks by how many it contains (question and keywords
count twice). Bind parameters carry the terms, LIKE wildcards in them are escaped.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

from sqlalchemy import func, or_, select, update

from hotline.errors import BadRequest, NotFound

from .models import KbEntry
from .store import Store

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+")
_STOP = {"怎么", "什么", "如何", "请问", "可以", "哪里", "需要", "一下", "办理"}


def terms(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text or "").lower()
    out: list[str] = []
    for run in _HAN.findall(text):
        if len(run) == 1:
            out.append(run)
        out += [run[i:i + 2] for i in range(len(run) - 1)]
    out += [w for w in _WORD.findall(_HAN.sub(" ", text)) if len(w) > 1 or w.isdigit()]
    seen: dict[str, None] = {}
    for t in out:
        if t not in _STOP:
            seen.setdefault(t, None)
    return list(seen)


def _like(term: str) -> str:
    return "% " + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + " %"


def _json(e: KbEntry) -> dict:
    return {"id": e.id, "department": e.department, "question": e.question, "answer": e.answer,
            "keywords": e.keywords, "uses": e.uses, "updated_at": e.updated_at.isoformat() if e.updated_at else None}


class KnowledgeBase:
    def __init__(self, store: Store):
        self.store = store

    async def add(self, department: str, question: str, answer: str, keywords: str = "") -> dict:
        for name, value, limit in (("department", department, 32), ("question", question, 500),
                                   ("answer", answer, 5000), ("keywords", keywords, 500)):
            if not isinstance(value, str) or (name != "keywords" and not value.strip()) or len(value) > limit \
                    or "\x00" in value:
                raise BadRequest(f"{name} must be text of 1-{limit} characters")
        now = datetime.now(UTC)
        index = " " + " ".join(terms(f"{question} {keywords} {answer}")) + " "
        entry = KbEntry(department=department, question=question, answer=answer, keywords=keywords,
                        search_text=index, uses=0, created_at=now, updated_at=now)
        async with self.store.sessions.begin() as s:
            s.add(entry)
            await s.flush()
        return _json(entry)

    async def search(self, query: str, department: str | None = None, limit: int = 10) -> list[dict]:
        if not isinstance(query, str) or len(query) > 200 or "\x00" in query:
            raise BadRequest("q must be text of at most 200 characters")
        wanted = terms(query)[:30]
        if not wanted:
            return []
        q = select(KbEntry).where(or_(*[KbEntry.search_text.like(_like(t), escape="\\") for t in wanted]))
        if department:
            q = q.where(KbEntry.department == department)
        async with self.store.sessions() as s:
            found = (await s.scalars(q.limit(500))).all()
        ranked = []
        for e in found:
            head = set(terms(f"{e.question} {e.keywords}"))
            body = set(e.search_text.split())
            score = sum(2 if t in head else 1 for t in wanted if t in body)
            ranked.append((-score, -e.uses, e.id, e))
        ranked.sort(key=lambda r: r[:3])
        return [{**_json(e), "score": -score} for score, _, _, e in ranked[:limit]]

    async def used(self, entry_id: int) -> dict:
        async with self.store.sessions.begin() as s:
            done = await s.execute(update(KbEntry).where(KbEntry.id == entry_id).values(uses=KbEntry.uses + 1))
            if done.rowcount == 0:
                raise NotFound(f"no knowledge-base entry {entry_id}")
            e = await s.scalar(select(KbEntry).where(KbEntry.id == entry_id))
            return _json(e)

    async def count(self) -> int:
        async with self.store.sessions() as s:
            return await s.scalar(select(func.count()).select_from(KbEntry))
