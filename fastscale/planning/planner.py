"""Planning: (base model, strategy, factor or target flops, rounding) -> a Plan.

A Plan is plain data with stable JSON names (``base``, ``strategy``, ``rounding``,
``requested_factor``, ``achieved_factor``, ``arch``, ``resolution``, ``complexity``, ``growth``).
It is what the API returns, what a profiling job carries, and what the torch builder consumes.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from fastscale import strategies, zoo
from fastscale.errors import ScalingError, brief, finite_number
from fastscale.families import RegNetSpec, spec_from_dict
from fastscale.families._fields import first_excess
from fastscale.planning.block_flops import stage_costs
from fastscale.planning.budget import DEFAULT_PLAN_BUDGET_S, Budget
from fastscale.planning.dims import round_dims
from fastscale.planning.rounding import ROUNDINGS, calibrate, round_nearest, round_pycls
from fastscale.pycls.reader import is_pycls, read_config, read_spec
from fastscale.strategies import Strategy

METRICS = ("flops", "params", "acts")
MIN_RESOLUTION, MAX_RESOLUTION = 16, 4096


@lru_cache(maxsize=1024)
def _figures(spec, resolution: int) -> tuple[tuple[str, int], ...]:
    return tuple(spec.complexity(resolution).items())


def figures(spec, resolution: int) -> dict[str, int]:
    """``spec.complexity(resolution)``, memoised: a base model's figures are asked for by every
    plan made from it (specs are frozen, so a spec and a resolution say it all)."""
    return dict(_figures(spec, resolution))


@dataclass(frozen=True)
class Base:
    """The model being scaled: a zoo entry, or a custom spec (named ``custom``).

    ``source`` is the pycls config a custom spec was read from (plain JSON, as given): a scaled
    copy of that file keeps all its other settings, so it travels with the plan.
    """

    name: str
    spec: object
    resolution: int
    source: dict | None = field(default=None, hash=False)

    @property
    def scalable(self):
        """The spec in the form the scaler works on (RegNets expand to AnyNets first)."""
        return self.spec.to_anynet() if isinstance(self.spec, RegNetSpec) else self.spec

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "family": self.spec.family,
            "arch": self.spec.to_dict(),
            "resolution": self.resolution,
            "complexity": figures(self.spec, self.resolution),
            "pycls_config": copy.deepcopy(self.source),
        }


def resolve_base(model: str | None = None, spec: dict | str | None = None, resolution: int | None = None,
                 name: str | None = None) -> Base:
    """A zoo model, or a custom spec: fastscale's JSON form, or a pycls config (YAML text or its dict);
    a custom spec is called ``name`` (the CLI gives its file's name), else "custom"."""
    if (model is None) == (spec is None):
        raise ScalingError("model", "give exactly one of model (a zoo name) or spec (a custom architecture)")
    label = _custom_name(name, model)
    if model is not None:
        entry = zoo.get(model)
        base = Base(entry.name, entry.spec, entry.resolution)
    else:
        if isinstance(spec, str) or is_pycls(spec):
            source = read_spec(spec)
            base = Base(label, source.spec, source.train_size, source.config)
        else:
            parsed = spec_from_dict(spec, "spec")
            base = Base(label, parsed, getattr(parsed, "img_size", 224))  # a ViT is built for its img_size
    if resolution is not None:
        if isinstance(resolution, bool) or not isinstance(resolution, int):
            raise ScalingError("resolution", f"must be an integer, got {brief(resolution)}",
                               f"{MIN_RESOLUTION}..{MAX_RESOLUTION}")
        if not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION:
            raise ScalingError("resolution", f"{brief(resolution)} is out of range",
                               f"{MIN_RESOLUTION}..{MAX_RESOLUTION}")
        spec = base.spec.at_resolution(resolution) if hasattr(base.spec, "at_resolution") else base.spec
        base = Base(base.name, spec, resolution, base.source)
    return base


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")


def _custom_name(name, model) -> str:
    if name is None:
        return "custom"
    if model is not None:
        raise ScalingError("name", "names a custom spec; a zoo model has its own name", "leave name out, or give spec")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ScalingError("name", f"{brief(name)} is not a model name",
                           "1 to 64 letters, digits, '.', '_', '+' or '-', starting with a letter or digit")
    return name


@dataclass(frozen=True)
class Plan:
    base: Base
    strategy: Strategy
    rounding: str
    requested_factor: float
    arch: object
    resolution: int

    @property
    def base_complexity(self) -> dict[str, int]:
        return figures(self.base.spec, self.base.resolution)

    @cached_property
    def _complexity(self) -> tuple[tuple[str, int], ...]:
        return tuple(self.arch.complexity(self.resolution).items())

    @property
    def complexity(self) -> dict[str, int]:
        return dict(self._complexity)

    @property
    def achieved_factor(self) -> float:
        return self.complexity["flops"] / self.base_complexity["flops"]

    @property
    def growth(self) -> dict[str, float]:
        base, now = self.base_complexity, self.complexity
        return {m: now[m] / base[m] for m in METRICS}

    def to_dict(self) -> dict:
        base = self.base.to_dict()
        complexity = self.complexity
        return {
            "base": base,
            "strategy": self.strategy.to_dict(),
            "rounding": self.rounding,
            "requested_factor": self.requested_factor,
            "target_flops": self.requested_factor * base["complexity"]["flops"],
            "achieved_factor": complexity["flops"] / base["complexity"]["flops"],
            "arch": self.arch.to_dict(),
            "resolution": self.resolution,
            "complexity": complexity,
            "growth": {m: complexity[m] / base["complexity"][m] for m in METRICS},
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Plan":
        """Rebuild a plan from its JSON, re-deriving every figure and refusing tampered ones."""
        try:
            base_d = data["base"]
            base_spec = spec_from_dict(base_d["arch"], "plan.base.arch")
            base = Base(str(base_d["name"]), base_spec, _resolution(base_d["resolution"], "plan.base.resolution"),
                        _checked_source(base_d.get("pycls_config"), base_spec))
            plan = cls(
                base=base,
                strategy=Strategy.from_dict(data["strategy"]),
                rounding=data["rounding"] if data["rounding"] in ROUNDINGS else _bad_rounding(data["rounding"], "plan"),
                requested_factor=strategies.check_factor(data["requested_factor"], "plan.requested_factor"),
                arch=spec_from_dict(data["arch"], "plan.arch"),
                resolution=_resolution(data["resolution"], "plan.resolution"),
            )
        except ScalingError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise ScalingError("plan", f"malformed plan JSON ({brief(exc)})",
                               "a plan as POST /plan returns it") from exc
        if "complexity" in data and data["complexity"] != plan.complexity:
            raise ScalingError("plan.complexity", "does not match the architecture", "the plan's own figures")
        return plan


def _checked_source(source, spec) -> dict | None:
    """The stored pycls source of a plan, read again: it must still describe the base architecture."""
    if source is None:
        return None
    if read_config(source, "plan.base.pycls_config").spec != spec:
        raise ScalingError("plan.base.pycls_config", "does not describe the base architecture",
                           "the pycls config the plan was made from")
    return source


def _resolution(value, field: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScalingError(field, f"must be an integer, got {brief(value)}", f"{MIN_RESOLUTION}..{MAX_RESOLUTION}")
    if not MIN_RESOLUTION <= value <= MAX_RESOLUTION:
        raise ScalingError(field, f"{brief(value)} is out of range", f"{MIN_RESOLUTION}..{MAX_RESOLUTION}")
    return value


def _bad_rounding(rounding, prefix: str = ""):
    raise ScalingError(f"{prefix}.rounding" if prefix else "rounding", f"unknown rounding {brief(rounding)}",
                       ", ".join(ROUNDINGS))


def make_strategy(strategy: str | None = "dWr", alpha: float | None = None, exponents: dict | None = None) -> Strategy:
    if exponents is not None:
        if not isinstance(exponents, dict):
            raise ScalingError("exponents", "must be an object", "{e_d, e_w, e_r[, e_g]}")
        unknown = set(exponents) - {"e_d", "e_w", "e_r", "e_g"}
        if unknown:
            raise ScalingError(f"exponents.{sorted(unknown)[0]}", "unknown exponent", "e_d, e_w, e_r, e_g")
        return strategies.from_exponents(exponents.get("e_d", 0.0), exponents.get("e_w", 0.0),
                                         exponents.get("e_r", 0.0), exponents.get("e_g", 0.0))
    return strategies.parse(strategy if strategy is not None else "dWr", alpha)


def make_plan(
    model: str | None = None,
    spec: dict | str | None = None,
    strategy: str | None = "dWr",
    alpha: float | None = None,
    exponents: dict | None = None,
    factor: float | None = None,
    target_flops: float | None = None,
    rounding: str = "nearest",
    resolution: int | None = None,
    name: str | None = None,
    budget_s: float | None = DEFAULT_PLAN_BUDGET_S,
    wall_budget: bool = False,
) -> Plan:
    """Plan a scaled model. ``budget_s`` is the CPU time (with ``wall_budget``, the wall time) the
    nearest rounding may take before it gives up with a ScalingError (None: no limit); valid
    requests take milliseconds."""
    base = resolve_base(model, spec, resolution, name)
    strat = make_strategy(strategy, alpha, exponents)
    if rounding not in ROUNDINGS:
        _bad_rounding(rounding)
    s = _requested_factor(factor, target_flops, figures(base.spec, base.resolution)["flops"])
    if hasattr(base.spec, "dims"):  # ConvNeXt, ViT: no reference rounding, a nearest search of their own
        if rounding == "pycls":
            raise ScalingError("rounding", f"the reference (pycls) rounding has no rules for {base.spec.family}",
                               "rounding nearest")
        target = s * figures(base.spec, base.resolution)["flops"]
        budget = Budget.wall(budget_s, "factor") if wall_budget and budget_s is not None else Budget(budget_s, "factor")
        arch, res = round_dims(base.spec, base.resolution, strat, s, target, budget)
    elif rounding == "pycls":
        arch, res = round_pycls(base.scalable, base.resolution, strat.factors(s))
    else:
        field = "spec" if spec is not None else "factor"
        budget = Budget.wall(budget_s, field) if wall_budget and budget_s is not None else Budget(budget_s, field)
        target = s * figures(base.spec, base.resolution)["flops"]
        costs = stage_costs(base.scalable)  # calibration, the search and later plans ask for the same blocks
        f = calibrate(base.scalable, base.resolution, strat.factors, strat.exponents, s, target, budget, costs)
        arch, res = round_nearest(base.scalable, base.resolution, f, strat.exponents, target, budget, costs)
    _check_fits(arch, res)
    return Plan(base, strat, rounding, s, arch, res)


def _requested_factor(factor, target_flops, base_flops: int) -> float:
    if (factor is None) == (target_flops is None):
        raise ScalingError("factor", "give exactly one of factor or target_flops",
                           "e.g. factor=4 or target_flops=1.5e9")
    if factor is not None:
        return strategies.check_factor(factor)
    if not finite_number(target_flops) or target_flops <= 0:
        raise ScalingError("target_flops", f"must be a positive number, got {brief(target_flops)}")
    if target_flops > 2 * strategies.MAX_FACTOR * base_flops:  # also keeps a huge int's ratio a float
        raise ScalingError("target_flops", f"{brief(target_flops)} is out of range",
                           f"up to {strategies.MAX_FACTOR:g} times the base model's {base_flops} flops")
    return strategies.check_factor(target_flops / base_flops, "target_flops")


def _check_fits(arch, res: int) -> None:
    """A plan must read back as a spec (``Plan.from_dict``), so its dimensions keep to the bounds."""
    if not MIN_RESOLUTION <= res <= MAX_RESOLUTION:
        raise ScalingError("factor", f"the scaled resolution {res} is out of range",
                           f"a factor that keeps resolution within {MIN_RESOLUTION}..{MAX_RESOLUTION}")
    if getattr(arch, "has_bottleneck", False):
        for i, (w, b, g) in enumerate(zip(arch.widths, arch.bot_muls, arch.group_ws)):
            if int(round(w * b)) < 1 or int(round(w * b)) % g:
                raise ScalingError("rounding", f"this rounding gives stage {i} width {w}, whose bottleneck width "
                                   f"round({w}*{b:g}) is not a multiple of its group width {g}",
                                   "rounding nearest, or another factor")
    excess = first_excess(arch)
    if excess is not None:
        name, value, allowed = excess
        raise ScalingError("factor", f"the scaled model's {name} would be {value}",
                           f"a factor that keeps it within {allowed}")
