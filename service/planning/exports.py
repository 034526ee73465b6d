"""A plan in the formats it leaves the service in (``export`` on POST /plan and /scale, and
GET /profile/{id}/export/{format}): torchvision and timm recipes with their Python snippet, and
the pycls config. Pure data work over ``fastscale.interop.export`` (no library imported), run on
the planning executor like the pycls config; a format that cannot express the plan exactly is a
422 naming the format, what it cannot express, and the formats that can.
"""

from __future__ import annotations

from fastscale.errors import ScalingError
from fastscale.interop.export import FORMATS, Refused, export, snippet
from fastscale.planning.planner import Plan
from service.planning.cache import planner


def refusal(err: Refused, field: str) -> ScalingError:
    can = ", ".join(err.can) if err.can else "none"
    return ScalingError(field, f"{err.format} cannot build this network exactly: {err.reason}",
                        f"export formats that can: {can}")


def one_export(plan: Plan, fmt: str, field: str) -> dict:
    """``{"recipe", "snippet"}`` for a library, ``{"yaml"}`` for pycls; ScalingError when refused."""
    if fmt not in FORMATS:
        raise ScalingError(field, f"unknown export format {fmt!r}", ", ".join(FORMATS))
    try:
        value = export(plan, fmt)
    except Refused as err:
        raise refusal(err, field) from None
    return {"yaml": value} if fmt == "pycls" else {"recipe": value, "snippet": snippet(value)}


def plan_exports(plan_json: dict, formats: list[str], field: str = "export") -> dict:
    plan = Plan.from_dict(plan_json)
    return {fmt: one_export(plan, fmt, f"{field}[{i}]") for i, fmt in enumerate(formats)}


async def aexports(plan_json: dict, formats: list[str], field: str = "export") -> dict:
    """``plan_exports`` on the planning executor (``{}`` at once when nothing is asked)."""
    if not formats:
        return {}
    return await planner().executor.arun(plan_exports, plan_json, list(formats), field)
