"""Sweeps, the paper's experiment on demand: creating one, its rows claimed like /scale and queued
all together or not at all (``create``); the document GET /sweep answers, derived from its
profiles with the analysis once done (``document``); the state a sweep keeps beside its rows,
when it became final and its cancellation (``state``); and the paper's figure (``plots``).
"""
