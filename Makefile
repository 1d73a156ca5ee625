# Two commands do all set-up on a fresh machine:
#   make demo   install journeymine and run it on bundled demo data
#   make test   install the test dependencies and run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STORE ?= demo.duckdb

.PHONY: demo real-data test install install-test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'

demo: install
	$(BIN)/journeymine demo --store $(STORE)

real-data: install
	rm -f real.duckdb
	$(BIN)/journeymine import data/bpic2012/bpic2012.xes.gz --store real.duckdb
	$(BIN)/journeymine info --store real.duckdb

test: install-test
	$(BIN)/python -m pytest

bench: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/bench_import.py

clean:
	rm -rf $(VENV) $(STORE) demo.truth real.duckdb build src/*.egg-info src/journeymine/*/*.so
