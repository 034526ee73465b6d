# The two set-up commands (README): `make serve` starts the service, `make test` runs the tests.
# Both create .venv on first use and install everything from this repo's files.
VENV  ?= .venv
PY    := $(VENV)/bin/python
# CPU build from local disk on dev/CI machines; GPU hosts install their own CUDA torch (README).
TORCH ?= torch==2.13.0
PYTEST_ARGS ?=

.PHONY: serve test install bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[dev,torch]"
	touch $@

install: $(VENV)/.installed

serve: $(VENV)/.installed
	$(VENV)/bin/fastscale serve

test: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(PY) bench/plan_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
