"""fastscale's pure core: scale a network as "Fast and Accurate Model Scaling" prescribes and count
what the scaled network costs, exactly, without torch.

The public entry points are here: ``make_plan`` (base model, strategy, factor -> ``Plan``),
``zoo`` (the base models), ``strategies`` (d, w, r, dw, ..., dWr with alpha, weight strings) and
``ScalingError`` (every refusal names its field). Behind them, by capability:

- ``families/`` the model families (AnyNet, RegNet, EfficientNet) as frozen specs;
- ``layers/`` the layer vocabulary every family is written in: each op's complexity, trace (for
  the memory model and the runtime features) and torch build side by side;
- ``planning/`` turning a factor into a concrete network: calibration, rounding, the nearest
  search and its memoised stage costs;
- ``memory/`` the analytic memory model; ``prediction/`` the runtime model and the paper's
  analysis of measurements; ``pycls/`` pycls configs in and out; ``build/`` the torch side
  (building a plan, verifying a built module on the meta device; imported only where torch is).
"""

from fastscale import strategies, zoo
from fastscale.errors import ScalingError
from fastscale.planning.planner import Plan, make_plan

__all__ = ["Plan", "ScalingError", "make_plan", "strategies", "zoo"]
