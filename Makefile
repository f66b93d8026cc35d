# The README's two set-up commands: `make deploy` (the embedded local stack) and `make test`.
# Both start from a fresh clone: they create .venv, install mlstack with pinned dependencies, install the
# Debian service packages the local target runs, and build the pinned Pulumi CLI from Go modules.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEBIAN_PACKAGES := docker-registry
# Only the tests need these: PostgreSQL runs the cloud MLflow server's start script against a real database;
# etcd and openssl serve the test control plane (tests/kube/), whose Kubernetes binaries are built from Go modules
# once into ~/.cache/mlstack (versions in mlstack/versions.py; a second run rebuilds nothing); shellcheck and
# actionlint (also built from Go modules) check the GitHub Actions examples.
TEST_DEBIAN_PACKAGES := postgresql openssl etcd-server shellcheck

.PHONY: install bytecode debian deploy test docs bench clean

$(BIN)/mlstack: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,cloud]'
	touch $@

# An editable install leaves mlstack's own modules uncompiled, and where PYTHONDONTWRITEBYTECODE is set (as on CI
# machines) every command would compile its ~100 modules again (~0.3 s of each `preview --offline`). Compiled here
# as pip compiles an installed wheel; a module edited later is compiled again in memory (its .pyc is stale).
bytecode: $(BIN)/mlstack
	@$(BIN)/python -m compileall -q mlstack components stacks >/dev/null

install: $(BIN)/mlstack bytecode
	@$(MAKE) --no-print-directory debian PACKAGES="$(DEBIAN_PACKAGES)"
	$(BIN)/mlstack doctor --fix

debian:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

deploy: install
	$(BIN)/mlstack deploy recipes/local.yaml --yes

test: install
	@$(MAKE) --no-print-directory debian PACKAGES="$(TEST_DEBIAN_PACKAGES)"
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m tests.typecheck
	$(BIN)/python -m tests.kube.build
	$(BIN)/python -m tests.examples.actionlint
	MLSTACK_REQUIRE_CONTROL_PLANE=1 MLSTACK_REQUIRE_TOOLS=1 $(BIN)/python -m pytest

docs: $(BIN)/mlstack
	$(BIN)/python -m mlstack.docs

bench: install
	$(BIN)/python bench/speed.py

clean:
	rm -rf $(VENV) *.egg-info
