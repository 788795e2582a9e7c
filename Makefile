# Immutable deployments on AWS, as a list of small steps.
#
#   NODE_ENV=dev01 make setup    once per environment: load balancer, DNS record, ssh key
#   NODE_ENV=dev01 make deploy   every release: bake images, new group, wait healthy, retire the old
#
# Every step is a target of its own and can run alone; `make help` lists them.
# Settings: env/defaults.env < env/$(NODE_ENV).env < the environment (see README.md).

NODE_ENV ?= staging
export NODE_ENV

PYTHON3 ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUN := @$(PY) scripts

# Steps must run in the order written, even under `make -j`.
.NOTPARALLEL:
.DEFAULT_GOAL := help

help: ## list the targets
	@echo "usage: NODE_ENV=dev01 make <target>   (NODE_ENV defaults to staging)"
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  %-16s %s\n", $$1, $$2} /^##@/ {print substr($$0, 5)}' $(MAKEFILE_LIST)

##@ setup: once per environment, idempotent
setup: preflight create-elb enable-draining health-check dns-record key-pair ## run every setup step in order
	@echo "setup: done."
preflight: venv ## check region, zones and the Route 53 hosted zone before creating anything
	$(RUN)/preflight.py
create-elb: venv ## create the classic load balancer elb-$APP_NAME-$NODE_ENV (HTTP 80)
	$(RUN)/create_load_balancer.py
enable-draining: venv ## turn on connection draining (300 s)
	$(RUN)/enable_draining.py
health-check: venv ## configure the health check HTTP:80/api/status/health
	$(RUN)/configure_health_check.py
dns-record: venv ## upsert the Route 53 ALIAS record $NODE_ENV.$TLD to the load balancer
	$(RUN)/upsert_dns_record.py
key-pair: venv ## create deploy/keys/$APP_NAME-$NODE_ENV and import it as a key pair
	$(RUN)/create_key_pair.py

##@ development
test: dev lint ## run the test suite against the local AWS emulator and the real packer
	$(PY) -m pytest -q tests
lint: dev ## check the code with ruff
	$(VENV)/bin/ruff check scripts tests

# The virtualenv installs itself from the requirements on first use.
venv: $(VENV)/.runtime
dev: $(VENV)/.dev
$(VENV)/.runtime: requirements.txt
	@test -x $(PY) || $(PYTHON3) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@touch $@
$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

.PHONY: help setup preflight create-elb enable-draining health-check dns-record key-pair test lint venv dev
