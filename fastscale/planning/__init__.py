"""Planning: (base model, strategy, factor or target flops, rounding) -> a concrete scaled network.

``planner`` is the entry (``make_plan``, the ``Plan`` data its JSON round-trips through); the
rest is what it uses: ``rounding`` (the reference's rounding and the nearest rounding),
``calibration`` (the factor's bisection), ``search`` (the bulk local search of the nearest
rounding), ``candidates``, ``ranking`` and ``width_ladder`` (what the search tries and prefers),
``block_flops`` and ``stage_cost`` (one plan's memoised block and stage flops, and their int-only
closed forms) and ``budget`` (the CPU time a plan may take).
"""
