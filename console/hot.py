"""Hot topics: open tickets that cluster by place and subject words (a spike of calls about
one road, one building). Pure: ticket rows in, clusters out.

Two tickets belong together when
- their addresses are the same place: equal after NFKC, lower case and dropping spaces and
  punctuation ("海淀区 中关村南大街5号" = "海淀区中关村南大街5号"), or
- they share at least `min_shared` subject terms (core/text.py: Chinese as character pairs)
  and neither names a different district.
Clusters are the connected groups of that relation (union-find), so A-B by address and
B-C by words make one cluster. Only groups of at least `min_size` tickets are hot. A
cluster's label is its most common address, else its most common subject terms.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter

from core.text import terms

_NOT_PLACE = re.compile(r"[\s\W_]+", re.UNICODE)
# words every complaint has: they say nothing about which matter it is
_COMMON = frozenset({"投诉", "反映", "问题", "市民", "来电", "咨询", "要求", "处理", "严重"})


def place_key(address: str | None) -> str:
    return _NOT_PLACE.sub("", unicodedata.normalize("NFKC", address or "").lower())


def subject_terms(subject: str | None) -> set[str]:
    return {t for t in terms(subject) if t not in _COMMON and len(t) > 1}


def clusters(rows: list[dict], *, min_size: int = 3, min_shared: int = 2) -> list[dict]:
    """rows: {"id", "subject", "address", "district", "created_at", "event_of"}. Returns the
    hot clusters, the largest first: {"label", "address", "terms", "size", "tickets": [ids],
    "events": how many distinct events they are now (1 once marked as one event)}."""
    parent = {r["id"]: r["id"] for r in rows}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a, b):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    by_place: dict[str, int] = {}
    words = {r["id"]: subject_terms(r.get("subject")) for r in rows}
    for r in rows:
        key = place_key(r.get("address"))
        if len(key) >= 4:   # "5号" alone is not a place
            if key in by_place:
                union(by_place[key], r["id"])
            else:
                by_place[key] = r["id"]
        if r.get("event_of") in parent:
            union(r["event_of"], r["id"])
    ordered = sorted(rows, key=lambda r: r["id"])
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            da, db = a.get("district"), b.get("district")
            if da and db and da != db:
                continue
            if len(words[a["id"]] & words[b["id"]]) >= min_shared:
                union(a["id"], b["id"])
    groups: dict[int, list[dict]] = {}
    for r in ordered:
        groups.setdefault(find(r["id"]), []).append(r)
    out = []
    for members in groups.values():
        if len(members) < min_size:
            continue
        addresses = Counter(r["address"].strip() for r in members if r.get("address") and r["address"].strip())
        common = Counter(t for r in members for t in words[r["id"]])
        top_terms = [t for t, n in common.most_common(5) if n > 1]
        address = addresses.most_common(1)[0][0] if addresses else None
        out.append({"label": address or " ".join(top_terms[:3]) or members[0].get("subject") or "",
                    "address": address, "terms": top_terms, "size": len(members),
                    "tickets": [r["id"] for r in members],
                    "events": len({r.get("event_of") or r["id"] for r in members}),
                    "first": min(r["created_at"] for r in members), "last": max(r["created_at"] for r in members)})
    return sorted(out, key=lambda c: (-c["size"], c["tickets"][0]))
