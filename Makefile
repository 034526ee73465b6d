# The two set-up commands (README): `make serve` starts the service, `make test` runs the tests.
# Both create .venv on first use and install everything from this repo's files.
VENV  ?= .venv
PY    := $(VENV)/bin/python
# Dev/CI torch: 2.14.1 with torchvision 0.29.1 (local disk here; CUDA builds that run on CPU),
# because torchvision and timm (the interop tests) need a torchvision built for the same torch, and
# the local torch 2.13.0+cpu has none. GPU hosts install their own torch + torchvision (README).
TORCH ?= torch==2.14.1 torchvision==0.29.1
PYTEST_ARGS ?=

.PHONY: serve test install bench clean browser lock secrets

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
# alone, so no neighbour's load moves what they measure. The serial part runs even when the bulk
# failed; both results are reported and the target fails if either did.
# FASTSCALE_TEST_LOAD_FACTOR (default 1) stretches the tests' wall-clock waits on a loaded machine.
test: $(VENV)/.installed browser
	@bulk=0; serial=0; \
	$(PY) -m pytest -n 2 --dist worksteal -m "not serial" $(PYTEST_ARGS) || bulk=$$?; \
	$(PY) -m pytest -m serial $(PYTEST_ARGS) || serial=$$?; \
	echo "make test: bulk exit $$bulk, serial exit $$serial"; \
	test $$bulk = 0 && test $$serial = 0

bench: $(VENV)/.installed
	$(PY) bench/plan_bench.py
	$(PY) bench/listing_bench.py

# constraints.txt pins every installed package (the Docker images install with it): regenerate it
# after changing dependencies with `make lock` (scripts/lock.py, from a fresh venv of pyproject).
lock:
	python3 scripts/lock.py

# The secret files docker-compose.yml mounts: a random Redis password (kept if present), and
# empty API key hashes and callback key (fill them in: `fastscale hash-key`). Copy the same
# secrets/redis_password to every GPU host of the fleet.
secrets:
	mkdir -p secrets && chmod 700 secrets
	test -s secrets/redis_password || python3 -c "import secrets; print(secrets.token_urlsafe(32))" > secrets/redis_password
	touch secrets/api_key_hashes secrets/callback_secret
	chmod 600 secrets/redis_password secrets/api_key_hashes secrets/callback_secret

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
