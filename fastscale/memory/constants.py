"""The memory model's constants that both of its sums use: the reference sums per op (``peaks``,
``overhead``) and the same sums in bulk over numpy columns (``columns``). In a module of their own
so that the bulk sums need neither per-op module (each of which reads the trace of ``walk``, which
builds its columns from here). What each constant was measured on is in ``overhead``'s docstring.
"""

from __future__ import annotations

IN_PLACE = ("relu", "silu")  # op kinds whose output overwrites their input: nothing new is allocated
ACT_COPIES = 2.0  # float32 copies of a conv's input + output that transform engines stage
FFT_FLOATS_PER_PLANE = 576  # two 16x16 real-FFT half spectra (16 x 9 complex) per filter plane
FFT_DTYPES = ("float32", "float16")  # the storage dtypes cuDNN offers FFT engines for (NCHW only)
