# Lotsen: `make run` starts everything, `make test` checks everything. `make help` lists all.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
VENV_RASA := .venv-rasa
PY := $(VENV)/bin/python
RASA := $(VENV_RASA)/bin/rasa
MODEL := models/lotsen.tar.gz
WIDGET := bot/channels/widget/static/widget.js
WIDGET_SOURCES := widget/build.mjs $(wildcard widget/src/*)
TRAINING_INPUTS := config.yml domain.yml $(shell find data/nlu data/rules data/stories -name '*.yml' 2>/dev/null)

export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	@py=$$(scripts/find-python.sh 3.11) && rm -rf $(VENV) && "$$py" -m venv $(VENV)
	$(VENV)/bin/pip install -qq --upgrade pip
	$(VENV)/bin/pip install -qq -e '.[dev,translation]'
	@touch $@

$(VENV_RASA)/.installed: requirements-rasa.txt
	@py=$$(scripts/find-python.sh 3.10) && rm -rf $(VENV_RASA) && "$$py" -m venv $(VENV_RASA)
	$(VENV_RASA)/bin/pip install -qq --no-deps -r requirements-rasa.txt
	@touch $@

widget/node_modules/.installed: widget/package.json widget/package-lock.json
	cd widget && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(WIDGET): widget/node_modules/.installed $(WIDGET_SOURCES)
	cd widget && node build.mjs

.PHONY: widget
widget: $(WIDGET) ## Build the chat widget (widget/src/) into bot/channels/widget/static/
	@true

.PHONY: install
install: $(VENV)/.installed $(VENV_RASA)/.installed widget/node_modules/.installed $(WIDGET) ## Create both virtual environments and widget/node_modules, build the widget

.PHONY: browser
browser: ## Debian's Chromium for the browser tests (apt, only when missing)
	@scripts/install-browser.sh

.PHONY: nginx
nginx: ## Debian's nginx for the cluster and its test (apt, only when missing)
	@scripts/install-nginx.sh

.PHONY: cluster
cluster: install train nginx ## Production shape: nginx, 2 apps, 2 Rasa, 2 action servers on PostgreSQL + Redis
	@$(PY) -m bot.deploy cluster

.PHONY: db
db: $(VENV)/.installed ## Apply database migrations
	@. scripts/env.sh && $(VENV)/bin/lotsen db upgrade

.PHONY: demo
demo: db ## Example coordinator, cases with link codes and free appointment slots (once)
	@. scripts/env.sh && $(VENV)/bin/lotsen demo-data

.PHONY: domain
domain: $(VENV)/.installed ## Write domain.yml's responses from data/content/en
	@. scripts/env.sh && $(VENV)/bin/lotsen content sync-domain

.PHONY: train
train: install ## Train the model (Rasa skips it when data, domain and config are unchanged)
	@. scripts/env.sh && $(VENV)/bin/lotsen content sync-domain --check
	$(RASA) train --fixed-model-name lotsen --out models --data data/nlu data/rules data/stories

.PHONY: run
run: install db train ## Set up on first use, train if needed, start the whole system
	@. scripts/env.sh && echo && \
	  echo "Lotsen is starting (Ctrl-C stops it):" && \
	  echo "  demo page with the chat widget  $$LOTSEN_PUBLIC_URL/" && \
	  echo "  conversation API  $$LOTSEN_PUBLIC_URL/api/v1/conversations" && \
	  echo "  coordinator app   $$LOTSEN_PUBLIC_URL/coordinator/  (accounts: lotsen user create)" && \
	  echo "  example cases and free times for booking: make demo" && \
	  echo "  readiness         $$LOTSEN_PUBLIC_URL/readyz" && \
	  echo "  Rasa (local only) $$RASA_URL   action server (local only) $$ACTION_SERVER_URL" && echo
	$(VENV)/bin/honcho start -f Procfile

.PHONY: lint
lint: $(VENV)/.installed ## ruff and mypy
	$(VENV)/bin/ruff check bot actions tests bench scripts
	$(VENV)/bin/ruff format --check bot actions tests bench scripts
	$(VENV)/bin/mypy

.PHONY: validate
validate: install ## Rasa data validation, warnings are errors
	. scripts/env.sh && $(VENV)/bin/lotsen content sync-domain --check
	$(RASA) data validate --fail-on-warnings --data data/nlu data/rules data/stories

.PHONY: test-conversations
test-conversations: train ## Rasa conversation tests (tests/test_*.yml)
	$(RASA) test core --stories tests --fail-on-prediction-errors --out reports/rasa-core

.PHONY: nlu-eval
nlu-eval: install ## Cross-validate the NLU (15 min), then score the held-out set as deployed; reports/
	rm -rf reports/nlu-cv
	$(RASA) test nlu --nlu data/nlu --config config.yml --cross-validation --folds 5 \
	  --successes --out reports/nlu-cv
	$(PY) scripts/nlu_report.py cv --results reports/nlu-cv --nlu data/nlu --out reports
	@$(MAKE) --no-print-directory nlu-heldout

.PHONY: nlu-heldout
nlu-heldout: train ## Score the model on the independent held-out set (tests/nlu_heldout/) as deployed
	$(VENV_RASA)/bin/python scripts/nlu_parse.py --model $(MODEL) --data tests/nlu_heldout \
	  --out reports/nlu-heldout-parses.json
	$(PY) scripts/nlu_report.py heldout --parses reports/nlu-heldout-parses.json --out reports

.PHONY: test
test: ## Everything: lint, types, data validation, training, conversation tests, pytest
	@scripts/test-all.sh

.PHONY: bench
bench: install train ## Benchmarks (print their numbers)
	$(PY) -m bench.conversation_latency
	$(PY) -m bench.translation
	$(PY) -m bench.translated_conversations

.PHONY: clean
clean: ## Remove environments, models and local data
	rm -rf $(VENV) $(VENV_RASA) models var reports .rasa
