"""A city-scale day in simulation: the ACD's routing core against per-department FIFO.

    .venv/bin/python -m bench.city_day [--agents 750] [--calls 56000] [--seed 12345]
        [--surge-hour 13] [--surge-factor 3] [--surge-department DEPT]
        [--relax 0:1 5:1::cmn 60:1:general] [--fill-roster] [--no-by-hour] [--quiet]

One day of a 12345 centre shaped like the demo (hotline/demo.toml: departments general,
market, tax, hrss (social security), ecology, housing, prices; Mandarin, Cantonese and
English callers; the demo's [acd] relaxation, priority classes, ageing, wrap-up and maximum
wait), `--calls` expected calls (56,000: Beijing's recorded peak day) on a daily curve with
one surge hour, a roster of `--agents` agents on shifts staffed from the engine's own
Erlang C advice for 80/15 (bench.city_scenario says how everything is drawn). The same
calls go through the engine's real routing core (acd.policy.Board) and through a
per-department first-in first-out baseline, the way app_queue would serve them
(bench.city_sim). Results and their reading: docs/city-day.md.

Figures follow reports.kpi's definitions: service level = answered within 15 s of waiting
/ (offered - short abandons); abandon rate = abandoned after 5 s or more / the same
denominator; ASA = mean wait of answered calls; longest = the longest any caller waited,
answered or not. Calls still waiting when the day ends are in no rate.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable

from acd.model import priority_name

from . import city_scenario as S
from .city_sim import ABANDONED, ANSWERED, TIMED_OUT, WAITING, Outcome, Result, run_core, run_fifo
from .table import markdown

SL_S = 15.0
SHORT_ABANDON_S = 5.0


def figures(outcomes: Iterable[Outcome]) -> dict:
    n = answered = within = abandoned = short = timed_out = waiting = 0
    wait_sum, longest = 0.0, 0.0
    for o in outcomes:
        n += 1
        w = o.wait
        longest = max(longest, w)
        if o.status == ANSWERED:
            answered += 1
            wait_sum += w
            within += w <= SL_S
        elif o.status == ABANDONED:
            if w < SHORT_ABANDON_S:
                short += 1
            else:
                abandoned += 1
        elif o.status == TIMED_OUT:
            timed_out += 1
        elif o.status == WAITING:
            waiting += 1
        else:
            raise AssertionError(f"call {o.call.id} has no outcome")
    base = answered + abandoned + timed_out   # offered - short abandons
    return {"calls": n, "answered": answered, "within": within, "abandoned": abandoned, "short": short,
            "timed_out": timed_out, "waiting": waiting,
            "sl": within / base if base else None, "abandon": abandoned / base if base else None,
            "asa": wait_sum / answered if answered else None, "longest": longest}


def by(result: Result, key: Callable[[Outcome], object]) -> dict[object, dict]:
    groups: dict[object, list[Outcome]] = {}
    for o in result.outcomes.values():
        groups.setdefault(key(o), []).append(o)
    return {k: figures(v) for k, v in groups.items()}


def pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.1f} %"


def secs(x: float | None) -> str:
    return "" if x is None else f"{x:.1f}"


def side_by_side(first: str, keys: list, core: dict, fifo: dict, total: tuple[dict, dict] | None = None) -> str:
    rows = [{"key": k, "c": core.get(k), "f": fifo.get(k)} for k in keys]
    if total is not None:
        rows.append({"key": "**all**", "c": total[0], "f": total[1]})
    cols = [(first, lambda r: r["key"]),
            ("calls", lambda r: f"{r['c']['calls']:,}"),
            ("SL core", lambda r: pct(r["c"]["sl"])), ("SL FIFO", lambda r: pct(r["f"]["sl"])),
            ("abandoned core", lambda r: pct(r["c"]["abandon"])), ("abandoned FIFO", lambda r: pct(r["f"]["abandon"])),
            ("ASA core s", lambda r: secs(r["c"]["asa"])), ("ASA FIFO s", lambda r: secs(r["f"]["asa"])),
            ("longest core s", lambda r: secs(r["c"]["longest"])),
            ("longest FIFO s", lambda r: secs(r["f"]["longest"]))]
    return markdown(cols, rows)


def fairness(per_dept: dict[str, dict]) -> tuple[float, str, str]:
    levels = {d: f["sl"] for d, f in per_dept.items() if f["sl"] is not None}
    lo, hi = min(levels, key=levels.get), max(levels, key=levels.get)
    return 100 * (levels[hi] - levels[lo]), lo, hi


def report(sc: S.Scenario, core: Result, fifo: Result, *, by_hour: bool = True, build_s: float = 0.0) -> str:
    out: list[str] = []
    depts = list(sc.departments)
    c_dept, f_dept = by(core, lambda o: o.call.department), by(fifo, lambda o: o.call.department)
    c_all, f_all = figures(core.outcomes.values()), figures(fifo.outcomes.values())
    out.append("Per department (service level = answered within 15 s):\n")
    out.append(side_by_side("department", [d for d in depts if d in c_dept], c_dept, f_dept, (c_all, f_all)))
    cf, clo, chi = fairness(c_dept)
    ff, flo, fhi = fairness(f_dept)
    out.append(f"\nFairness (max - min service level across departments): core {cf:.1f} points "
               f"({clo} lowest, {chi} highest); FIFO {ff:.1f} points ({flo} lowest, {fhi} highest)")
    margin = {d: 100 * ((c_dept[d]["sl"] or 0) - (f_dept[d]["sl"] or 0)) for d in depts if d in c_dept}
    beaten = [d for d, m in margin.items() if m <= 0]
    lo, hi = min(margin, key=margin.get), max(margin, key=margin.get)
    out.append("Core better than FIFO in every department: "
               + ("yes" if not beaten else f"no (not in {', '.join(beaten)})")
               + f"; core minus FIFO service level from {margin[lo]:+.1f} ({lo}) to {margin[hi]:+.1f} ({hi}) points")
    c_lang, f_lang = by(core, lambda o: o.call.language), by(fifo, lambda o: o.call.language)
    out.append("\nPer language:\n")
    out.append(side_by_side("language", [lang for lang in S.LANGUAGES if lang in c_lang], c_lang, f_lang))
    c_pr = by(core, lambda o: priority_name(o.call.priority))
    f_pr = by(fifo, lambda o: priority_name(o.call.priority))
    out.append("\nPer priority class at arrival (FIFO has no classes: the same calls, served in arrival order):\n")
    out.append(side_by_side("class", [priority_name(p) for p, _ in S.PRIORITY_MIX if priority_name(p) in c_pr],
                            c_pr, f_pr))
    if by_hour:
        out.append("\nPer hour of arrival (on duty: agents on shift at the half hour; advice: Erlang C agents "
                   "for the forecast, summed over departments):\n")
        hour = lambda o: int(o.call.arrived // 3600)  # noqa: E731
        c_h, f_h = by(core, hour), by(fifo, hour)
        rows = []
        for h in sorted(c_h):
            i = h * 2
            rows.append({"h": f"{h:02d}:00" + (" surge" if h == sc.surge_hour else ""), "c": c_h[h], "f": f_h[h],
                         "duty": sum(v[i] for v in sc.on_duty.values()) if sc.on_duty else "",
                         "need": sum(v[i] for v in sc.needed.values()) if sc.needed else ""})
        out.append(markdown([("hour", lambda r: r["h"]), ("calls", lambda r: f"{r['c']['calls']:,}"),
                             ("on duty", lambda r: r["duty"]), ("advice", lambda r: r["need"]),
                             ("SL core", lambda r: pct(r["c"]["sl"])), ("SL FIFO", lambda r: pct(r["f"]["sl"])),
                             ("abandoned core", lambda r: pct(r["c"]["abandon"])),
                             ("abandoned FIFO", lambda r: pct(r["f"]["abandon"])),
                             ("longest core s", lambda r: secs(r["c"]["longest"])),
                             ("longest FIFO s", lambda r: secs(r["f"]["longest"]))], rows))
    relaxed = Counter(o.step for o in core.outcomes.values() if o.status == ANSWERED)
    n_steps = max(len(sc.acd.default_steps), *(len(v) for v in sc.acd.steps.values()), 1)
    other_dept = sum(1 for o in core.outcomes.values()
                     if o.status == ANSWERED and o.via and o.via[0] != o.call.department)
    other_lang = sum(1 for o in core.outcomes.values()
                     if o.status == ANSWERED and o.via and o.via[1] != o.call.language)
    skills = {a.id: a.skills for a in sc.agents}

    def speaks(r: Result) -> int:
        return sum(1 for o in r.outcomes.values() if o.status == ANSWERED
                   and any(lang == o.call.language for _, lang in skills[o.agent]))

    def speaks_sl(r: Result, f: dict) -> str:
        base = f["answered"] + f["abandoned"] + f["timed_out"]
        n = sum(1 for o in r.outcomes.values() if o.status == ANSWERED and o.wait <= SL_S
                and any(lang == o.call.language for _, lang in skills[o.agent]))
        return pct(n / base if base else None)

    def own_skill(r: Result) -> int:
        return sum(1 for o in r.outcomes.values() if o.status == ANSWERED
                   and (o.call.department, o.call.language) in skills[o.agent])

    out.append("\nThe day's totals:\n")
    total_rows = [("calls", c_all["calls"], f_all["calls"]), ("answered", c_all["answered"], f_all["answered"]),
                  ("answered within 15 s", c_all["within"], f_all["within"]),
                  ("service level", pct(c_all["sl"]), pct(f_all["sl"])),
                  ("abandoned (5 s or more)", c_all["abandoned"], f_all["abandoned"]),
                  ("short abandons (under 5 s)", c_all["short"], f_all["short"]),
                  ("timed out (max wait, to voicemail)", c_all["timed_out"], f_all["timed_out"]),
                  ("still waiting at the end", c_all["waiting"], f_all["waiting"]),
                  ("answered by an agent who speaks the caller's language", speaks(core), speaks(fifo)),
                  ("service level counting only agents who speak the caller's language",
                   speaks_sl(core, c_all), speaks_sl(fifo, f_all)),
                  ("answered by an agent with the call's own skill (department:language)", own_skill(core),
                   own_skill(fifo)),
                  ("answered at relaxation step " + " / ".join(str(i + 1) for i in range(n_steps)),
                   " / ".join(str(relaxed.get(i, 0)) for i in range(n_steps)), ""),
                  ("answered by another department's skill (overflow)", other_dept, ""),
                  ("answered in another language's skill", other_lang, ""),
                  ("events / routing passes", f"{core.events:,} / {core.passes:,}", f"{fifo.events:,}"),
                  ("run time s", f"{core.wall_s:.1f}", f"{fifo.wall_s:.1f}")]
    num = lambda v: f"{v:,}" if isinstance(v, int) else v  # noqa: E731
    out.append(markdown([("", lambda r: r[0]), ("core", lambda r: num(r[1])), ("FIFO", lambda r: num(r[2]))],
                        total_rows))
    out.append(f"\nScenario: {len(sc.agents)} agents on shift, {len(sc.calls):,} calls drawn; "
               f"built in {build_s:.1f} s. " + " ".join(f"{n}." for n in sc.notes))
    return "\n".join(out)


def step_text(step) -> str:
    """A relaxation step as the centre file writes it: "after:level[:department[:language]]"."""
    text = f"{step.after_seconds:g}:{step.min_level}"
    if step.department_override or step.language_override:
        text += f":{step.department_override or ''}"
    if step.language_override:
        text += f":{step.language_override}"
    return f'"{text}"'


def headline(shape: S.DayShape, acd, sc: S.Scenario) -> str:
    surge = "none" if shape.surge_hour is None else \
        f"{shape.surge_hour:02d}:00-{shape.surge_hour + 1:02d}:00 x{shape.surge_factor:g}"
    if shape.surge_department:
        surge += f" ({shape.surge_department})"
    return (f"City day: {len(sc.agents)} agents on shift (roster {shape.agents}), {len(sc.calls):,} calls, "
            f"seed {shape.seed}, surge {surge}; relaxation default = [{', '.join(map(step_text, acd.default_steps))}], "
            f"wrap-up {acd.wrapup_seconds:g} s, ageing {acd.priority_ageing_seconds:g} s, "
            f"max wait {acd.max_wait_seconds:g} s")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agents", type=int, default=750)
    ap.add_argument("--calls", type=float, default=56_000, help="expected calls in the day, surge included")
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--surge-hour", type=int, default=13,
                    help="hour (0-23) at --surge-factor times the curve; -1: none")
    ap.add_argument("--surge-factor", type=float, default=3.0)
    ap.add_argument("--surge-department", default=None, help="the surge's extra calls all go to this department")
    ap.add_argument("--shift-hours", type=int, default=8)
    ap.add_argument("--fill-roster", action="store_true",
                    help="every agent of the roster works a shift (default: as many as the Erlang C advice needs)")
    ap.add_argument("--relax", nargs="+", metavar="STEP", default=None,
                    help="replace the demo's [acd.relax] default steps (after:level[:department[:language]])")
    ap.add_argument("--by-hour", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    args = ap.parse_args(argv)
    if args.surge_department is not None and args.surge_department not in S.DEPARTMENTS:
        ap.error(f"--surge-department: one of {', '.join(S.DEPARTMENTS)}")
    shape = S.DayShape(calls=args.calls, agents=args.agents, seed=args.seed,
                       surge_hour=None if args.surge_hour < 0 else args.surge_hour, surge_factor=args.surge_factor,
                       surge_department=args.surge_department, shift_hours=args.shift_hours,
                       fill_roster=args.fill_roster)
    t0 = time.perf_counter()

    def progress(name: str, now: float, arrived: int, waiting: int, on_duty: int) -> None:
        if not args.quiet:
            print(f"[{name}] {now / 3600:05.2f} h simulated: {arrived:,} calls arrived, {waiting:,} waiting, "
                  f"{on_duty} agents on duty ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)

    acd = S.demo_acd(args.relax)
    sc = S.city_day(shape, acd)
    build_s = time.perf_counter() - t0
    print(headline(shape, acd, sc), flush=True)
    core = run_core(sc, progress)
    fifo = run_fifo(sc, progress)
    print()
    print(report(sc, core, fifo, by_hour=args.by_hour, build_s=build_s))
    print(f"\nTotal run time {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
