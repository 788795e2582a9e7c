"""Settings and naming, without AWS: layering of env files, validation, derived names."""

import subprocess

import pytest
from dotenv import dotenv_values

from conftest import ok
from core import settings
from core.settings import SettingsError, load


@pytest.fixture
def root(tmp_path, monkeypatch):
    (tmp_path / "env").mkdir()
    (tmp_path / "env/defaults.env").write_text((settings.ROOT / "env/defaults.env").read_text())
    monkeypatch.setattr(settings, "ROOT", tmp_path)
    return tmp_path


def test_defaults_then_environment_file_then_process(root):
    (root / "env/dev01.env").write_text("INSTANCE_TYPE=t3.small\nDESIRED_CAPACITY=2\n")
    loaded = load({"NODE_ENV": "dev01", "DESIRED_CAPACITY": "1"})
    assert loaded.instance_type == "t3.small"  # from env/dev01.env
    assert loaded.desired_capacity == 1  # the process environment wins
    assert loaded.app_name == "app"  # from env/defaults.env


def test_node_env_defaults_to_staging_and_names_follow(root):
    loaded = load({})
    assert loaded.node_env == "staging"
    assert loaded.elb_name == "elb-app-staging"
    assert loaded.key_name == "app-staging"
    assert loaded.group_prefix == "asg-app-staging-"
    assert loaded.record_name == "staging.example.com."
    assert loaded.log_dir == root / "deploy/log/staging"


def test_production_is_the_apex(root):
    assert load({"NODE_ENV": "production"}).record_name == "example.com."


def test_empty_optional_settings_are_none(root):
    loaded = load({"PRIMAL_ID": "", "HOSTED_ZONE": "/hostedzone/Z123ABC"})
    assert loaded.primal_id is None and loaded.hosted_zone == "Z123ABC"


@pytest.mark.parametrize("environ, says", [
    ({"NODE_ENV": "../etc"}, "not a safe name"),
    ({"NODE_ENV": "dev01-"}, "not a safe name"),
    ({"NODE_ENV": "a" * 21}, "not a safe name"),
    ({"APP_NAME": "my_app"}, "not a safe name"),
    ({"APP_NAME": "a" * 20, "NODE_ENV": "production"}, "too long"),
    ({"TLD": "not a domain"}, "not a domain name"),
    ({"AVAILABILITY_ZONES": ""}, "AVAILABILITY_ZONES is empty"),
    ({"AVAILABILITY_ZONES": "us-east-1a; rm"}, "not a zone name"),
    ({"INSTANCE_TYPE": "big"}, "not an instance type"),
    ({"DESIRED_CAPACITY": "3"}, "MIN_CAPACITY <= DESIRED_CAPACITY <= MAX_CAPACITY"),
    ({"MAX_CAPACITY": "-1"}, "not a whole number"),
    ({"IMAGE_ID": "ami-xyz"}, "not an image id"),
    ({"CLEANUP": "maybe"}, "use yes or no"),
    ({"HEALTH_TIMEOUT": "soon"}, "not a positive number"),
    ({"POLL_INTERVAL": "0"}, "not a positive number"),
    ({"HOSTED_ZONE": "zone;drop"}, "not a Route 53 zone id"),
])
def test_bad_settings_are_refused_with_what_to_fix(root, environ, says):
    with pytest.raises(SettingsError, match=says.replace("(", r"\(")):
        load(environ)


def test_every_setting_is_declared_once_and_has_its_default_line():
    defaults = dotenv_values(settings.ROOT / "env/defaults.env")
    assert set(defaults) == settings.NAMES
    assert all(declared.metadata["help"] for declared in settings.DECLARED)


def test_a_name_in_an_env_file_that_is_no_setting_is_refused(root):
    (root / "env/dev01.env").write_text("INSTANCE_TPYE=t3.small\n")
    with pytest.raises(SettingsError, match="env/dev01.env sets INSTANCE_TPYE, which is not a setting"):
        load({"NODE_ENV": "dev01"})


def test_make_settings_shows_each_value_and_where_it_came_from(project):
    (project.path / "env/dev01.env").write_text("INSTANCE_TYPE=t3.small\n")
    try:
        result = ok(project.make("settings", DESIRED_CAPACITY="2"))
    finally:
        (project.path / "env/dev01.env").unlink()
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line.startswith("  ")}
    assert set(rows) == settings.NAMES
    assert rows["APP_NAME"][1:3] == ["app", "env/defaults.env"]
    assert rows["INSTANCE_TYPE"][1:3] == ["t3.small", "env/dev01.env"]
    assert rows["DESIRED_CAPACITY"][1:5] == ["2", "the", "environment", "the"]
    assert "names: load balancer elb-app-dev01, record dev01.example.com." in result.stdout

    bad = project.make("settings", MAX_CAPACITY="many")
    assert bad.returncode != 0
    assert bad.stderr.splitlines()[0] == "settings: error: MAX_CAPACITY='many' is not a whole number"


def test_a_line_of_an_env_file_that_does_not_parse_is_refused_naming_the_file_and_line(root):
    (root / "env/dev01.env").write_text("INSTANCE_TYPE=t3.small\n# a comment\n\nSOAK_SECONDS 600\n")
    with pytest.raises(SettingsError) as refused:
        load({"NODE_ENV": "dev01"})
    assert str(refused.value) == ("env/dev01.env line 4: 'SOAK_SECONDS 600' is not NAME=value: fix it "
                                  "(e.g. SOAK_SECONDS=600) or remove it")


def test_a_node_env_that_is_set_but_empty_is_refused(root):
    with pytest.raises(SettingsError, match="NODE_ENV is set but empty"):
        load({"NODE_ENV": ""})
    assert load({}).node_env == "staging"  # unset: staging


def test_a_deploy_with_a_line_that_does_not_parse_stops_before_any_aws_call(project):
    (project.path / "env/dev01.env").write_text("SOAK_SECONDS 600\n")
    try:
        result = project.make("deploy")
    finally:
        (project.path / "env/dev01.env").unlink()
    assert result.returncode != 0
    assert "env/dev01.env line 1: 'SOAK_SECONDS 600' is not NAME=value" in result.stderr
    assert project.emulator.calls == []


def test_a_health_timeout_shorter_than_the_poll_interval_is_refused(root):
    with pytest.raises(SettingsError, match="HEALTH_TIMEOUT=1 is shorter than POLL_INTERVAL=5: a wait would give up"):
        load({"NODE_ENV": "dev01", "HEALTH_TIMEOUT": "1", "POLL_INTERVAL": "5"})


def test_an_environment_without_its_env_file_is_said_and_a_bare_one_is_refused(project):
    said = ok(project.make("settings", "qa7")).stdout.splitlines()
    assert said[0] == "settings of NODE_ENV=qa7 (env/defaults.env < env/qa7.env (missing) < the environment):"
    assert said[1].startswith("note: there is no env/qa7.env: NODE_ENV=qa7 runs on env/defaults.env and the "
                              "environment (BASE_AMI, POLL_INTERVAL")
    bare = {k: v for k, v in project.env("prodution").items() if k not in settings.NAMES}  # nobody configured it
    for target in ("setup", "deploy"):
        refused = subprocess.run(["make", "--no-print-directory", target], cwd=project.path, env=bare, text=True,
                                 capture_output=True)
        assert refused.returncode != 0
        assert "NODE_ENV=prodution has no env/prodution.env and no setting in the environment: create " \
               "env/prodution.env with its settings (or check NODE_ENV for a typo)" in refused.stderr
    assert project.emulator.calls == []
    set_up = ok(project.make("setup", "qa7"))  # settings given in the environment: it runs, and says so
    assert set_up.stdout.startswith("setup: note: there is no env/qa7.env: NODE_ENV=qa7 runs on env/defaults.env")
