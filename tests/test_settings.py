"""Settings and naming, without AWS: layering of env files, validation, derived names."""

import pytest

import settings
from settings import SettingsError, load


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
