"""The formats a plan leaves the service in: torchvision and timm recipes (JSON + a Python
snippet), and pycls (the config text). Pure code over plain data: no library is imported here.

A recipe is ``{"library", "version_tested", "constructor", "kwargs", "resolution"}``: the
constructor called with the kwargs (``calls`` describes nested calls) builds exactly the plan's
network; ``version_tested`` is the library version the catalog and the tests were run against.
Where a library cannot build the network exactly, ``Refused`` says which format, why, and which
formats can, and the routes answer 422 with it: never an approximation under the same name.
"""

from __future__ import annotations

from fastscale.interop import calls, catalog, timm_recipes, tv_recipes
from fastscale.interop.common import Inexpressible

FORMATS = ("torchvision", "timm", "pycls")
WRITERS = {"torchvision": tv_recipes.recipe, "timm": timm_recipes.recipe}


class Refused(ValueError):
    """``format`` cannot express the plan: ``reason`` says why, ``can`` lists the formats that can."""

    def __init__(self, format: str, reason: str, can: list[str]):
        self.format, self.reason, self.can = format, reason, can
        super().__init__(f"{format}: {reason}")

    def to_dict(self) -> dict:
        return {"format": self.format, "reason": self.reason, "formats_that_can": self.can}


def library_recipe(library: str, arch, resolution: int) -> dict:
    """The recipe of ``arch`` for ``library``, or Inexpressible."""
    constructor, kwargs = WRITERS[library](arch)
    return {"library": library, "version_tested": catalog.version(library), "constructor": constructor,
            "kwargs": kwargs, "resolution": resolution}


def pycls_reason(plan) -> str | None:
    from fastscale.errors import ScalingError
    from fastscale.pycls.buildable import check_exportable

    try:
        check_exportable(plan.arch)
    except ScalingError as err:
        return f"{err.field}: {err.message}"
    return None


def reasons(plan) -> dict[str, str | None]:
    """format -> None where it expresses the plan exactly, else why not."""
    out: dict[str, str | None] = {}
    for library in WRITERS:
        try:
            WRITERS[library](plan.arch)
            out[library] = None
        except Inexpressible as err:
            out[library] = str(err)
    out["pycls"] = pycls_reason(plan)
    return out


def export(plan, fmt: str):
    """The plan in ``fmt``: a recipe dict for a library, the config text for pycls; or Refused."""
    why = reasons(plan)
    if why[fmt] is not None:
        raise Refused(fmt, why[fmt], [f for f in FORMATS if why[f] is None])
    if fmt == "pycls":
        from fastscale.pycls.writer import plan_yaml

        return plan_yaml(plan)
    return library_recipe(fmt, plan.arch, plan.resolution)


def snippet(recipe: dict) -> str:
    """Python that builds the recipe's model with only its library (and torch) imported, as ``model``."""
    imports = sorted({recipe["constructor"].rsplit(".", 1)[0]} | calls.modules(recipe["kwargs"]))
    args = ",\n".join(f"    {k}={calls.source(v, 4)}" for k, v in recipe["kwargs"].items())
    r = recipe["resolution"]
    return (f"# {recipe['library']} {recipe['version_tested']} (tested); train and evaluate at {r}x{r}.\n"
            + "".join(f"import {m}\n" for m in imports)
            + f"\nmodel = {recipe['constructor']}(\n{args},\n)\n")
