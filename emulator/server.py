"""The emulator's server: moto's WSGI app on a loopback port (a threaded werkzeug server, as moto's
ThreadedMotoServer runs it), with a middleware in front that records every call, injects faults and
checks the calls of registered principals against their IAM policies (iam.py).

    python -m emulator --port 0   # prints EMULATOR_URL=http://127.0.0.1:PORT, serves until SIGTERM
"""

import argparse
import io
import json
import pickle
import re
import signal
import socket
import sys
import threading
import time
from functools import cache
from typing import NamedTuple
from urllib.parse import parse_qs, unquote
from xml.sax.saxutils import escape

import boto3
import botocore.exceptions
import botocore.session
import moto.core.responses
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.backends import get_backend
from moto.core.base_backend import BackendDict
from moto.elb.models import ELBBackend, elb_backends
from moto.elbv2.models import elbv2_backends
from moto.moto_api._internal import moto_api_backend
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    create_backend_app,
)
from werkzeug.serving import WSGIRequestHandler, make_server

from .certificates import Dns
from .corrections import READ_ONLY_PREFIXES, install_corrections, instance_health, target_health
from .health import HealthScript
from .iam import JSON_SERVICES, Iam, Request


def _private_key(pem: bytes) -> rsa.RSAPrivateKey:
    return serialization.load_pem_private_key(pem, None, unsafe_skip_rsa_key_validation=True)


def _certificate(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


class _Pickler(pickle.Pickler):
    """Pickles what moto holds: a service's BackendDict by its name (it is the one module-level dict
    that moto's code finds it by: a snapshot holds what it holds, never a copy of it), RSA keys and
    certificates as PEM."""

    def reducer_override(self, obj):
        if isinstance(obj, BackendDict):
            return get_backend, (obj.service_name,)
        if isinstance(obj, rsa.RSAPrivateKey):
            return _private_key, (obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()),)
        if isinstance(obj, x509.Certificate):
            return _certificate, (obj.public_bytes(serialization.Encoding.PEM),)
        return NotImplemented


# The action methods of a response class never change; moto lists them anew, with inspect, for every
# request (about a millisecond: a tenth of the emulator's time per request).
moto.core.responses.method_names_from_class = cache(moto.core.responses.method_names_from_class)


class Call(NamedTuple):
    service: str  # the signing name, e.g. "autoscaling", "ec2", "elasticloadbalancing", "route53"
    action: str   # the API operation, e.g. "CreateAutoScalingGroup"


# The reads whose answers change what moto holds: ACM's count toward a certificate's issue (14).
CHANGING_READS = {Call("acm", "DescribeCertificate")}



@cache
def _rest_routes(service: str) -> tuple:
    """(method, path regex, required query keys, literal length, operation) from botocore's model."""
    try:
        model = botocore.session.get_session().get_service_model(service)
    except botocore.exceptions.DataNotFoundError:  # not a service botocore knows
        return ()
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri, _, query = http["requestUri"].partition("?")
        parts = re.split(r"(\{[^}]+\})", uri.rstrip("/"))
        regex = "".join((".+" if p.endswith("+}") else "[^/]+") if p.startswith("{") else re.escape(p)
                        for p in parts)
        keys = tuple(k.split("=")[0] for k in query.split("&") if k)
        literal = sum(len(p) for p in parts if not p.startswith("{"))
        routes.append((http["method"], re.compile(regex + "/?$"), keys, literal, name))
    return tuple(routes)


def _rest_action(service: str, method: str, path: str, query: dict) -> str:
    """The operation of a REST request (Route 53, S3...): the most specific matching route."""
    matches = [(len(keys), literal, name) for m, regex, keys, literal, name in _rest_routes(service)
               if m == method and regex.match(path) and all(k in query for k in keys)]
    return max(matches)[2] if matches else f"{method} {path}"


SCOPE = re.compile(r"Credential=([^/\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")  # key/date/region/service


def credential_scope(environ: dict) -> tuple[str, str, str]:
    """(access key id, region, service) of the request's signature (header or presigned query)."""
    signature = unquote(environ.get("HTTP_AUTHORIZATION", "") + " " + environ.get("QUERY_STRING", ""))
    scope = SCOPE.search(signature)
    return scope.groups() if scope else ("", "", "unknown")


def request_body(environ: dict) -> bytes:
    """The request's body, read once and put back (as a fresh stream) for moto to read whole."""
    if "emulator.body" not in environ:
        length = environ.get("CONTENT_LENGTH")
        body = environ["wsgi.input"].read(int(length)) if length else (
            environ["wsgi.input"].read() if environ.get("wsgi.input_terminated") else b"")
        environ["emulator.body"] = body
    body = environ["emulator.body"]
    environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
    return body


def _form(environ: dict) -> dict[str, list[str]]:
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return {}
    return parse_qs(request_body(environ).decode("utf-8", "replace"), keep_blank_values=True)


def request_parameters(environ: dict) -> dict:
    """The parameters of a query-protocol request (query string and form body, first value each),
    the JSON body of a JSON-protocol one; {} for REST requests (their parameters are in the path)."""
    if environ.get("HTTP_X_AMZ_TARGET"):
        body = request_body(environ)
        try:
            return json.loads(body) if body else {}
        except ValueError:
            return {}
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    return {key: values[0] for key, values in {**query, **_form(environ)}.items()}


def identify(environ: dict) -> Call:
    """The service (credential scope of the signature) and action of one request."""
    service = credential_scope(environ)[2]
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if environ.get("HTTP_X_AMZ_TARGET"):  # JSON protocol: "DynamoDB_20120810.PutItem"
        return Call(service, environ["HTTP_X_AMZ_TARGET"].rsplit(".", 1)[-1])
    action = query.get("Action") or _form(environ).get("Action")
    if action:
        return Call(service, action[0])
    return Call(service, _rest_action(service, environ.get("REQUEST_METHOD", "GET"),
                                      environ.get("PATH_INFO", "/"), query))


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # no access log line per AWS call
        pass


class Faults:
    """Scripted AWS trouble in front of moto: errors (throttling, 5xx) and delays. A faulted request
    never reaches moto, so a retried call acts once, as a throttled call on AWS does."""

    def __init__(self) -> None:
        self._rules: list[dict] = []

    def add(self, *, service: str | None = None, action: str | None = None, code: str = "Throttling",
            status: int = 400, every: int = 1, times: int | None = None, delay: float = 0.0,
            lag: float = 0.0, packer: bool = False) -> None:
        """Fail (or, with code=None, delay) every `every`-th matching request of the tool's own
        (botocore) clients, or with `packer` of Packer's (its Go SDK), at most `times` times; a
        delayed answer holds up no other request (a slow call on AWS does not). `lag`: every
        matching request is carried out that many seconds after it came, and requests that come
        meanwhile go first (as AWS still carries out a call whose caller stopped waiting for it)."""
        self._rules.append({"service": service, "action": action, "code": code, "status": status,
                            "every": every, "times": times, "delay": delay, "lag": lag, "seen": 0, "fired": 0,
                            "packer": packer})

    def _matching(self, call: Call, environ: dict) -> list[dict]:
        from_packer = "Botocore" not in environ.get("HTTP_USER_AGENT", "")
        return [rule for rule in list(self._rules) if rule["packer"] == from_packer
                and rule["service"] in (None, call.service) and rule["action"] in (None, call.action)]

    def lag(self, call: Call, environ: dict) -> float:
        return max((rule["lag"] for rule in self._matching(call, environ)), default=0.0)

    def clear(self) -> None:
        self._rules.clear()

    @property
    def fired(self) -> int:
        return sum(rule["fired"] for rule in self._rules)

    def strike(self, call: Call, environ: dict) -> tuple[dict | None, float]:
        """The rule whose error hits this request, if any, and how long its answer is delayed."""
        delay = 0.0
        for rule in self._matching(call, environ):
            rule["seen"] += 1
            if rule["seen"] % rule["every"] or (rule["times"] is not None and rule["fired"] >= rule["times"]):
                continue
            rule["fired"] += 1
            delay += rule["delay"]
            if rule["code"]:
                return rule, delay
        return None, delay


def error_response(call: Call, code: str, status: int, start_response, message: str = "") -> list[bytes]:
    """An AWS error in the protocol of the service (EC2 query, other query/REST XML, JSON); the
    message of a throttling or a 5xx unless one is given."""
    message = message or ("Rate exceeded" if status < 500 else "We encountered an internal error. Please try again.")
    if call.service in JSON_SERVICES:
        body, kind = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}), \
            "application/x-amz-json-1.0"
    elif call.service == "ec2":
        message = escape(message)
        body, kind = (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
                      "<RequestID>fault</RequestID></Response>"), "text/xml"
    else:
        message = escape(message)
        body, kind = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
                      "</Error><RequestId>fault</RequestId></ErrorResponse>"), "text/xml"
    start_response(f"{status} Error", [("Content-Type", kind), ("Content-Length", str(len(body)))])
    return [body.encode()]


class Emulator:
    """moto on a loopback port, corrected to behave like AWS, with a log of the calls it served."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self.url = ""
        self.calls: list[Call] = []
        self.health = HealthScript()
        self.faults = Faults()
        self.iam = Iam()
        self.dns = Dns()
        self._history: dict[str, list[int]] = {}
        self._tg_history: dict[str, list[int]] = {}
        self._lock = threading.RLock()  # one request at a time: moto is not thread-safe
        self.changes = 0  # changing requests served, resets and restores: see mark()
        self._app = DomainDispatcherApplication(create_backend_app)
        # Which backend serves a host never changes; moto works it out anew for every request
        # (about 3 ms: a tenth of the suite's emulator time).
        self._app.get_backend_for_host = cache(self._app.get_backend_for_host)
        self._server = self._thread = None

    def start(self) -> "Emulator":
        install_corrections()
        ELBBackend.__dict__["_emulators_running"].append(self)
        self._server = make_server(self.host, self.port, self._wsgi, threaded=True,
                                   request_handler=_QuietHandler)
        self.port = self._server.server_address[1]
        self.url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._thread.join()
            self._server.server_close()
            self._server = None
        running = ELBBackend.__dict__.get("_emulators_running", [])
        if self in running:
            running.remove(self)

    def reset(self) -> None:
        """Empty every moto backend (the service-linked roles too), the call log, the health
        script, the faults, the registered principals and their checks, the undelegated zones, and
        the load balancer and target group histories."""
        with self._lock:
            moto_api_backend.reset()
            self._forget()

    def snapshot(self) -> bytes:
        """Everything the emulator holds, pickled: moto's backends, the call log, the health script,
        the faults, the principals and their checks, DNS and the load balancer histories.
        restore() brings it back, as often as wanted, in this process or another."""
        with self._lock:
            buffer = io.BytesIO()
            _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(self._state())
            return buffer.getvalue()

    def restore(self, snapshot: bytes) -> None:
        """Hold again what the emulator held when `snapshot` was taken. As moto's own reset, every
        backend loaded since is dropped."""
        with self._lock:
            backends, *held = pickle.loads(snapshot)
            for loaded in BackendDict._instances:
                dict.clear(loaded)
            BackendDict._instances[:] = [backend_dict for backend_dict, _ in backends]
            for backend_dict, accounts in backends:
                dict.update(backend_dict, accounts)
            for live, saved in zip(self._state()[1:], held, strict=True):  # in place: held elsewhere too
                if isinstance(live, (list, dict)):
                    live.clear()
                    (live.extend if isinstance(live, list) else live.update)(saved)
                else:
                    vars(live).clear()
                    vars(live).update(vars(saved))
            self.changes += 1

    def _state(self) -> tuple:
        return ([(backend_dict, dict(backend_dict)) for backend_dict in BackendDict._instances], self.calls,
                self.health, self.faults, self.iam, self.dns, self._history, self._tg_history)

    def mark(self) -> tuple:
        """What differs whenever the emulator's state may: the requests served that may change it
        (all but reads: CHANGING_READS are not), resets and restores since it started, and what the
        health script (which counts the reads that observe health), the faults, DNS and the
        principals hold. The call log and the IAM checks are not in it."""
        with self._lock:
            return self.changes, repr(vars(self.health)), repr(vars(self.faults)), repr(vars(self.dns)), \
                repr(self.iam.principals())

    def _forget(self) -> None:
        self.changes += 1
        self.calls.clear()
        self.health.clear()
        self.faults.clear()
        self.iam.clear()
        self.dns.clear()
        self._history.clear()
        self._tg_history.clear()

    def mutating_calls(self) -> list[Call]:
        return [c for c in self.calls if not c.action.startswith(READ_ONLY_PREFIXES)]

    def lb_inservice_history(self, lb_name: str) -> list[int]:
        return list(self._history.get(lb_name, []))

    def tg_healthy_history(self, target_group_name: str) -> list[int]:
        """The number of healthy targets of the target group after every mutating call since it exists."""
        return list(self._tg_history.get(target_group_name, []))

    def _record_lb_counts(self) -> None:
        for account in dict.values(elb_backends):
            for backend in dict.values(account):
                for lb in backend.load_balancers.values():
                    states = instance_health(backend, lb.name, [], observe=False)
                    count = sum(s["State"] == "InService" for s in states)
                    self._history.setdefault(lb.name, []).append(count)
        for account in dict.values(elbv2_backends):
            for backend in dict.values(account):
                for tg in backend.target_groups.values():
                    health = target_health(backend, tg, [], observe=False)
                    count = sum(d["TargetHealth"]["State"] == "healthy" for d in health)
                    self._tg_history.setdefault(tg.name, []).append(count)

    def _script_health(self, environ, start_response) -> list[bytes]:
        """POST /emulator/health {"group_prefix": "asg-app-demo-", "health": "fail" | "sour" | "ok"}:
        the groups of that prefix launched from now on never pass their health check (fail), pass
        it and turn bad a few answers later (sour), or are healthy (ok: the script is cleared)."""
        try:
            asked = json.loads(request_body(environ) or b"{}")
            prefix, health = str(asked["group_prefix"]), asked["health"]
            if health not in HEALTHS or not prefix:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            body, status = b'{"error": "give group_prefix and health: fail, sour or ok"}', "400 Bad Request"
        else:
            with self._lock:
                self.changes += 1
                if health == "ok":
                    self.health.clear()
                else:
                    self.health.set(prefix, **HEALTHS[health])
            body, status = json.dumps({"group_prefix": prefix, "health": health}).encode(), "200 OK"
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def _wsgi(self, environ, start_response):
        if environ.get("PATH_INFO", "") == HEALTH_PATH and environ.get("REQUEST_METHOD") == "POST":
            return self._script_health(environ, start_response)
        if environ.get("PATH_INFO", "").startswith("/moto-api/"):
            with self._lock:
                self.changes += 1
                body = list(self._app(environ, start_response))
                if environ["PATH_INFO"].rstrip("/") == "/moto-api/reset" and environ["REQUEST_METHOD"] == "POST":
                    self._forget()
                return body
        call = identify(environ)
        time.sleep(self.faults.lag(call, environ))
        with self._lock:
            fault, delay = self.faults.strike(call, environ)
            body = self._answer(call, fault, environ, start_response)
        time.sleep(delay)  # a slow answer, while the emulator serves others
        return body

    def _answer(self, call: Call, fault: dict | None, environ, start_response) -> list[bytes]:
        self.calls.append(call)
        if not call.action.startswith(READ_ONLY_PREFIXES) or call in CHANGING_READS:
            self.changes += 1
        if fault:
            return error_response(call, fault["code"], fault["status"], start_response)
        access_key, region, _ = credential_scope(environ)
        request = Request(access_key, region, request_parameters(environ), environ.get("PATH_INFO", ""),
                          request_body(environ))
        denied = self.iam.authorize(call.service, call.action, request)
        if denied:
            return error_response(call, denied.code, denied.status, start_response, denied.message)
        body = list(self._app(environ, start_response))
        if not call.action.startswith(READ_ONLY_PREFIXES):
            self._record_lb_counts()
        return body


HEALTH_PATH = "/emulator/health"  # how `make emulator-health` scripts a release's health
SOURING_AFTER = 6  # good answers at the load balancer before a "sour" release turns bad: a soak sees it
HEALTHS = {"fail": {"never": True}, "sour": {"good_polls": SOURING_AFTER}, "ok": {}}
REGION, KEY = "us-east-1", "testing"  # the emulator takes any key; the region of the tests and the demo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the corrected AWS emulator until SIGTERM/SIGINT.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--hosted-zone", help="create this public hosted zone, and say how to drive make against it")
    args = parser.parse_args(argv)
    # A flag, not a threading.Event: Event.set() takes a lock, and a second signal arriving while
    # the first one's set() holds it (make forwards SIGTERM to its child) would deadlock the handler.
    stopping = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.append(True))
    with socket.socket() as probe:  # werkzeug would say it in two lines of its own, and exit
        try:
            probe.bind((args.host, args.port))
        except OSError as error:
            print(f"emulator: cannot serve on {args.host}:{args.port} ({error.strerror}): choose another port, "
                  f"e.g. `make emulator EMULATOR_PORT={args.port + 1}`", file=sys.stderr)
            return 1
    emulator = Emulator(args.host, args.port).start()
    print(f"EMULATOR_URL={emulator.url}", flush=True)
    if args.hosted_zone:
        boto3.client("route53", endpoint_url=emulator.url, region_name=REGION, aws_access_key_id=KEY,
                     aws_secret_access_key=KEY).create_hosted_zone(Name=args.hosted_zone, CallerReference="emulator")
        print(f"# The local AWS is up, with the hosted zone {args.hosted_zone}; Ctrl-C stops it (and forgets "
              "everything in it). In another shell:\n"
              f"export AWS_ENDPOINT_URL={emulator.url} AWS_ACCESS_KEY_ID={KEY} AWS_SECRET_ACCESS_KEY={KEY} "
              f"AWS_REGION={REGION}\n"
              "NODE_ENV=demo make setup deploy status", flush=True)
    while not stopping:
        time.sleep(0.2)
    emulator.stop()
    return 0

