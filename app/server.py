"""The example app: a dependency-free web server (Python 3 standard library only).

    GET /                   the page app/build.py rendered into app/dist/ (names NODE_ENV and version)
    GET /api/status/health  200 {"status": "ok"}: what the load balancer's health check asks

Behind a load balancer that says a request came over plain HTTP (X-Forwarded-Proto: http), every
path but the health check answers 301 to the same URL over HTTPS: a classic load balancer cannot
redirect itself (an application load balancer's HTTP listener does, before the app sees it).

It runs from its install dir (the repo, or /opt/app in a carnivore image, laid out the same way:
app/server.py, app/dist/, deploy/env/<NODE_ENV>.json) and reads its settings from
deploy/env/$NODE_ENV.json there ({"port": 80, "greeting": "..."}). NODE_ENV defaults to staging;
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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the install dir
DIST = ROOT / "app" / "dist"
SAFE_NODE_ENV = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
HOST = re.compile(r"[A-Za-z0-9.-]{1,253}")  # a host name to redirect to (no port, no user part)
HEALTH_PATH = "/api/status/health"


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


def render_page(node_env: str, version: str, greeting: str) -> str:
    node_env, version, greeting = (html.escape(text) for text in (node_env, version, greeting))
    return (
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>" + greeting + "</title></head>\n"
        f"<body><h1>{greeting}</h1><p>environment: <b>{node_env}</b>, version: <b>{version}</b></p></body></html>\n"
    )


def built_page(node_env: str, config: dict) -> bytes:
    """The page from app/dist/, checked to be built for this NODE_ENV; a plain page when unbuilt."""
    try:
        version = json.loads((DIST / "version.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return render_page(node_env, "unbuilt", config.get("greeting", "Hello")).encode()
    if version.get("node_env") != node_env:
        raise ConfigError(f"app/dist was built for NODE_ENV={version.get('node_env')}, not {node_env}: "
                          f"run python3 app/build.py {node_env}")
    return (DIST / "index.html").read_bytes()


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
    node_env = os.environ.get("NODE_ENV") or "staging"
    try:
        config = load_config(node_env)
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
