# make test   - create .venv, install the package with its test tools, run the whole suite
# make check  - lint (ruff, mypy --strict) and test; what CI runs
# make run    - one poll with ./feeds.yaml into output/
# make faults - the fault-injection suite, with its table, and the fuzz test at 300 examples
# make bench  - the benchmark beside its baselines (not part of test)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test check lint run faults bench jekyll clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

# Debian's jekyll builds the test sites; installed when missing and we may (root, as in CI).
jekyll:
	@command -v jekyll >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's jekyll package"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jekyll >/dev/null; \
	  else \
	    echo "jekyll is missing: sudo apt-get install jekyll (tests that build a site will be skipped)"; \
	  fi; }

test: $(STAMP) jekyll
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check scraper tests bench
	$(BIN)/ruff format --check scraper tests bench
	$(BIN)/mypy scraper

check: lint test

run: $(STAMP)
	$(BIN)/scraper poll --config feeds.yaml -v

# The fault table, then the whole-pipeline fuzz test with more examples than make test runs.
faults: $(STAMP)
	$(BIN)/python -m tests.faults_table
	SCRAPER_FUZZ_EXAMPLES=300 $(BIN)/pytest -q tests/test_fuzz.py

bench: $(STAMP)
	$(BIN)/python -m bench.bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
