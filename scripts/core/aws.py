"""AWS clients for every step: one session, explicit retries, every call kept in the run's record.

The clients are botocore's, the core of boto3 (boto3.client hands out the same clients; importing
boto3 itself loads its S3 transfer manager too, a tenth of a step's start). Credentials and endpoint
come from its own chain (profiles, SSO, AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>). The region
is AWS_REGION, then AWS_DEFAULT_REGION, then the profile's, as the AWS CLI v2 reads them (botocore
alone reads only AWS_DEFAULT_REGION and the profile).
Retries are botocore's `standard` mode with up to DEFAULT_MAX_ATTEMPTS attempts, unless the user's
AWS_RETRY_MODE / AWS_MAX_ATTEMPTS (or the profile's retry_mode / max_attempts) say otherwise.
"""

import os
import time
from collections.abc import Callable

import botocore.exceptions
import botocore.session
from botocore.config import Config
from botocore.retries.standard import ThrottledRetryableChecker

from .record import Record

# Older botocore defaults to `legacy` retries: ask for `standard` (throttling and 5xx are retried
# with backoff) and allow more attempts than its 3, unless the user chose.
DEFAULT_MAX_ATTEMPTS = 10

# Classic ELB canonical hosted zone ids, published per region, for when DescribeLoadBalancers
# does not return one (the ALIAS record needs it).
ELB_HOSTED_ZONE_IDS = {
    "us-east-1": "Z35SXDOTRQ7X7K", "us-east-2": "Z3AADJGX6KTTL2", "us-west-1": "Z368ELLRRE2KJ0",
    "us-west-2": "Z1H1FL5HABSF5", "ca-central-1": "ZQSVJUPU6J1EY", "eu-west-1": "Z32O12XQLNTSW2",
    "eu-west-2": "ZHURV8PSTC4K8", "eu-west-3": "Z3Q77PNBQS71R4", "eu-central-1": "Z215JYRZR1TBD5",
    "eu-north-1": "Z23TAZ7KFP1KRY", "ap-south-1": "ZP97RAFLXTNZK", "ap-northeast-1": "Z14GRHDCWA56QT",
    "ap-northeast-2": "ZWKZPGTI48KDX", "ap-southeast-1": "Z1LMS91P8CMLE5",
    "ap-southeast-2": "Z1GM3OXH4ZPM65", "sa-east-1": "Z2P70J7HTTTPLU",
}

class Aws:
    """botocore clients sharing one session; each call, with its parameters and its response or error,
    goes to the run's record (none for a read-only run)."""

    def __init__(self, record: Record | None, warn: Callable[[str], None] = lambda line: None):
        self.session = botocore.session.get_session()
        retries = {}
        if not (os.environ.get("AWS_RETRY_MODE") or self.session.get_scoped_config().get("retry_mode")):
            retries["mode"] = "standard"
        self.attempts = self.session.get_config_variable("max_attempts")
        if self.attempts is None:
            retries["total_max_attempts"] = self.attempts = DEFAULT_MAX_ATTEMPTS
        self.config = Config(retries=retries, connect_timeout=10, read_timeout=60)
        if os.environ.get("AWS_REGION"):
            self.session.set_config_variable("region", os.environ["AWS_REGION"])
        self.record = record
        self.warn = warn
        self._clients = {}

    @property
    def region(self) -> str | None:
        return self.session.get_config_variable("region")

    def client(self, service: str):
        if service not in self._clients:
            client = self.session.create_client(service, config=self.config)
            client.meta.events.register("needs-retry.*.*", self._unreachable)
            if self.record:
                client.meta.events.register("before-parameter-build.*.*", _keep_params)
                client.meta.events.register("after-call.*.*", self._keep_response)
                client.meta.events.register("after-call-error.*.*", self._keep_failure)
            self._clients[service] = client
        return self._clients[service]

    def _unreachable(self, attempts, caught_exception=None, **_):
        """Said at the first connection that fails, not after botocore's last retry (12 s later)."""
        unreachable = (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError)
        if attempts == 1 and int(self.attempts) > 1 and isinstance(caught_exception, unreachable):
            where = os.environ.get("AWS_ENDPOINT_URL") or "AWS"
            self.warn(f"{where} does not answer ({caught_exception}); trying again for a few seconds...")

    def _keep_response(self, parsed, context, **_):
        body = {k: v for k, v in parsed.items() if k != "ResponseMetadata"}
        self.record.call(*context["call"], {"error": body["Error"]} if "Error" in body else {"response": body})

    def _keep_failure(self, exception, context, **_):
        """A call that got no answer (connection refused, time-out), after botocore's retries."""
        self.record.call(*context["call"], {"error": {"Code": type(exception).__name__, "Message": str(exception)}})


def _keep_params(params, model, context, **_):
    context["call"] = (model.service_model.service_name, model.name, dict(params))


def throttled(response: dict) -> str | None:
    """The error code of a response that says AWS throttled the call (after botocore's retries)."""
    code = response.get("Error", {}).get("Code")
    return code if code in ThrottledRetryableChecker._THROTTLED_ERROR_CODES else None


def search(client, operation: str, query: str, **params) -> list:
    """Every page of `operation`, reduced by the JMESPath `query` (paginators, not loops by hand)."""
    return list(client.get_paginator(operation).paginate(**params).search(query))


def wait(client, waiter: str, *, timeout: float, interval: float, say: Callable[[str], None],
         progress: Callable[[dict], str | None], **params) -> None:
    """botocore's waiter `waiter`, asking every `interval` seconds for at most `timeout` seconds;
    every answer gets a progress line: `progress(parsed)` (what is awaited, and its state; None:
    no line) and the time waited so far."""
    found, started = client.get_waiter(waiter), time.monotonic()
    event = f"after-call.*.{found.config.operation}"

    def line(parsed, **_):
        text = progress(parsed)
        if text:
            say(f"{text} [{time.monotonic() - started:.0f}s]")

    client.meta.events.register(event, line, unique_id="progress")
    try:
        found.wait(**params, WaiterConfig={"Delay": interval, "MaxAttempts": max(1, int(timeout // interval))})
    finally:
        client.meta.events.unregister(event, unique_id="progress")


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def tag_filters(tags: dict[str, str]) -> list[dict]:
    """Describe filters that match resources carrying every one of `tags`."""
    return [{"Name": f"tag:{key}", "Values": [value]} for key, value in tags.items()]


def tag_value(resource: dict, key: str) -> str | None:
    """The value of a resource's tag `key` (as Describe calls give tags: a list of Key and Value)."""
    return next((tag["Value"] for tag in resource.get("Tags") or [] if tag["Key"] == key), None)
