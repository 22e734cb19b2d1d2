# Airflow Data Platform: the table of contents. Every target delegates to a
# component's own Makefile or script; `make help` lists them.
SHELL := /bin/bash
include scripts/help.mk

.PHONY: build demo demo-stop test system-deps lint format dev-env base \
        platform-start platform-stop platform-status images images-push new-runtime \
        update-examples clean

build: ## Build layer1-airflow:<version> and :latest (settings: layer1-base-image/.env)
	$(MAKE) -C layer1-base-image build

demo: ## From nothing: image chain, a datakit, its Airflow stack running the example DAG
	scripts/demo

demo-stop: ## Stop the demo's Airflow stack and delete its database volume
	scripts/demo stop

test: system-deps lint ## Lint, then run every test (needs a Docker engine)
	.venv/bin/pytest $(PYTEST_ARGS)

system-deps: ## Install the Debian packages the tests use (KDC, PostgreSQL, ...)
	scripts/install-system-deps test

lint: dev-env ## ruff check, ruff format --check, the import contracts and mypy (no Docker)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports
	cd platform-cli && ../.venv/bin/mypy

format: dev-env ## Format the code with ruff
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

dev-env: ## Create/refresh .venv (the pinned uv, tools, every platform package)
	scripts/dev-env

base: ## Build the offline Debian + Python base image (debootstrap)
	scripts/build-debian-base

platform-start: ## Start the Kerberos ticket sharer (platform-bootstrap)
	$(MAKE) -C platform-bootstrap platform-start

platform-stop: ## Stop the platform services
	$(MAKE) -C platform-bootstrap platform-stop

platform-status: ## Show the platform services and the shared ticket
	$(MAKE) -C platform-bootstrap platform-status

images: ## Build every runtime-environments/<type> image in parallel
	$(MAKE) -C runtime-environments images

images-push: ## Push the runtime images to the configured registry
	$(MAKE) -C runtime-environments images-push

new-runtime: ## Scaffold runtime-environments/<NAME> (make new-runtime NAME=x)
	$(MAKE) -C runtime-environments new-runtime NAME=$(NAME)

update-examples: ## copier update every examples/<name> datakit to the template at HEAD
	scripts/update-examples

clean: ## Remove build contexts and the demo datakit
	$(MAKE) -C layer1-base-image clean
	rm -rf build
