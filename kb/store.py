"""Knowledge base: standard answers per department, searchable in Chinese on both databases.

Neither SQLite nor PostgreSQL splits Chinese into words, so we index terms ourselves
(core/text.py): every run of Han characters becomes its overlapping character pairs (社保卡 ->
社保, 保卡), other text its lower-case words. An entry stores its terms as " t1 t2 ... "; a query matches an
entry containing any of its terms and ranks by how many it contains (question and keywords
count twice). Bind parameters carry the terms, LIKE wildcards in them are escaped.

The voice menu reads answers out (`kb = "<key>"` in ivr/flows). Such an entry carries two
tags among its keywords: `ivr:<key>` and `lang:<cmn|yue|en>` (no lang tag: cmn, the language
the knowledge base is written in). Tags rather than columns, so that no migration is needed;
they are left out of the search index. The centre file's `[[kb]]` tables are added at
engine start when no entry carries their key in that language yet.
"""
from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, or_, select, update

from core.errors import BadRequest, ConfigInvalid, NotFound
from core.text import escape_like, like, terms
from core.contract import KB_KEY, LANGUAGES

from db.models import KbEntry
from db.database import DB_ERRORS, Database

log = logging.getLogger(__name__)

# the indexing lives in core/text.py (tickets are searched the same way); kept here by name
_escape, _like = escape_like, like


_TOKENS = re.compile(r"[\s,，;；、]+")
DEFAULT_LANGUAGE = "cmn"


def ivr_tags(keywords: str) -> tuple[str | None, str | None]:
    """(key, language) from an entry's `ivr:<key>` and `lang:<code>` keyword tags."""
    key = lang = None
    for token in _TOKENS.split(keywords or ""):
        if key is None and token.startswith("ivr:") and KB_KEY.fullmatch(token[4:]):
            key = token[4:]
        elif lang is None and token.startswith("lang:") and token[5:] in LANGUAGES:
            lang = token[5:]
    return key, lang


def _untagged(keywords: str) -> str:
    return " ".join(t for t in _TOKENS.split(keywords or "") if not t.startswith(("ivr:", "lang:")))


def _json(e: KbEntry) -> dict:
    key, lang = ivr_tags(e.keywords)
    return {"id": e.id, "department": e.department, "question": e.question, "answer": e.answer,
            "keywords": e.keywords, "uses": e.uses, "updated_at": e.updated_at.isoformat() if e.updated_at else None,
            "ivr_key": key, "language": lang or DEFAULT_LANGUAGE}


@dataclass(frozen=True)
class Seed:
    """An answer the centre file says the menu needs (`[[kb]]`), in one language."""
    key: str
    language: str
    department: str
    question: str
    answer: str
    keywords: str = ""


def load_seed(path: Path, departments: set[str]) -> list[Seed]:
    """The `[[kb]]` tables of the centre file, one Seed per language:

        [[kb]]
        key = "office_hours"
        department = "general"
        keywords = "办事时间"
        question = { cmn = "...", yue = "...", en = "..." }
        answer = { cmn = "...", yue = "...", en = "..." }
    """
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigInvalid(f"{path}: {e}") from e
    out: list[Seed] = []
    tables = data.get("kb", [])
    if not isinstance(tables, list):
        raise ConfigInvalid(f"{path}: kb must be an array of tables ([[kb]])")
    for i, t in enumerate(tables):
        where = f"{path}: kb[{i}]"
        if not isinstance(t, dict):
            raise ConfigInvalid(f"{where} must be a table")
        key = t.get("key")
        if not isinstance(key, str) or not KB_KEY.fullmatch(key):
            raise ConfigInvalid(f"{where}: key {key!r} must be 1-40 characters of a-z, 0-9, _ and -")
        if t.get("department") not in departments:
            raise ConfigInvalid(f"{where} ({key}): department {t.get('department')!r} is not a department")
        question, answer = t.get("question"), t.get("answer")
        if not isinstance(question, dict) or not isinstance(answer, dict) or not answer:
            raise ConfigInvalid(f"{where} ({key}): question and answer must be tables of text per language")
        for lang, text in answer.items():
            if lang not in LANGUAGES or not isinstance(text, str) or not text.strip():
                raise ConfigInvalid(f"{where} ({key}): answer.{lang} must be a text in cmn, yue or en")
            q = question.get(lang, question.get(DEFAULT_LANGUAGE, key))
            out.append(Seed(key, lang, t["department"], str(q), text, str(t.get("keywords", ""))))
    return out


class KnowledgeBase:
    def __init__(self, store: Database):
        self.store = store

    async def add(self, department: str, question: str, answer: str, keywords: str = "",
                  ivr_key: str | None = None, language: str | None = None) -> dict:
        """A new entry; with `ivr_key` the voice menu can read it out (in `language`, default cmn)."""
        for name, value, limit in (("department", department, 32), ("question", question, 500),
                                   ("answer", answer, 5000), ("keywords", keywords, 500)):
            if not isinstance(value, str) or (name != "keywords" and not value.strip()) or len(value) > limit \
                    or "\x00" in value:
                raise BadRequest(f"{name} must be text of 1-{limit} characters")
        if ivr_key is not None and (not isinstance(ivr_key, str) or not KB_KEY.fullmatch(ivr_key)):
            raise BadRequest("ivr_key must be 1-40 characters of a-z, 0-9, _ and -, starting with a letter or digit")
        if language is not None and language not in LANGUAGES:
            raise BadRequest(f"language must be one of {', '.join(LANGUAGES)}")
        tags = ([f"ivr:{ivr_key}"] if ivr_key else []) + ([f"lang:{language}"] if language else [])
        stored = " ".join(filter(None, [keywords.strip(), *tags]))
        now = datetime.now(UTC)
        index = " " + " ".join(terms(f"{question} {_untagged(keywords)} {answer}")) + " "
        entry = KbEntry(department=department, question=question, answer=answer, keywords=stored,
                        search_text=index, uses=0, created_at=now, updated_at=now)
        async with self.store.sessions.begin() as s:
            s.add(entry)
            await s.flush()
        return _json(entry)

    @staticmethod
    async def _tagged(session, key: str) -> list[tuple[int, str, str]]:
        """(id, answer, language) of the entries tagged ivr:<key>, the most recently changed first."""
        rows = (await session.execute(
            select(KbEntry.id, KbEntry.answer, KbEntry.keywords)
            .where(KbEntry.keywords.like(f"%ivr:{_escape(key)}%", escape="\\"))
            .order_by(KbEntry.updated_at.desc(), KbEntry.id.desc()).limit(100))).all()
        out = []
        for entry_id, answer, keywords in rows:
            tagged, lang = ivr_tags(keywords)
            if tagged == key:  # the LIKE also matches ivr:<key>_more
                out.append((entry_id, answer, lang or DEFAULT_LANGUAGE))
        return out

    async def answer(self, key: str, language: str) -> tuple[int, str] | None:
        """What the voice menu reads out for `key` to a caller speaking `language`: (entry id,
        answer), or None when there is none or the database is away (the menu's fallback plays)."""
        if not isinstance(key, str) or not KB_KEY.fullmatch(key) or language not in LANGUAGES:
            return None
        try:
            async with self.store.sessions() as s:
                found = await self._tagged(s, key)
        except DB_ERRORS as e:
            log.warning("knowledge base unavailable for ivr:%s (%s)", key, type(e).__name__)
            return None
        for entry_id, text, lang in found:
            if lang == language and text.strip():
                return entry_id, text
        return None

    async def heard(self, entry_id: int) -> bool:
        """A caller heard this answer in the menu: one use, like an agent reading it out. A
        database that is away costs the count, never the call."""
        try:
            async with self.store.sessions.begin() as s:
                done = await s.execute(update(KbEntry).where(KbEntry.id == entry_id).values(uses=KbEntry.uses + 1))
        except DB_ERRORS as e:
            log.warning("use of knowledge-base entry %s not counted (%s)", entry_id, type(e).__name__)
            return False
        return done.rowcount == 1

    async def seed(self, seeds: list[Seed]) -> int:
        """Add the answers the menu needs that are missing (by key and language); entries
        already there are left as supervisors made them. Returns how many were added."""
        added = 0
        for sd in seeds:
            async with self.store.sessions() as s:
                have = {lang for _, _, lang in await self._tagged(s, sd.key)}
            if sd.language not in have:
                await self.add(sd.department, sd.question, sd.answer, sd.keywords, ivr_key=sd.key,
                               language=sd.language)
                added += 1
        if added:
            log.info("knowledge base: %d answer(s) for the voice menu added from the centre file", added)
        return added

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
