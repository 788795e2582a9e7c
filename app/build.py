"""Build the example app: python3 app/build.py

Writes version.json ({"version"}) into $BUILD_DIR (the deploy gives each environment its own), or
app/dist when run by hand. The build is every environment's (the server fills in the environment
and its greeting at start, from the settings the instance's user data carries: app/server.py), so
one image of a release serves them all. The version is APP_VERSION when set, else the build time
(YYYYmmddHHMMSS, UTC): with APP_VERSION, the same inputs build the same output (and the deploy
bakes no new image). This is the deploy's BUILD_COMMAND (NODE_ENV, in its environment, is not
used); the tool then stages app/server.py and the build (as app/dist/, where the server reads it)
for the image.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

from server import DIST


def build() -> dict:
    version = {"version": os.environ.get("APP_VERSION") or datetime.now(UTC).strftime("%Y%m%d%H%M%S")}
    out = Path(os.environ["BUILD_DIR"]) if os.environ.get("BUILD_DIR") else DIST
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    (out / "version.json").write_text(json.dumps(version, indent=2) + "\n", encoding="utf-8")
    return {**version, "out": out}


def main(argv: list[str]) -> int:
    if argv:
        print("usage: python3 app/build.py (BUILD_DIR and APP_VERSION in the environment)", file=sys.stderr)
        return 2
    version = build()
    print(f"build: {version['out']} built, version {version['version']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
