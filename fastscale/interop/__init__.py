"""torchvision and timm, in and out: library model names as bases, plans exported as recipes.

Two halves with one rule between them: the API process reads and writes *data* here (the
catalog of library names in ``library_models.json``, recipes as plain JSON), never the libraries.
Only the generator (``python -m fastscale.interop.catalog``), the tests and the workers import
torchvision or timm, always inside functions.

- ``catalog``: library names -> fastscale specs (the JSON data file, and its generator);
- ``readers``: a built library module -> a fastscale spec, or the reason it is not one;
- ``tv_recipes`` / ``timm_recipes``: a scaled architecture -> that library's constructor call,
  or the reason the library cannot build it exactly;
- ``calls``: the JSON form of a constructor call, rendered as Python or realized as objects;
- ``export``: the formats a plan leaves the service in (torchvision, timm, pycls).
"""

LIBRARIES = ("torchvision", "timm")
