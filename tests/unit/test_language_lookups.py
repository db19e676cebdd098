"""The menu's language lookup: a caller waits at most the runner's bound, whatever the
database's driver does when a query is abandoned."""
import asyncio
import contextlib
import time

from ivr.lookups import LanguageLookups


class SlowDb:
    """A query that takes `answer_s`; cancelled, it still needs `cleanup_s` (SQLAlchemy shields
    the connection's rollback when a query is cancelled: the canceller waits for it)."""

    def __init__(self, answer_s: float, cleanup_s: float = 0.0, language: str = "yue"):
        self.answer_s, self.cleanup_s, self.language = answer_s, cleanup_s, language
        self.queries: list[str] = []

    async def __call__(self, caller: str) -> str:
        self.queries.append(caller)
        try:
            await asyncio.sleep(self.answer_s)
        except asyncio.CancelledError:
            await asyncio.shield(asyncio.sleep(self.cleanup_s))
            raise
        return self.language


@contextlib.asynccontextmanager
async def running(lookups: LanguageLookups):
    task = asyncio.create_task(lookups.run())
    try:
        yield lookups
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def bounded(lookups: LanguageLookups, caller: str, bound: float) -> tuple[str | None, float]:
    t0 = time.monotonic()
    try:
        async with asyncio.timeout(bound):
            return await lookups.language(caller), time.monotonic() - t0
    except TimeoutError:
        return None, time.monotonic() - t0


async def test_a_quick_database_answers():
    async with running(LanguageLookups(SlowDb(0.0))) as lk:
        assert (await bounded(lk, "13800138000", 0.25))[0] == "yue"


async def test_a_slow_database_costs_the_caller_the_bound_not_the_drivers_cleanup():
    db = SlowDb(answer_s=0.4, cleanup_s=0.6)
    async with running(LanguageLookups(db)) as lk:
        found, waited = await bounded(lk, "13800138000", 0.1)
        assert found is None
        assert waited < 0.3, waited   # cancelling the query itself would have cost 0.1 + 0.6 s
        await asyncio.sleep(0.5)      # the query went on and its late answer was dropped
        assert lk.stats["late"] == 1 and db.queries == ["13800138000"]


async def test_a_database_that_stopped_answering_is_not_asked_again_and_again():
    db = SlowDb(answer_s=60)
    async with running(LanguageLookups(db, workers=1, depth=2)) as lk:
        results = [await bounded(lk, f"1380000000{i}", 0.02) for i in range(6)]
        assert all(found is None for found, _ in results)
        # one query is stuck, the queue holds two, the rest were never queued
        assert len(db.queries) == 1
        assert lk.stats["queue_full"] >= 3
        assert all(waited < 0.1 for _, waited in results)


async def test_requests_whose_caller_gave_up_are_not_sent():
    db = SlowDb(answer_s=0.2)
    async with running(LanguageLookups(db, workers=1)) as lk:
        first = asyncio.create_task(bounded(lk, "13800000001", 1.0))
        await asyncio.sleep(0.01)
        assert (await bounded(lk, "13800000002", 0.05))[0] is None   # gave up, still queued
        assert (await first)[0] == "yue"
        await asyncio.sleep(0.05)
        assert db.queries == ["13800000001"] and lk.stats["not_sent"] == 1
