"""What the Asterisk templates need from the trunk plan: PJSIP sections, and the dialplan
globals that carry everything a trunk change may alter (limits, number maps, the outbound
order), so that a change applies with a PJSIP reload and `dialplan set global`, never a
dialplan reload (which would clear the engine's heartbeat and the agents' line globals).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core import contract as C
from trunks import numbers
from trunks.model import Registration, Trunk, TrunkPlan, registration

GROUP_TRUNK = "hltrunk"   # GROUP category: calls on a trunk, both directions
GROUP_RATE = "hlrate"     # GROUP category: inbound calls per source address and second
GROUP_OUT = "hlout"       # GROUP category: outbound calls under way


@dataclass(frozen=True)
class TrunkView:
    trunk: Trunk
    registration: Registration | None

    def __getattr__(self, name):
        return getattr(self.trunk, name)

    @property
    def transport_section(self) -> str:
        return f"transport-{self.trunk.transport}"

    @property
    def uri_hosts(self) -> list[str]:
        return [f"{h}:{self.trunk.port}" for h in self.trunk.hosts]


def out_targets(plan: TrunkPlan) -> str:
    """'carrier/10.0.0.1:5060/udp&carrier/10.0.0.2:5060/udp&@sim': every host of every out
    trunk, in the order of the centre file; the dialplan tries them one after the other."""
    parts = []
    for t in plan.outbound:
        if t.kind == "sim":
            parts.append("@sim")
        else:
            parts += [f"{t.name}/{h}:{t.port}/{t.transport}" for h in t.hosts]
    return "&".join(parts)


def globals_of(plan: TrunkPlan) -> dict[str, str]:
    """Dialplan globals (name -> value). Names and values are made of [A-Za-z0-9_./:&@-]
    only (validated by the model), so they are safe in the config file and on the CLI."""
    g = {C.G_CENTRE: plan.centre_number, C.G_OUT_TARGETS: out_targets(plan),
         C.G_OUT_MAX: str(plan.policy.max_concurrent), C.G_OUT_RING: str(plan.policy.ring_seconds)}
    for t in plan.inbound:
        g[f"{C.G_TLIM_}{t.name}"] = str(t.channels)
        g[f"{C.G_TCPS_}{t.name}"] = str(t.calls_per_second)
        for dialled, entry in sorted(t.numbers.items()):
            g[f"{C.G_TMAP_}{t.name}_{numbers.map_key(dialled)}"] = entry
    for t in plan.outbound:
        g.setdefault(f"{C.G_TLIM_}{t.name}", str(t.channels))
    return g


def context(plan: TrunkPlan, state_dir: Path) -> dict:
    """Template variables (asterisk_conf/templates: trunks.pjsip.inc, extensions.conf.j2)."""
    views = [TrunkView(t, registration(t, state_dir)) for t in plan.trunks if t.kind == "sip"]
    return {
        "trunks": views,
        "trunk_transports": sorted({t.transport for t in plan.trunks if t.kind == "sip"} - {"udp"}),
        "trunk_globals": globals_of(plan),
        "caller_rules": numbers.RULES,
        "withheld_words": [w for w in numbers.WITHHELD if w],
        "trunk_groups": {"trunk": GROUP_TRUNK, "rate": GROUP_RATE, "out": GROUP_OUT},
        "anonymous": numbers.ANONYMOUS, "unknown": numbers.UNKNOWN,
        "out_min_length": plan.policy.min_length,
    }
