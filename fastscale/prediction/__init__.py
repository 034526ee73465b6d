"""From measurements to models: the runtime model (``runtime_model``, fitted by non-negative least
squares, ``nnls``, on per-network terms from the layer trace, ``features``), its leave-one-out
evaluation (``predictor_eval``), and the paper's analysis of a sweep (``analysis``: correlations of
time with flops, params and acts, the fit, the fastest strategy per factor).
"""
