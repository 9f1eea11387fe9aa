# govcat: the README's commands. `make demo` and `make test` set everything up themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOME_DIR ?= $(CURDIR)/.govcat
PORT ?= 8501

.PHONY: setup demo test browser publish explore requirements clean

setup: $(VENV)/.installed

# pip's notes about configured package folders that do not exist are noise, not errors
QUIET_PIP = 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }

$(VENV)/.installed: requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing the pinned dependencies into $(VENV) ..."
	@set -o pipefail; $(BIN)/python -m pip install --quiet --upgrade pip $(QUIET_PIP)
	@set -o pipefail; $(BIN)/python -m pip install --quiet -r requirements.txt $(QUIET_PIP)
	@set -o pipefail; $(BIN)/python -m pip install --quiet --no-deps -e . $(QUIET_PIP)
	@touch $@

# Debian's Chromium for the browser tests; Playwright drives it, it never downloads its own.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

publish: setup
	@mkdir -p $(HOME_DIR)
	@GOVCAT_HOME=$(HOME_DIR) $(BIN)/govcat keygen --if-missing
	@GOVCAT_HOME=$(HOME_DIR) $(BIN)/govcat publish --all; rc=$$?; \
		if [ $$rc -eq 3 ]; then echo "(two quarantined deliveries are part of the demo: one fails validation, one is stopped by the privacy guard)"; elif [ $$rc -ne 0 ]; then exit $$rc; fi

demo: publish
	@GOVCAT_HOME=$(HOME_DIR) $(BIN)/govcat explore --port $(PORT)

explore: setup
	@GOVCAT_HOME=$(HOME_DIR) $(BIN)/govcat explore --port $(PORT)

test: setup browser
	$(BIN)/python -m pytest

requirements:
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --no-emit-index-url --no-emit-trusted-host --no-emit-find-links \
		--strip-extras --output-file=requirements.txt requirements.in

clean:
	rm -rf $(VENV) .govcat test-output
