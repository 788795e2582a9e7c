"""The layout is the architecture: scripts/ holds one script per Make target, scripts/core/ the
shared core that never imports a step, emulator/ the local AWS; nothing outside tests/ imports
from tests/."""

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
STEPS = {path.stem for path in SCRIPTS.glob("*.py")}


def imported_modules(path: Path) -> set[str]:
    """The top-level modules a file imports (relative imports: '.')."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add("." if node.level else node.module.split(".")[0])
    return found


def test_no_step_imports_another_step():
    offenders = {path.name: imported_modules(path) & STEPS for path in SCRIPTS.glob("*.py")}
    assert {name: steps for name, steps in offenders.items() if steps} == {}


def test_the_core_never_imports_a_step():
    for path in (SCRIPTS / "core").glob("*.py"):
        assert imported_modules(path) & STEPS == set(), path.name


def test_steps_use_botocore_without_loading_boto3():
    """boto3's own import loads its S3 transfer manager: a tenth of every step's start, for nothing.
    The bench hosts the emulator, which uses boto3; no step does."""
    steps = sorted(STEPS - {"bench"})
    loaded = subprocess.run(
        [sys.executable, "-c", f"import sys; {'; '.join(f'import {step}' for step in steps)}; "
                               "print(sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 's3transfer'}))"],
        cwd=SCRIPTS, capture_output=True, text=True, check=True).stdout
    assert loaded == "[]\n"


def test_nothing_outside_tests_imports_from_tests():
    test_modules = {path.stem for path in (ROOT / "tests").glob("*.py")}
    for path in [*SCRIPTS.rglob("*.py"), *(ROOT / "emulator").rglob("*.py"), *(ROOT / "app").rglob("*.py")]:
        assert imported_modules(path) & test_modules == set(), path
        assert "tests/" not in path.read_text(), path


def test_every_script_is_a_make_target_and_every_target_runs_its_script():
    makefile = (ROOT / "Makefile").read_text()
    run = dict(re.findall(r"^([a-z][a-z-]*):.*\n\t\$\(RUN\)/([a-z_]+)\.py", makefile, re.M))
    assert set(run.values()) == STEPS  # no script without a target
    for target, script in run.items():
        if script != "pipeline":  # setup, deploy and rollback run their steps through pipeline.py
            assert script == target.replace("-", "_"), target


def test_every_field_of_the_release_hand_off_is_declared_and_an_undeclared_one_fails_at_once():
    from core.step import FIELDS, Release

    used = set()
    for path in [*SCRIPTS.glob("*.py"), *(SCRIPTS / "core").glob("*.py")]:
        text = path.read_text()
        used |= set(re.findall(r'recall\("([a-z_]+)"', text))
        used |= set(re.findall(r"state(?:\(\))?\.([a-z_]+)\b(?!\()", text)) - {"json"}  # state.json, the file
        used |= {key for call in re.findall(r"remember\(([^)]*)\)", text) for key in re.findall(r"(\w+)=", call)}
    assert used == FIELDS, used ^ FIELDS  # each declared field is used, each used one declared
    release = Release.read('{"stamp": "20261202000000"}')
    assert release.stamp == "20261202000000" and release.group_name is None
    for wrong in (lambda: Release.read('{"stmp": "1"}'), lambda: Release.check("imageid")):
        try:
            wrong()
        except KeyError as error:
            assert "no field of the release hand-off" in str(error)
        else:
            raise AssertionError("an undeclared field read as missing")
    try:
        release.group  # noqa: B018 - a renamed field, read
    except AttributeError:
        pass
    else:
        raise AssertionError("an undeclared field read as missing")


RELEASE_CARRIERS = {"step", "release", "history", "packer"}  # the core modules that take the Step itself


def test_the_rest_of_the_core_takes_a_context_never_the_run_its_hand_off_or_its_record():
    """The core's lookups and changes take what they need (core/step.py Context: settings, clients,
    a way to say a line); only the modules that carry a release reach its hand-off and record."""
    for path in (SCRIPTS / "core").glob("*.py"):
        if path.stem in RELEASE_CARRIERS:
            continue
        text = path.read_text()
        reaches = r"\bstep\.(state|remember|recall|begin_release)\(|\bstep\.(record|began)\b"
        assert not re.search(reaches, text), path.name
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module == "step":
                assert "Step" not in {alias.name for alias in node.names}, path.name
