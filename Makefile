# Immutable deployments on AWS, as a list of small steps.
#
#   NODE_ENV=dev01 make setup    once per environment: certificate, load balancer, DNS record, ssh key
#   NODE_ENV=dev01 make deploy   every release: bake images, new group, wait healthy, soak (SOAK_SECONDS), retire the old
#
# Every step is a target of its own and can run alone; `make help` lists them. Each target runs
# one script of scripts/ (a step: scripts/<target>.py, dashes as underscores; setup, deploy and
# rollback run their steps in one process through scripts/pipeline.py); the scripts share the
# core in scripts/core/. The local AWS that the demo, the bench and the tests run is emulator/.
# Settings: env/defaults.env < env/$(NODE_ENV).env < the environment; `make settings` lists them.

NODE_ENV ?= staging
export NODE_ENV

PYTHON3 ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# pytest-xdist workers, each with its own emulator and project copy: one more than the cores,
# since a worker often waits on make, packer or a poll. TESTS_REPLAY=0: no make run of the tests is
# replayed (see tests/conftest.py).
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
RUN := @$(PY) scripts

# Steps must run in the order written, even under `make -j`.
.NOTPARALLEL:
.DEFAULT_GOAL := help

help: ## list the targets
	@echo "usage: NODE_ENV=dev01 make <target>   (NODE_ENV defaults to staging)"
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  %-24s %s\n", $$1, $$2} /^##@/ {print substr($$0, 5)}' $(MAKEFILE_LIST)

##@ setup: once per environment, idempotent
SETUP_STEPS := preflight request-certificate create-security-groups create-load-balancer enable-draining \
               configure-health-check upsert-dns-record create-key-pair create-lock-table
setup: venv ## run every setup step, in this order:
	$(RUN)/pipeline.py setup $(SETUP_STEPS)
preflight: venv ## check zones, subnets, hosted zone, CERTIFICATE (and launch configurations) before creating anything
	$(RUN)/preflight.py
request-certificate: venv ## request the ACM certificate of $NODE_ENV.$TLD, validate it in the hosted zone, wait until ISSUED
	$(RUN)/request_certificate.py
create-security-groups: venv ## the network path: a load balancer group open on 80 and 443, an instance group open to it alone
	$(RUN)/create_security_groups.py
create-load-balancer: venv ## create elb-$APP_NAME-$NODE_ENV (HTTP 80, HTTPS 443) in its group: classic, or an ALB and target group
	$(RUN)/create_load_balancer.py
enable-draining: venv ## turn on connection draining (DRAINING_SECONDS; an ALB: the deregistration delay) and cross-zone
	$(RUN)/enable_draining.py
configure-health-check: venv ## set the health check HTTP:80/api/status/health
	$(RUN)/configure_health_check.py
upsert-dns-record: venv ## point the Route 53 ALIAS record $NODE_ENV.$TLD at the load balancer
	$(RUN)/upsert_dns_record.py
create-key-pair: venv ## make deploy/keys/$APP_NAME-$NODE_ENV and import it as a key pair
	$(RUN)/create_key_pair.py
create-lock-table: venv ## create the DynamoDB table that lets one deploy of an environment run at a time
	$(RUN)/create_lock_table.py

##@ deploy: every release, zero downtime
DEPLOY_STEPS := check-deploy build-app primal-image copy-over deployment-image lookup-asg \
                launch-asg wait-health soak cleanup-asgs cleanup-image
deploy: venv ## run every deploy step, in this order, holding the lock; roll back on failure (IMAGE_FROM=staging: staging's live image, no build, no bake):
	$(RUN)/pipeline.py deploy --lock --rollback $(DEPLOY_STEPS)
check-deploy: venv ## check setup ran, given images exist, packer validates the templates; pick the release stamp
	$(RUN)/check_deploy.py
primal-image: venv ## bake the primal base image, unless PRIMAL_ID is set or its inputs are unchanged
	$(RUN)/primal_image.py
build-app: venv ## build the app for NODE_ENV with BUILD_COMMAND into tmp/$NODE_ENV/build
	$(RUN)/build_app.py
copy-over: venv ## stage APP_FILES, the build and deploy/env/$NODE_ENV.json in tmp/$NODE_ENV/appserver
	$(RUN)/copy_over.py
deployment-image: venv ## bake the carnivore app image from primal, unless IMAGE_ID is set or its inputs are unchanged
	$(RUN)/deployment_image.py
lookup-asg: venv ## record this environment's existing groups (by tags) as outdated; carry their capacity over
	$(RUN)/lookup_asg.py
launch-asg: venv ## create a launch template (or configuration) and the group asg-$APP_NAME-$NODE_ENV-<stamp>
	$(RUN)/launch_asg.py
wait-health: venv ## wait until the new group is healthy in the group and at the load balancer, following replacements
	$(RUN)/wait_health.py
soak: venv ## SOAK_SECONDS: the new group serves alone, the old kept warm; back to them at once if it fails
	$(RUN)/soak.py
cleanup-asgs: venv ## once the new group serves as many: drain, scale to 0 and delete the outdated groups
	$(RUN)/cleanup_asgs.py
cleanup-image: venv ## remove old app images and snapshots; keep live and rollback ones
	$(RUN)/cleanup_image.py

##@ rollback: put the previous release back, through the same safe path
ROLLBACK_STEPS := previous-release lookup-asg launch-asg wait-health soak cleanup-asgs cleanup-image
rollback: venv ## launch the previous release's image again (no bake), in this order:
	$(RUN)/pipeline.py rollback --lock --rollback $(ROLLBACK_STEPS)
previous-release: venv ## start a release of the previous release's image
	$(RUN)/previous_release.py
unlock: venv ## break a deploy lock older than LOCK_TIMEOUT (its deploy died)
	$(RUN)/unlock.py

##@ before a run
TARGET ?=
plan: venv ## what setup, then deploy, would change now (TARGET=setup|deploy|rollback|destroy: one); changes nothing; exit 2: changes
	$(RUN)/plan.py $(or $(TARGET),setup deploy) --setup "$(SETUP_STEPS)" --deploy "$(DEPLOY_STEPS)" --rollback "$(ROLLBACK_STEPS)"

##@ permissions
iam-policy: venv ## write deploy/iam/$APP_NAME-$NODE_ENV-{setup,deploy,bake,read}.json: all its deployer needs
	$(RUN)/iam_policy.py

##@ operations and the local demo
settings: venv ## every setting's value for NODE_ENV, where it came from, and its help
	$(RUN)/settings.py
status: venv ## one environment at a glance, from AWS: load balancer, record, groups, images, live release, lock
	$(RUN)/status.py
history: venv ## the releases of NODE_ENV from the history kept in AWS: outcome, image, who and when
	$(RUN)/history.py
destroy: venv ## remove everything of one environment, after typing its name (or with CONFIRM=yes)
	$(RUN)/destroy.py
demo: dev ## setup and two deploys of the example app on a local AWS emulator: no account needed
	$(RUN)/demo.py
EMULATOR_PORT ?= 4566
emulator: dev ## the local AWS (emulator/) in the foreground, with the demo's hosted zone: says what to export
	@$(PY) -m emulator --port $(EMULATOR_PORT) --hosted-zone $(shell sed -n 's/^TLD=//p' env/demo.env)
HEALTH ?= fail
export HEALTH
emulator-health: venv ## on the local AWS: NODE_ENV's next release fails its health check (HEALTH=fail), its soak (sour), or not (ok)
	$(RUN)/emulator_health.py
bench: dev ## time setup and deploys on the emulator and count their API calls (prints a table)
	$(RUN)/bench.py

##@ development
test: dev lint ## run the test suite against the local AWS emulator and the real packer
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist worksteal tests
test-fast: dev lint ## the tests that run no make target: settings, layout, polling, the emulator and IAM, the policies
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist worksteal -m "not end_to_end" tests
lint: dev ## check the code with ruff
	$(VENV)/bin/ruff check scripts emulator tests

# The virtualenv installs itself from the requirements on first use, byte-compiled at install:
# with PYTHONDONTWRITEBYTECODE set (as on this workplace's machines) nothing is compiled later,
# and every step would compile boto3 and moto again. compileall does it on every core (pip: on one).
PIP_INSTALL := $(PY) -m pip install -q --disable-pip-version-check --no-compile
COMPILE := $(PY) -m compileall -q -j 0 $(VENV)/lib
venv: $(VENV)/.runtime
dev: $(VENV)/.dev
$(VENV)/.runtime: requirements.txt
	@test -x $(PY) || { echo "creating the virtualenv $(VENV) (once)..."; $(PYTHON3) -m venv $(VENV); }
	@echo "installing requirements.txt into $(VENV) (on first use and when it changes; about a minute)..."
	@$(PIP_INSTALL) -r requirements.txt
	@$(COMPILE)
	@touch $@
$(VENV)/.dev: requirements.txt requirements-dev.txt
	@test -x $(PY) || { echo "creating the virtualenv $(VENV) (once)..."; $(PYTHON3) -m venv $(VENV); }
	@echo "installing requirements-dev.txt into $(VENV) (on first use and when it changes; about a minute)..."
	@$(PIP_INSTALL) -r requirements-dev.txt
	@$(COMPILE)
	@touch $@ $(VENV)/.runtime

.PHONY: help setup $(SETUP_STEPS) deploy $(DEPLOY_STEPS) rollback previous-release unlock plan iam-policy settings status history destroy demo emulator emulator-health bench \
        test test-fast lint venv dev
