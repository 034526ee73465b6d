"""What a request that says nothing gets, per kind of device: a CPU is not a small GPU.

A GPU profile defaults to batch 64, a 10 s budget per mode and a +-1 % stability target; on a
2-core CPU that took 8 min 42 s for one RegNetY-400MF x4 profile and never came out stable, so
the README's examples never finished and every analysis stayed empty. A CPU profile defaults
to batch 4, 2 s per mode, a 10 s warm-up cap, a 45 s cap per mode (a profile is done in about
1.5 minutes however loaded the CPU) and a +-5 % target (what a loaded CPU reaches), and
a CPU recommendation searches for at most 2 minutes. Every figure is a setting (README); GET
/readyz shows them, and a request's own values always win.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from service.settings import Settings


@dataclass(frozen=True)
class DeviceDefaults:
    batch_size: int
    time_budget_s: float
    target_rel_ci: float
    warmup_cap_s: float
    mode_cap_s: float
    recommend_total_s: float

    def to_dict(self) -> dict:
        return asdict(self)


def kind_of(device_class: str | None) -> str:
    """``cpu`` for a CPU class (or a request for ``cpu``), else ``cuda`` (the default kind)."""
    return "cpu" if device_class and device_class.split("-", 1)[0] == "cpu" else "cuda"


def defaults_for(device_class: str | None, s: Settings) -> DeviceDefaults:
    if kind_of(device_class) == "cpu":
        return DeviceDefaults(s.cpu_batch_size, s.cpu_time_budget_s, s.cpu_target_rel_ci, s.cpu_warmup_cap_s,
                              s.cpu_mode_cap_s, s.cpu_recommend_total_s)
    return DeviceDefaults(s.default_batch_size, s.default_time_budget_s, s.target_rel_ci, s.warmup_cap_s,
                          s.mode_cap_s, s.recommend_total_s)


def all_defaults(s: Settings) -> dict:
    """Per kind of device, what a request that gives nothing gets (GET /readyz)."""
    return {kind: defaults_for(kind, s).to_dict() for kind in ("cpu", "cuda")}
