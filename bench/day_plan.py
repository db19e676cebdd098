"""The busy day's plan, decided before the first call: when each citizen calls, what they
press, how long they will wait, and how many agents the engine's Erlang C says each hour
needs. Pure and seeded, so that a run can be repeated and the plan tested without Asterisk.

The day is a 24-hour curve compressed into `minutes` of wall time: each hour of the day
lasts minutes*60/24 seconds. Arrivals are a non-homogeneous Poisson process (thinning) at
peak_rate x the hour's weight, with one surge hour at `surge` x.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

from reports import erlang

# Relative calls per hour of a city hotline's working day (00:00-23:00): quiet at night,
# a morning peak at 09-11, a dip at lunch, a second peak at 14-16.
HOURLY = (0.06, 0.04, 0.03, 0.03, 0.03, 0.05, 0.12, 0.35, 0.75, 1.0, 0.97, 0.8,
          0.55, 0.7, 0.92, 0.95, 0.85, 0.7, 0.5, 0.42, 0.36, 0.28, 0.17, 0.1)

# What callers press: (language key, department key, share). Language 1 Mandarin, 2 Cantonese,
# 3 English; department 1-6 as in ivr/flows/12345.toml, 0 the operator (general).
CHOICES = (("1", "1", 0.18), ("1", "2", 0.16), ("1", "3", 0.2), ("1", "4", 0.08), ("1", "5", 0.12),
           ("1", "6", 0.06), ("1", "0", 0.05), ("2", "2", 0.05), ("2", "3", 0.05), ("3", "1", 0.03),
           ("3", "3", 0.02))
LANG = {"1": "cmn", "2": "yue", "3": "en"}
DEPT = {"1": "market", "2": "tax", "3": "hrss", "4": "ecology", "5": "housing", "6": "prices", "0": "general"}


@dataclass(frozen=True)
class Caller:
    n: int
    at: float           # seconds after the start of the run
    hour: int           # hour of the (compressed) day
    keys: str           # language key, a half-second pause, department key
    language: str
    department: str
    patience: float     # seconds the caller waits in the queue before hanging up

    @property
    def number(self) -> str:
        return f"+86139{self.n:08d}"


@dataclass(frozen=True)
class Plan:
    minutes: float
    peak_rate: float
    surge_hour: int
    surge: float
    callers: tuple[Caller, ...]
    staffing: tuple[int, ...]       # agents logged in during each hour of the day

    @property
    def hour_s(self) -> float:
        return self.minutes * 60 / 24

    def rate(self, hour: int) -> float:
        return rate_of(hour, self.peak_rate, self.surge_hour, self.surge)


def rate_of(hour: int, peak_rate: float, surge_hour: int, surge: float) -> float:
    return peak_rate * HOURLY[hour] * (surge if hour == surge_hour else 1.0)


def arrivals(rng: random.Random, minutes: float, peak_rate: float, surge_hour: int, surge: float) -> list[float]:
    """Arrival times by thinning a Poisson process at the highest rate of the day."""
    hour_s = minutes * 60 / 24
    top = max(rate_of(h, peak_rate, surge_hour, surge) for h in range(24))
    out, t, end = [], 0.0, minutes * 60
    while True:
        t += rng.expovariate(top)
        if t >= end:
            return out
        if rng.random() * top < rate_of(min(23, int(t // hour_s)), peak_rate, surge_hour, surge):
            out.append(t)


def patience(rng: random.Random, mean_s: float, cap_s: float) -> float:
    """Exponential patience, at least 3 s (nobody hangs up the instant the queue starts) and
    at most `cap_s` (below the centre's own maximum wait, so that every caller who waits
    long ends as an abandon the caller decided, not as a timeout the centre decided)."""
    return min(cap_s, 3.0 + rng.expovariate(1.0 / max(0.1, mean_s - 3.0)))


def staffing(minutes: float, peak_rate: float, surge_hour: int, surge: float, aht_s: float,
             target_sl: float, target_s: float, floor: int = 2) -> tuple[int, ...]:
    """Agents per hour: the engine's Erlang C (reports.erlang.agents_needed) for the hour's
    expected calls, the surge included (the centre knows the day's plan), never below `floor`."""
    hour_s = minutes * 60 / 24
    return tuple(max(floor, erlang.agents_needed(rate_of(h, peak_rate, surge_hour, surge) * hour_s, hour_s,
                                                 aht_s, target_sl, target_s))
                 for h in range(24))


def make(seed: int = 1, minutes: float = 30, peak_rate: float = 0.5, surge_hour: int = 10, surge: float = 3.0,
         patience_mean_s: float = 45.0, patience_cap_s: float = 240.0, aht_s: float = 40.0,
         target_sl: float = 0.95, target_s: float = 15.0) -> Plan:
    if not (0 < minutes <= 24 * 60 and 0 < peak_rate <= 20 and 0 <= surge_hour < 24 and surge >= 1):
        raise ValueError("minutes in (0, 1440], peak_rate in (0, 20] calls/s, surge_hour 0-23, surge >= 1")
    rng = random.Random(seed)
    shares = [c[2] for c in CHOICES]
    callers = []
    hour_s = minutes * 60 / 24
    for n, at in enumerate(arrivals(rng, minutes, peak_rate, surge_hour, surge)):
        lang, dept, _ = rng.choices(CHOICES, weights=shares)[0]
        callers.append(Caller(n=n, at=at, hour=min(23, int(at // hour_s)), keys=f"{lang}w{dept}",
                              language=LANG[lang], department=DEPT[dept],
                              patience=patience(rng, patience_mean_s, patience_cap_s)))
    return Plan(minutes, peak_rate, surge_hour, surge, tuple(callers),
                staffing(minutes, peak_rate, surge_hour, surge, aht_s, target_sl, target_s))


def expected_calls(plan: Plan) -> float:
    return sum(plan.rate(h) for h in range(24)) * plan.hour_s


def erlang_sl(plan: Plan, aht_s: float, target_s: float) -> float:
    """The service level Erlang C predicts for the plan's staffing, weighted by calls."""
    num = den = 0.0
    for h in range(24):
        calls = plan.rate(h) * plan.hour_s
        if calls <= 0:
            continue
        sl = erlang.service_level(plan.rate(h), aht_s, plan.staffing[h], target_s)
        num, den = num + calls * (0.0 if math.isnan(sl) else sl), den + calls
    return num / den if den else 1.0
