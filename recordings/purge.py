"""Delete what retention says is due, never what is on legal hold, and report it all."""
from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from recordings import retention


async def purge(store, days: dict[str, int], now: datetime, dry_run: bool = False) -> list[dict]:
    """Returns one report row per audio attachment looked at: deleted, kept (why)."""
    report = []
    for item in await store.retention_candidates():
        row = {"id": item["id"], "linkedid": item["linkedid"], "kind": item["kind"],
               "category": item["category"] or "-", "created_at": item["created_at"].isoformat()}
        if item["legal_hold"]:
            row["action"] = "kept: legal hold"
        elif not retention.due(item, now, days):
            row["action"] = "kept: within retention"
        elif dry_run:
            row["action"] = "would delete"
        else:
            await asyncio.to_thread(Path(item["path"]).unlink, missing_ok=True)
            await store.mark_deleted(item["id"])
            row["action"] = "deleted"
        report.append(row)
    return report
