# The two commands of the README, and what they stand on. Everything is installed and
# started by these targets themselves: a fresh clone on a fresh machine needs nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test unit faults lint bootstrap rules stack-up stack-down clean

## The main job: local stack + simulated workload + report.
demo: bootstrap
	$(BIN)/jamsos demo

## Every test, against the real local stack (started if not running).
test: bootstrap
	bash deploy/local/install-system-packages.sh --browser
	$(BIN)/pytest tests

## Fault runs alone (several kill -9s with partition moves; also part of `test`).
faults: bootstrap
	$(BIN)/pytest tests/integration/faults

## Pure-logic tests only (no servers).
unit: rules
	$(BIN)/pytest tests/unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy jamsos streams consumers
	$(BIN)/jamsos grafana --check
	$(BIN)/jamsos k8s --check

bootstrap: rules
	bash deploy/local/install-system-packages.sh

## The rules compiled with mypyc, when the sources changed (else the pure-Python rules run).
rules: $(STAMP)
	@$(BIN)/python -m jamsos.compiled_rules

# pip's own chatter (build back-end notices) goes to a log; a failure says which log to read.
INSTALL_LOG := $(VENV)/install.log

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing the project into $(VENV) (log: $(INSTALL_LOG)) ..."
	@( $(BIN)/python -m pip install -q --upgrade pip && \
	   $(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]' ) > $(INSTALL_LOG) 2>&1 || \
	  { echo "make: installing the project failed; read $(INSTALL_LOG)" >&2; exit 1; }
	@touch $(STAMP)

stack-up: bootstrap
	$(BIN)/jamsos stack up

stack-down:
	$(BIN)/jamsos stack down

## Stops the stack and deletes its data (not the download cache).
clean: stack-down
	rm -rf .jamsos/kafka .jamsos/clickhouse .jamsos/registry
