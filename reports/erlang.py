"""Erlang C: how many agents a queue needs. Pure math, float only.

Model (M/M/N): calls arrive at random (Poisson) at `rate` per second, handling takes an
exponentially distributed time with mean `aht` seconds, N agents serve one FIFO queue and
nobody abandons. Traffic A = rate * aht Erlangs. With N <= A the queue grows without bound.

    P(wait > 0)  = C(A, N)                          (Erlang C)
    P(wait <= t) = 1 - C(A, N) * exp(-(N - A) * t / aht)
    ASA          = C(A, N) * aht / (N - A)

C is computed from Erlang B by the recursion B(0) = 1, B(k) = A*B(k-1) / (k + A*B(k-1)) and
C = N*B / (N - A*(1 - B)): every step stays in [0, 1], so there are no factorials or powers
to overflow even for thousands of agents. Because nobody abandons in the model, it
overstates the agents needed a little when callers do hang up.
"""
from __future__ import annotations

import math


def _check(traffic: float, agents: int) -> None:
    if traffic < 0 or not math.isfinite(traffic):
        raise ValueError("traffic must be a finite number >= 0")
    if isinstance(agents, bool) or not isinstance(agents, int) or agents < 0:
        raise ValueError("agents must be an int >= 0")


def erlang_b(traffic_erlangs: float, agents: int) -> float:
    """Probability that a call finds all agents busy when blocked calls are lost."""
    _check(traffic_erlangs, agents)
    b = 1.0
    for k in range(1, agents + 1):
        b = traffic_erlangs * b / (k + traffic_erlangs * b)
    return b


def erlang_c(traffic_erlangs: float, agents: int) -> float:
    """Probability that a call has to wait; 1.0 when agents <= traffic (unstable queue)."""
    _check(traffic_erlangs, agents)
    if agents <= traffic_erlangs:
        return 1.0
    b = erlang_b(traffic_erlangs, agents)
    return agents * b / (agents - traffic_erlangs * (1.0 - b))


def service_level(rate_per_s: float, aht_s: float, agents: int, target_s: float) -> float:
    """Probability that a call is answered within target_s seconds (0.0 if unstable)."""
    a = rate_per_s * aht_s
    if agents <= a:
        _check(a, agents)
        return 0.0
    return 1.0 - erlang_c(a, agents) * math.exp(-(agents - a) * target_s / aht_s)


def asa(rate_per_s: float, aht_s: float, agents: int) -> float:
    """Average speed of answer in seconds (inf if unstable)."""
    a = rate_per_s * aht_s
    _check(a, agents)
    if agents <= a:
        return math.inf
    return erlang_c(a, agents) * aht_s / (agents - a)


def agents_needed(calls: float, period_s: float, aht_s: float, target_sl: float, target_s: float,
                  max_occupancy: float | None = None) -> int:
    """Fewest agents so that at least target_sl of the calls are answered within target_s
    seconds (and traffic/agents <= max_occupancy if given), for `calls` arriving in
    `period_s` seconds with `aht_s` seconds of handling each. Agents on the phones: shrinkage
    (breaks, training, absence) is not added."""
    if not 0 < target_sl < 1:
        raise ValueError("target_sl must be between 0 and 1 (a service level of 1 needs infinite agents)")
    if period_s <= 0 or aht_s <= 0 or target_s < 0 or calls < 0:
        raise ValueError("period_s and aht_s must be > 0; calls and target_s >= 0")
    if max_occupancy is not None and not 0 < max_occupancy <= 1:
        raise ValueError("max_occupancy must be in (0, 1]")
    rate = calls / period_s
    a = rate * aht_s
    if a == 0:
        return 0
    n = math.floor(a) + 1  # the fewest agents with a stable queue
    if max_occupancy is not None:
        n = max(n, math.ceil(a / max_occupancy - 1e-9))  # tolerance: 10/0.8 must stay 12.5 -> 13
    # Service level rises monotonically towards 1 with N, so this ends.
    while service_level(rate, aht_s, n, target_s) < target_sl:
        n += 1
    return n
