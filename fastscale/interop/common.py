"""What the per-library recipe writers share: the refusal, and the libraries' channel rounding.

``make_divisible`` is the rounding torchvision (``_make_divisible``) and timm (``make_divisible``,
``round_channels``) both apply to channel counts: to the nearest multiple of 8, never below 8 nor
more than 10% down. The writers replay it on pure ints to tell whether a library would change a
width; the tests build the libraries' own modules to hold the replay to them.
"""

from __future__ import annotations


class Unreadable(ValueError):
    """The library's network is not one fastscale's families express exactly (``readers``)."""


class Inexpressible(ValueError):
    """The library's constructors cannot build this network exactly; ``str`` says what differs."""


def make_divisible(v: float, divisor: int = 8) -> int:
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def require(ok: bool, reason: str) -> None:
    if not ok:
        raise Inexpressible(reason)


def kept_by_rounding(library: str, widths: dict[str, int]) -> None:
    """Refuse when the library's multiple-of-8 rounding would change any of ``widths`` (name -> width)."""
    changed = [f"{name} {w} -> {make_divisible(w)}" for name, w in widths.items() if make_divisible(w) != w]
    require(not changed, f"{library} rounds every channel count to a multiple of 8 (a channel rounding of "
                         f"its own), which would change {', '.join(changed[:4])}"
                         + (f" and {len(changed) - 4} more" if len(changed) > 4 else ""))


def family_kwargs(arch, library: str) -> dict:
    """The family's own constructor kwargs for ``library`` (ConvNeXt, ViT: ``spec.library()``), its
    ScalingError turned into the refusal."""
    from fastscale.errors import ScalingError

    try:
        return arch.library()[library]
    except ScalingError as err:
        raise Inexpressible(err.message) from None
