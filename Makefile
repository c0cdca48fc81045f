# Two commands on a fresh clone: `make sweep` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: sweep test test-fast lint bench install clean

# The pinned torch/torchvision pair in constraints.txt is the one the tests run on.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

sweep: $(STAMP)
	$(VENV)/bin/sweep run studies/default.toml

test: $(STAMP)
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check sweep tests bench
	$(VENV)/bin/ruff format --check sweep tests bench
	$(VENV)/bin/mypy sweep

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) reports sweeps.db sweeps.db-* sweeps.db.lock sweeps.artifacts
