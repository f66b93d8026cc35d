# The README's two set-up commands: `make deploy` (the embedded local stack) and `make test`.
# Both start from a fresh clone: they create .venv, install mlstack with pinned dependencies, install the
# Debian service packages the local target runs, and build the pinned Pulumi CLI from Go modules.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEBIAN_PACKAGES := docker-registry

.PHONY: install deploy test docs bench clean

$(BIN)/mlstack: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,cloud]'
	touch $@

install: $(BIN)/mlstack
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	$(BIN)/mlstack doctor --fix

deploy: install
	$(BIN)/mlstack deploy recipes/local.yaml --yes

test: install
	$(BIN)/python -m pytest

docs: $(BIN)/mlstack
	$(BIN)/python -m mlstack.docs

bench: install
	$(BIN)/python bench/cli.py

clean:
	rm -rf $(VENV) *.egg-info
