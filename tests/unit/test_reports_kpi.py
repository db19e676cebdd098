"""KPIs from hand-built event traces; every expected figure is worked out by hand in comments."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from calls.record import CallRecord, Disposition
from calls.record import record_events
from core import events as ev
from core.events import Event
from reports.kpi import DEFINITIONS, Definitions, compute, describe, figures

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=SH).timestamp()  # a 15-minute (and hour) boundary


def E(t, kind, lid="", *, dept="tax", lang="cmn", **kw):
    return Event(T0 + t, kind, lid, department=dept, language=lang, **kw)


def queued(lid, t, wait, outcome, *, talk=0, agent=None, dept="tax", lang="cmn", queue="hl-tax"):
    """A call that starts at t, takes one menu step, joins the queue at t+5 and after `wait`
    seconds is answered (then talks `talk` s), abandons, or asks for a callback."""
    d = {"dept": dept, "lang": lang}
    j = t + 5
    out = [E(t, ev.CALL_START, lid, **d), E(t + 2, ev.IVR_STEP, lid, **d, data={"node": "lang", "input": "1"}),
           E(j, ev.QUEUE_JOIN, lid, **d, queue=queue)]
    if outcome == "answered":
        out += [E(j + wait, ev.AGENT_CONNECT, lid, **d, queue=queue, agent=agent),
                E(j + wait + talk, ev.CALL_END, lid, **d, data={"disposition": "answered"})]
    elif outcome == "abandon":
        out += [E(j + wait, ev.QUEUE_ABANDON, lid, **d, queue=queue),
                E(j + wait, ev.CALL_END, lid, **d, data={"disposition": "abandoned_in_queue"})]
    elif outcome == "callback":  # asks, then hangs up 3 s later: the record says abandoned_in_queue
        out += [E(j + wait, ev.CALLBACK_REQUESTED, lid, **d, queue=queue, data={"key": "5"}),
                E(j + wait + 3, ev.CALL_END, lid, **d, data={"disposition": "abandoned_in_queue"})]
    elif outcome == "timeout":
        out += [E(j + wait, ev.QUEUE_TIMEOUT, lid, **d, queue=queue),
                E(j + wait, ev.CALL_END, lid, **d, data={"disposition": "queue_timeout"})]
    return out


def state(t, agent, st, lid="", **data):
    return Event(T0 + t, ev.AGENT_STATE, lid, agent=agent, data={"state": st, **data})


# Ten calls to tax in Mandarin between 10:00 and 10:15.
#   c1..c6 answered after waits 3, 8, 14, 15, 16, 40 s, talking 60, 120, 90, 30, 200, 100 s
#   c7 abandons after 4 s (short), c8 after 30 s, c9 asks for a callback after 20 s,
#   c10 completes in the menu. a1 wraps up 30 s after c1 (event names c1), a2 30 s after c6
#   (event names no call: it goes to a2's last answered call, c6). a1 calls c9 back at 10:11:40.
TRACE = [
    state(0, "a1", "ready"), state(0, "a2", "ready"),
    *queued("c1", 0, 3, "answered", talk=60, agent="a1"),      # connect 8, end 68
    *queued("c2", 60, 8, "answered", talk=120, agent="a2"),    # connect 73, end 193
    *queued("c3", 120, 14, "answered", talk=90, agent="a1"),   # connect 139, end 229
    *queued("c4", 180, 15, "answered", talk=30, agent="a2"),   # connect 200, end 230
    *queued("c5", 240, 16, "answered", talk=200, agent="a1"),  # connect 261, end 461
    *queued("c6", 300, 40, "answered", talk=100, agent="a2"),  # connect 345, end 445
    *queued("c7", 360, 4, "abandon"),
    *queued("c8", 420, 30, "abandon"),
    *queued("c9", 480, 20, "callback"),
    E(540, ev.CALL_START, "c10"), E(542, ev.IVR_STEP, "c10", data={"node": "menu", "input": "9"}),
    E(560, ev.CALL_END, "c10", data={"disposition": "completed_in_ivr"}),
    state(68, "a1", "wrapup", "c1"), state(98, "a1", "ready"),
    state(445, "a2", "wrapup"), state(475, "a2", "ready"),
    state(600, "a2", "paused", reason="lunch"), state(700, "a2", "ready"),
    E(700, ev.CALLBACK_DONE, "c9", agent="a1"),
]
END = T0 + 900


def only(rows):
    assert len(rows) == 1, rows
    return rows[0]


def test_hand_checked_department_figures():
    r = only(compute(TRACE, until=END))
    assert r.group == {"department": "tax"}
    assert r.interval_start == datetime(2026, 3, 2, 10, 0, tzinfo=SH) and r.interval_s == 900
    assert r.calls == 10
    assert (r.ivr_entered, r.ivr_contained, r.ivr_containment) == (10, 1, pytest.approx(0.1))
    # offered = 6 answered + c7 + c8 + c9 = 9 (c10 never queued)
    assert r.offered == 9
    assert r.answered == 6
    assert r.answered_within_sl == 4           # 3, 8, 14, 15 (15 s is within)
    assert r.short_abandons == 1               # c7 at 4 s
    assert r.abandoned == 1                    # c8 at 30 s; c9's callback is not an abandon
    assert r.callbacks_requested == 1 and r.callbacks_completed == 1
    assert r.timed_out == 0 and r.in_queue == 0
    assert r.service_level == pytest.approx(4 / 8)  # 4 / (9 offered - 1 short)
    assert r.abandon_rate == pytest.approx(1 / 8)
    assert r.asa == pytest.approx(96 / 6)           # (3+8+14+15+16+40) / 6 = 16.0
    assert r.aht == pytest.approx(660 / 6)          # talk 600 + wrap-up 30 (c1) + 30 (c6) = 660
    # agents serve every department: no agent time on department rows
    assert r.occupancy is None and r.agent_logged_in_s is None and r.agents_logged_in is None


def test_offered_closes():
    r = only(compute(TRACE, until=END))
    assert r.offered == r.answered + r.abandoned + r.short_abandons + r.timed_out + 1  # + c9


def test_per_agent_occupancy():
    rows = {r.group["agent"]: r for r in compute(TRACE, group_by=("agent",), until=END)}
    assert set(rows) == {"a1", "a2", None}
    a1, a2, nobody = rows["a1"], rows["a2"], rows[None]
    # a1: logged in 0..900; busy = talk 60 + 90 + 200 + wrap-up 30 = 380; never paused
    assert a1.agent_logged_in_s == pytest.approx(900)
    assert a1.agent_busy_s == pytest.approx(380) and a1.agent_paused_s == 0
    assert a1.occupancy == pytest.approx(380 / 900)
    assert a1.agents_logged_in == pytest.approx(1.0)
    assert (a1.answered, a1.callbacks_completed) == (3, 1)  # c1, c3, c5; called c9 back
    assert a1.asa == pytest.approx((3 + 14 + 16) / 3)
    assert a1.aht == pytest.approx((60 + 30 + 90 + 200) / 3)
    # a2: busy = talk 120 + 30 + 100 + wrap-up 30 = 280; paused 600..700 = 100;
    #     occupancy = 280 / (900 - 100) = 0.35 (pauses are not idle capacity)
    assert a2.agent_busy_s == pytest.approx(280) and a2.agent_paused_s == pytest.approx(100)
    assert a2.occupancy == pytest.approx(0.35)
    assert a2.aht == pytest.approx((120 + 30 + 100 + 30) / 3)
    # calls nobody answered: c7, c8, c9, c10
    assert (nobody.calls, nobody.offered, nobody.answered) == (4, 3, 0)
    assert nobody.occupancy is None


def test_whole_centre_row_sums_agents():
    r = only(compute(TRACE, group_by=(), until=END))
    assert r.group == {}
    assert r.agent_logged_in_s == pytest.approx(1800)
    assert r.agents_logged_in == pytest.approx(2.0)
    # busy 380 + 280 = 660, available (900-380) + (900-280-100) = 1040
    assert r.occupancy == pytest.approx(660 / 1700)
    assert (r.calls, r.offered, r.service_level) == (10, 9, pytest.approx(0.5))


def test_thresholds_are_definitions():
    r = only(compute(TRACE, until=END, definitions=Definitions(short_abandon_s=0)))
    assert (r.short_abandons, r.abandoned) == (0, 2)
    assert r.abandon_rate == pytest.approx(2 / 9)
    assert r.service_level == pytest.approx(4 / 9)
    r = only(compute(TRACE, until=END, definitions=Definitions(service_level_s=10)))
    assert r.answered_within_sl == 2                 # 3 and 8
    assert r.service_level == pytest.approx(2 / 8)


def test_abandon_at_exactly_the_threshold_is_not_short():
    r = only(compute(queued("x", 0, 5.0, "abandon")))
    assert (r.short_abandons, r.abandoned, r.abandon_rate) == (0, 1, 1.0)
    r = only(compute(queued("x", 0, 4.999, "abandon")))
    assert (r.short_abandons, r.abandoned) == (1, 0)
    assert r.abandon_rate is None and r.service_level is None  # 1 offered - 1 short = 0


def test_wrap_up_belongs_to_the_call_it_names():
    # a1 holds two calls (tax p, then a market consultation q); the wrap-up names p, so p's
    # handle time gets it although q is a1's latest call
    t = [*queued("p", 0, 1, "answered", talk=60, agent="a1"),                 # 6..66
         *queued("q", 10, 1, "answered", talk=20, agent="a1", dept="market"),  # 16..36
         state(66, "a1", "wrapup", "p"), state(86, "a1", "ready")]
    rows = {r.group["department"]: r for r in compute(t)}
    assert rows["tax"].aht == pytest.approx(60 + 20)
    assert rows["market"].aht == pytest.approx(20)


def test_timeout_is_not_an_abandon_but_misses_service_level():
    r = only(compute(queued("a", 0, 2, "answered", talk=10, agent="a1") + queued("t", 10, 300, "timeout")))
    assert (r.offered, r.timed_out, r.abandoned) == (2, 1, 0)
    assert r.service_level == pytest.approx(0.5)


def test_menu_callback_is_requested_not_offered_nor_contained():
    # booked in the menu: the record says completed_in_ivr, but an agent still has to call
    t = [E(0, ev.CALL_START, "m"), E(3, ev.IVR_STEP, "m", data={"node": "menu", "input": "8"}),
         E(4, ev.CALLBACK_REQUESTED, "m"), E(9, ev.CALL_END, "m", data={"disposition": "completed_in_ivr"})]
    r = only(compute(t))
    assert (r.callbacks_requested, r.offered, r.abandoned) == (1, 0, 0)
    assert (r.ivr_entered, r.ivr_contained) == (1, 0)


def test_call_still_waiting_is_in_no_rate():
    t = queued("w", 0, 0, "none")  # joined at 5, nothing since
    r = only(compute(t, until=T0 + 60))
    assert (r.in_queue, r.offered, r.service_level) == (1, 0, None)


def test_answer_without_recorded_join_counts_zero_wait():
    t = [E(0, ev.CALL_START, "f"), E(4, ev.AGENT_CONNECT, "f", agent="a1"),
         E(34, ev.CALL_END, "f", data={"disposition": "fallback"})]
    r = only(compute(t))
    assert (r.offered, r.answered, r.answered_within_sl, r.asa, r.aht) == (1, 1, 1, 0.0, 30.0)
    assert r.ivr_entered == 0  # a fallback call never saw the menu


# -- intervals ------------------------------------------------------------------------
BOUNDARY = [
    state(600, "a3", "ready"), state(1200, "a3", "logged_out"),
    *queued("x", 894, 6, "answered", talk=30, agent="a3"),  # starts 10:14:54, answered 10:15:05
    *queued("y", 900, 31, "answered", talk=10, agent="a3"),  # starts 10:15:00 exactly
    *queued("z", 200, 30, "callback"),                      # requested at 10:03:55
    E(1000, ev.CALLBACK_DONE, "z", agent="a3"),             # done at 10:16:40
]


def test_bucketing_across_a_15_minute_boundary():
    r1, r2 = compute(BOUNDARY, group_by=())
    assert r1.interval_start == datetime(2026, 3, 2, 10, 0, tzinfo=SH)
    assert r2.interval_start == datetime(2026, 3, 2, 10, 15, tzinfo=SH)
    # x counts where it arrived (10:00) although it was answered at 10:15:05; y at 10:15:00
    # is in the second interval (an interval includes its start)
    assert (r1.calls, r1.answered, r1.asa) == (2, 1, 6.0)
    assert (r2.calls, r2.answered, r2.asa) == (1, 1, 31.0)
    # the callback is requested with its call, completed when it was made
    assert (r1.callbacks_requested, r1.callbacks_completed) == (1, 0)
    assert (r2.callbacks_requested, r2.callbacks_completed) == (0, 1)
    # a3 logged in 10:10..10:20 is split 300 s / 300 s; x's talk 10:15:05..10:15:35 is busy
    # in the second interval, y's 10:15:36..10:15:46 too: 30 + 10 s
    assert r1.agent_logged_in_s == pytest.approx(300) and r2.agent_logged_in_s == pytest.approx(300)
    assert r1.agent_busy_s == 0 and r2.agent_busy_s == pytest.approx(40)
    assert r1.agents_logged_in == pytest.approx(300 / 900)


@pytest.mark.parametrize("interval", [3600, 86400])
def test_hour_and_day_hold_both(interval):
    r = only(compute(BOUNDARY, group_by=(), interval=interval))
    assert r.interval_s == interval
    assert (r.calls, r.answered, r.callbacks_completed) == (3, 2, 1)
    assert r.agent_logged_in_s == pytest.approx(600)


def test_day_boundary_follows_the_time_zone():
    # 23:30 and 00:30 Shanghai time are two days there but one day (15:30, 16:30) in UTC
    late = datetime(2026, 3, 2, 23, 30, tzinfo=SH).timestamp()
    t = [Event(late, ev.CALL_START, "p"), Event(late + 3600, ev.CALL_START, "q")]
    days = [r.interval_start.date().isoformat() for r in compute(t, group_by=(), interval=86400)]
    assert days == ["2026-03-02", "2026-03-03"]
    assert len(compute(t, group_by=(), interval=86400, tz="UTC")) == 1


def test_interval_must_divide_a_day():
    with pytest.raises(ValueError):
        compute(TRACE, interval=700)
    with pytest.raises(ValueError):
        compute(TRACE, group_by=("caller",))


# -- groups ---------------------------------------------------------------------------
LANGS = [
    *queued("m1", 0, 5, "answered", talk=40, agent="a1", lang="cmn"),
    *queued("m2", 30, 20, "answered", talk=60, agent="a2", lang="cmn"),
    *queued("y1", 60, 10, "abandon", lang="yue"),
    *queued("e1", 90, 2, "answered", talk=100, agent="a3", lang="en", dept="market", queue="hl-market"),
]


def test_per_language():
    rows = {r.group["language"]: r for r in compute(LANGS, group_by=("language",))}
    assert list(rows) == ["cmn", "en", "yue"]  # sorted
    assert (rows["cmn"].answered, rows["cmn"].service_level, rows["cmn"].asa) == (2, 0.5, 12.5)
    assert (rows["yue"].abandoned, rows["yue"].abandon_rate, rows["yue"].service_level) == (1, 1.0, 0.0)
    assert (rows["en"].service_level, rows["en"].aht) == (1.0, 100.0)


def test_per_department_and_language():
    rows = compute(LANGS, group_by=("department", "language"))
    assert [tuple(r.group.values()) for r in rows] == [("market", "en"), ("tax", "cmn"), ("tax", "yue")]
    assert [r.offered for r in rows] == [1, 2, 1]


def test_per_queue():
    rows = {r.group["queue"]: r.calls for r in compute(LANGS, group_by=("queue",))}
    assert rows == {"hl-tax": 3, "hl-market": 1}


# -- call records ---------------------------------------------------------------------
def test_from_call_records():
    answered = CallRecord("r1", language="cmn", department="tax", started_at=T0, queue="hl-tax",
                          ivr_path=[{"node": "lang", "input": "1", "t": 1.5}], answered_at=T0 + 20,
                          ended_at=T0 + 80, wait_seconds=12.0, agent="agent1002",
                          disposition=Disposition.ANSWERED)
    abandoned = CallRecord("r2", language="cmn", department="tax", started_at=T0 + 30, queue="hl-tax",
                           ivr_path=[{"node": "lang", "input": "1", "t": 2.0}], ended_at=T0 + 70,
                           wait_seconds=25.0, disposition=Disposition.ABANDONED_IN_QUEUE)
    in_ivr = CallRecord("r3", language="en", department=None, started_at=T0 + 40, ended_at=T0 + 55,
                        ivr_path=[{"node": "lang", "input": "3", "t": 2.0}],
                        disposition=Disposition.COMPLETED_IN_IVR)
    evs = [e for rec in (answered, abandoned, in_ivr) for e in record_events(rec)]
    join = next(e for e in evs if e.kind == ev.QUEUE_JOIN and e.linkedid == "r1")
    assert join.ts == pytest.approx(T0 + 8)  # answered_at - wait_seconds
    r = only(compute(evs, group_by=()))
    assert (r.calls, r.offered, r.answered, r.answered_within_sl, r.abandoned) == (3, 2, 1, 1, 1)
    assert (r.asa, r.aht) == (pytest.approx(12.0), pytest.approx(60.0))
    assert (r.ivr_entered, r.ivr_contained) == (3, 1)


def test_from_call_record_orders_and_labels_events():
    rec = CallRecord("r9", language="yue", department="housing", started_at=T0, queue="hl-housing",
                     ivr_path=[{"node": "lang", "input": "2", "t": 1.0}, {"node": "dept", "input": "t", "t": None}],
                     ended_at=T0 + 50, wait_seconds=30.0, disposition=Disposition.QUEUE_TIMEOUT,
                     hangup_cause=16)
    evs = record_events(rec)
    assert [e.kind for e in evs] == [ev.CALL_START, ev.IVR_STEP, ev.IVR_STEP, ev.QUEUE_JOIN,
                                     ev.QUEUE_TIMEOUT, ev.CALL_END]
    assert all(e.department == "housing" and e.language == "yue" for e in evs)
    assert evs[-1].data == {"disposition": "queue_timeout", "cause": 16}
    assert only(compute(evs)).timed_out == 1


def test_from_call_record_carries_a_menu_callback():
    rec = CallRecord("r8", started_at=T0, ended_at=T0 + 30, disposition=Disposition.COMPLETED_IN_IVR)
    rec.callback_requested = True  # set as an attribute: older records do not have the field
    r = only(compute(record_events(rec)))
    assert (r.callbacks_requested, r.ivr_contained) == (1, 0)


# -- events and definitions -----------------------------------------------------------
def test_event_validation_and_round_trip():
    with pytest.raises(ValueError):
        Event(T0, "call_begin", "x")
    with pytest.raises(ValueError):
        Event(T0, ev.AGENT_STATE, agent="a1", data={"state": "sleeping"})
    data = {"state": "paused", "reason": "lunch"}
    e = Event(T0, ev.AGENT_STATE, agent="a1", data=data)
    data["reason"] = "changed"
    assert e.data["reason"] == "lunch"  # the event kept its own copy
    assert Event.from_dict(e.to_dict()) == e
    assert hash(e) == hash(Event.from_dict(e.to_dict()))


def test_every_figure_has_a_written_definition():
    assert set(DEFINITIONS) == set(figures())
    assert all(text.endswith(".") for text in DEFINITIONS.values())
    assert "15 s" in DEFINITIONS["service_level"] and "5 s" in DEFINITIONS["short_abandons"]
    assert "20 s" in describe(Definitions(service_level_s=20))["answered_within_sl"]


def test_no_events_no_rows():
    assert compute([]) == []


# -- invariants over random traces ----------------------------------------------------
_call = st.tuples(st.integers(0, 3000), st.floats(0, 120),
                  st.sampled_from(["answered", "abandon", "callback", "timeout", "none"]),
                  st.sampled_from(["cmn", "yue", "en"]))


@settings(max_examples=60, deadline=None)
@given(st.lists(_call, max_size=25))
def test_invariants(spec):
    trace = [e for i, (t, wait, outcome, lang) in enumerate(spec)
             for e in queued(f"c{i}", t, wait, outcome, talk=30, agent="a1", lang=lang)]
    total = compute(trace, group_by=(), interval=86400)
    by_lang = compute(trace, group_by=("language",), interval=86400)
    if not spec:
        assert total == [] and by_lang == []
        return
    r = only(total)
    assert r.calls == len(spec)
    # every queued call is offered or still waiting; offered splits into its outcomes
    assert r.offered + r.in_queue == len(spec)
    assert r.offered == r.answered + r.abandoned + r.short_abandons + r.timed_out + r.callbacks_requested
    for x in (r.service_level, r.abandon_rate):
        assert x is None or 0 <= x <= 1
    # groups partition the calls
    for name in ("calls", "offered", "answered", "answered_within_sl", "abandoned", "short_abandons"):
        assert sum(getattr(g, name) for g in by_lang) == getattr(r, name)
