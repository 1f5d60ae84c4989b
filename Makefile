# Two commands for a fresh machine:  make run  (install + index + chat UI)   make test  (install + tests)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_DISABLE_TELEMETRY := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: install run test test-fast index eval bench lint browser-deps clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned: pip takes the CPU build from this machine's disk (never the CUDA one)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

index: install
	$(BIN)/chatbot index

run: install
	$(BIN)/chatbot index
	$(BIN)/python app.py

browser-deps:
	@if [ ! -x "$${CHATBOT_CHROMIUM:-/usr/bin/chromium}" ]; then \
		echo "Installing Debian chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

test: install browser-deps
	$(BIN)/ruff check chatbot tests eval app.py
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not browser and not server and not slow"

eval: install
	$(BIN)/chatbot eval --out eval/reports/latest
	$(BIN)/chatbot eval --suite eval/docs --out eval/reports/suite

bench: install
	$(BIN)/python eval/bench_retrieval.py
	$(BIN)/python eval/bench_answer.py
	$(BIN)/python eval/bench_load.py --out eval/reports/load.json

lint: install
	$(BIN)/ruff check chatbot tests eval app.py
	$(BIN)/mypy

clean:
	rm -rf index/current index/builds data eval/reports
