"""The example app: a dependency-free web server (Python 3 standard library only).

    GET /                   the page app/build.py rendered into app/dist/ (names NODE_ENV and version)
    GET /api/status/health  200 {"status": "ok"}: what the load balancer's health check asks

Behind a load balancer that says a request came over plain HTTP (X-Forwarded-Proto: http), every
path but the health check answers 301 to the same URL over HTTPS: a classic load balancer cannot
redirect itself (an application load balancer's HTTP listener does, before the app sees it).

It runs from its install dir (the repo, or /opt/app in a carnivore image, laid out the same way:
app/server.py, app/dist/). Its environment and settings ({"port": 80, "greeting": "..."}) come,
at start:
- on an instance the tool launched: from the instance's user data, {"NODE_ENV": ..., "config":
  {...}}, which the launch template carries (the deploy puts deploy/env/$NODE_ENV.json there), read
  over IMDSv2 (a session token first: the launch template requires it). So one image serves every
  environment, and a change of config alone needs no new image;
- run by hand (NODE_ENV set): from deploy/env/$NODE_ENV.json in the install dir;
- APP_USER_DATA, when set: that text stands for the user data (the bake's health check).
PORT, when set, overrides the configured port (handy locally, where port 80 needs root).

    NODE_ENV=dev01 PORT=8080 python3 app/server.py
"""
from __future__ import annotations

import html
import json
import os
import re
import signal
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the install dir
DIST = ROOT / "app" / "dist"
SAFE_NODE_ENV = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
HOST = re.compile(r"[A-Za-z0-9.-]{1,253}")  # a host name to redirect to (no port, no user part)
HEALTH_PATH = "/api/status/health"
IMDS = os.environ.get("IMDS_ENDPOINT") or "http://169.254.169.254"  # the instance metadata service


class ConfigError(Exception):
    """Missing or unusable settings; the message says what to fix."""


def load_config(node_env: str) -> dict:
    if not SAFE_NODE_ENV.fullmatch(node_env):
        raise ConfigError(f"NODE_ENV={node_env!r} is not a plain name (letters, digits, - and _)")
    path = ROOT / "deploy" / "env" / f"{node_env}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no settings for NODE_ENV={node_env}: create {path}") from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path} is not valid JSON: {error}") from None


def user_data() -> str:
    """The instance's user data, over IMDSv2: a session token (PUT), then the data with it."""
    token = urllib.request.Request(f"{IMDS}/latest/api/token", method="PUT",
                                   headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
    try:
        with urllib.request.urlopen(token, timeout=2) as answer:
            session = answer.read().decode()
        data = urllib.request.Request(f"{IMDS}/latest/user-data", headers={"X-aws-ec2-metadata-token": session})
        with urllib.request.urlopen(data, timeout=2) as answer:
            return answer.read().decode()
    except (urllib.error.URLError, OSError) as error:
        raise ConfigError(f"no NODE_ENV given and no user data from the instance metadata service ({error}): "
                          "set NODE_ENV to run by hand") from None


def environment() -> tuple[str, dict]:
    """(NODE_ENV, its settings): see the module's docstring for where they come from."""
    given = os.environ.get("APP_USER_DATA")
    if os.environ.get("NODE_ENV") and not given:
        return os.environ["NODE_ENV"], load_config(os.environ["NODE_ENV"])
    try:
        data = json.loads(given or user_data())
        node_env, config = data["NODE_ENV"], data["config"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise ConfigError('the user data is not {"NODE_ENV": ..., "config": {...}}') from None
    if not isinstance(node_env, str) or not SAFE_NODE_ENV.fullmatch(node_env) or not isinstance(config, dict):
        raise ConfigError('the user data is not {"NODE_ENV": <a plain name>, "config": {...}}')
    return node_env, config


def render_page(node_env: str, version: str, greeting: str) -> str:
    node_env, version, greeting = (html.escape(text) for text in (node_env, version, greeting))
    return (
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>" + greeting + "</title></head>\n"
        f"<body><h1>{greeting}</h1><p>environment: <b>{node_env}</b>, version: <b>{version}</b></p></body></html>\n"
    )


def built_page(node_env: str, config: dict) -> bytes:
    """The page, with the version app/dist/ was built as ("unbuilt" without a build): the build is
    every environment's, the environment and its greeting are filled in here."""
    try:
        version = json.loads((DIST / "version.json").read_text(encoding="utf-8"))["version"]
    except FileNotFoundError:
        version = "unbuilt"
    return render_page(node_env, version, config.get("greeting", "Hello")).encode()


class Handler(BaseHTTPRequestHandler):
    page = b""
    server_version = "example-app"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path != HEALTH_PATH and self.headers.get("X-Forwarded-Proto", "").lower() == "http":
            self.redirect_to_https()
        elif path == HEALTH_PATH:
            self.reply(200, "application/json", b'{"status": "ok"}\n')
        elif path in ("/", "/index.html"):
            self.reply(200, "text/html; charset=utf-8", self.page)
        else:
            self.reply(404, "application/json", b'{"error": "not found"}\n')

    def do_HEAD(self) -> None:
        self.head_only = True
        self.do_GET()

    def redirect_to_https(self) -> None:
        host = (self.headers.get("Host") or "").split(":", 1)[0]
        if not HOST.fullmatch(host) or not self.path.startswith("/"):
            self.reply(400, "application/json", b'{"error": "bad host"}\n')
            return
        self.reply(301, "text/plain", b"moved to https\n", location=f"https://{host}{self.path}")

    def reply(self, status: int, content_type: str, body: bytes, location: str | None = None) -> None:
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not getattr(self, "head_only", False):
            self.wfile.write(body)


def main() -> int:
    try:
        node_env, config = environment()
        Handler.page = built_page(node_env, config)
        port = int(os.environ.get("PORT") or config.get("port", 80))
    except (ConfigError, ValueError) as error:
        print(f"app: {error}", file=sys.stderr)
        return 1
    server = ThreadingHTTPServer(("", port), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))  # systemd stop: exit cleanly
    print(f"app: serving NODE_ENV={node_env} on port {port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
