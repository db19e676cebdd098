"""Prometheus metrics, one registry per engine (no module-level globals)."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

RTT_BUCKETS = (0.0001, 0.0002, 0.0003, 0.0004, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005,
               0.01, 0.05, 0.1, 1.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.agi_rtt = Histogram("hotline_agi_roundtrip_seconds",
                                 "FastAGI round trip of commands that do not wait for the caller",
                                 buckets=RTT_BUCKETS, registry=r)
        self.agi_sessions = Counter("hotline_agi_sessions", "FastAGI sessions served", registry=r)
        self.calls_ingested = Counter("hotline_calls_ingested", "Call records stored", ["disposition"], registry=r)
        self.ami_events = Counter("hotline_ami_events", "AMI events received", registry=r)
        self.journal_backlog = Gauge("hotline_journal_backlog", "Journals waiting to be stored", registry=r)
