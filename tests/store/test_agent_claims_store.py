"""Agent claims across nodes (acd/claims.py) on both databases: one node at a time holds an
agent, through the call and its wrap-up; a lapsed claim (its engine died) is free."""
from __future__ import annotations

from acd.claims import AgentClaims


class Clock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_one_node_at_a_time_holds_an_agent_until_the_wrapup_is_over(store):
    clock = Clock()
    n1, n2 = AgentClaims(store, "node1", clock=clock), AgentClaims(store, "node2", clock=clock)
    assert await n1.take("1002", "node1-1.0")
    assert not await n2.take("1002", "node2-7.0")          # node1 rings them: node2 may not
    assert await n1.take("1002", "node1-1.0")              # the same offer again: still ours
    assert await n2.elsewhere() == {"1002"} and await n1.elsewhere() == set()
    clock.now += 10
    await n1.renew({"node1-1.0"})                          # the call goes on past the lease
    clock.now += 10
    assert not await n2.take("1002", "node2-7.0")
    await n1.release("1002", "node1-1.0", hold=3)          # call over: 3 s wrap-up
    clock.now += 2
    assert not await n2.take("1002", "node2-7.0")
    clock.now += 1.5
    assert await n2.take("1002", "node2-7.0")              # wrap-up over: node2's turn
    assert await n1.elsewhere() == {"1002"}


async def test_the_claims_of_an_engine_that_died_lapse_by_themselves(store):
    clock = Clock()
    dead, alive = AgentClaims(store, "node1", clock=clock, lease=15), AgentClaims(store, "node2", clock=clock)
    assert await dead.take("1007", "node1-2.0")
    clock.now += 14
    assert not await alive.take("1007", "node2-3.0")
    clock.now += 2                                         # nobody renewed it
    assert await alive.elsewhere() == set()
    assert await alive.take("1007", "node2-3.0")
