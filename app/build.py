"""Build the example app for one environment: python3 app/build.py [NODE_ENV]  (default: $NODE_ENV)

Renders index.html (greeting, NODE_ENV, version) and version.json ({"node_env", "version"}) from
deploy/env/NODE_ENV.json into $BUILD_DIR (the deploy gives each environment its own), or app/dist
when run by hand. The version is APP_VERSION when set, else the build time (YYYYmmddHHMMSS, UTC):
with APP_VERSION, the same inputs build the same output (and the deploy bakes no new image). This
is the deploy's BUILD_COMMAND; the tool then stages app/server.py, the build (as app/dist/, where
the server reads it) and deploy/env/NODE_ENV.json for the image.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

from server import DIST, ConfigError, load_config, render_page


def build(node_env: str) -> dict:
    config = load_config(node_env)
    now = datetime.now(UTC)
    version = {
        "node_env": node_env,
        "version": os.environ.get("APP_VERSION") or now.strftime("%Y%m%d%H%M%S"),
    }
    out = Path(os.environ["BUILD_DIR"]) if os.environ.get("BUILD_DIR") else DIST
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    page = render_page(node_env, version["version"], config.get("greeting", "Hello"))
    (out / "index.html").write_text(page, encoding="utf-8")
    (out / "version.json").write_text(json.dumps(version, indent=2) + "\n", encoding="utf-8")
    return {**version, "out": out}


def main(argv: list[str]) -> int:
    node_env = argv[0] if len(argv) == 1 else os.environ.get("NODE_ENV", "")
    if len(argv) > 1 or not node_env:
        print("usage: python3 app/build.py NODE_ENV (or NODE_ENV in the environment)", file=sys.stderr)
        return 2
    try:
        version = build(node_env)
    except ConfigError as error:
        print(f"build: {error}", file=sys.stderr)
        return 1
    print(f"build: {version['out']} built for NODE_ENV={version['node_env']}, version {version['version']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
