# make test   - create .venv, install the package with its test tools, run the whole suite
# make check  - lint (ruff, mypy --strict) and test; what CI runs
# make run    - one poll with ./feeds.yaml into output/ (installs the package only, no test tools)
# make faults - the fault-injection suite, with its table, and the fuzz test at 300 examples
# make bench  - the benchmark beside its baselines (not part of test)
# make screenshots - build the corpus site, write docs/screenshots/index.png and post.png
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKAGE := $(VENV)/.package

.PHONY: test check lint run faults bench jekyll chromium screenshots clean

# The package alone (make run); the package with its test tools (everything else).
$(PACKAGE): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $(PACKAGE)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP) $(PACKAGE)

# Debian's jekyll and the plugins output/_config.yml names build the test sites;
# installed when missing and we may (root, as in CI).
JEKYLL_DEBS := jekyll ruby-jekyll-feed ruby-jekyll-paginate-v2 ruby-jekyll-archives ruby-jekyll-sitemap
# Headless Chromium and CJK fonts: the site test opens the built pages in a browser.
BROWSER_DEBS := chromium fonts-noto-cjk

# $(call debs,PACKAGES,what needs them): apt-get install the missing ones when root, else say so.
debs = missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null; \
	  else \
	    echo "missing:$$missing: sudo apt-get install$$missing ($(2) will be skipped)"; \
	  fi; fi

jekyll:
	@$(call debs,$(JEKYLL_DEBS),tests that build a site)

chromium:
	@$(call debs,$(BROWSER_DEBS),the test that opens the site in a browser)

# The suite runs on every core (pytest-xdist): each test has its own folders, servers and ports.
test: $(STAMP) jekyll chromium
	$(BIN)/pytest -q -n auto

lint: $(STAMP)
	$(BIN)/ruff check scraper tests bench
	$(BIN)/ruff format --check scraper tests bench
	$(BIN)/mypy scraper

check: lint test

run: $(PACKAGE)
	$(BIN)/scraper poll --config feeds.yaml -v

# The fault table, then the whole-pipeline fuzz test with more examples than make test runs.
faults: $(STAMP)
	$(BIN)/python -m tests.faults_table
	SCRAPER_FUZZ_EXAMPLES=300 $(BIN)/pytest -q tests/test_fuzz.py

bench: $(STAMP)
	$(BIN)/python -m bench.bench
	$(BIN)/python -m bench.hardening

screenshots: $(STAMP) jekyll chromium
	$(BIN)/python -m tests.screenshots docs/screenshots

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
