# The two set-up commands (README): `make serve` starts the service, `make test` runs the tests.
# Both create .venv on first use and install everything from this repo's files.
VENV  ?= .venv
PY    := $(VENV)/bin/python
# Dev/CI torch: 2.14.1 with torchvision 0.29.1 (local disk here; CUDA builds that run on CPU),
# because torchvision and timm (the interop tests) need a torchvision built for the same torch, and
# the local torch 2.13.0+cpu has none. GPU hosts install their own torch + torchvision (README).
TORCH ?= torch==2.14.1 torchvision==0.29.1
PYTEST_ARGS ?=

.PHONY: serve test install bench clean browser

# The /ui browser test needs headless Chromium from the distribution (never a downloaded build).
# As root with apt-get it is installed when missing; elsewhere that test skips and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || test -x /usr/bin/chromium || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	      || echo "warning: could not install chromium; the browser test will skip"; \
	    else echo "note: chromium missing and not root: the browser test will skip"; fi; }

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e ".[dev,torch]"
	touch $@

install: $(VENV)/.installed

serve: $(VENV)/.installed
	$(VENV)/bin/fastscale serve

# Two workers for the bulk (most tests wait on Redis, workers and servers, so two CI cores
# finish it in about two thirds of the time), then the timing-sensitive tests (marked serial)
# alone, so no neighbour's load moves what they measure.
test: $(VENV)/.installed browser
	$(PY) -m pytest -n 2 --dist worksteal -m "not serial" $(PYTEST_ARGS)
	$(PY) -m pytest -m serial $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(PY) bench/plan_bench.py
	$(PY) bench/listing_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
