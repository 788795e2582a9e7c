"""The load balancer's interface (scripts/core/balancer.py): every kind implements all of it, and
the kinds LOAD_BALANCER_KIND takes are those of the registry."""

import inspect

import pytest

from core.balancer import DEFAULT_KIND, KINDS, Balancer
from core.settings import SettingsError, load


def test_every_kind_implements_the_whole_interface_and_is_registered_by_its_name():
    assert set(KINDS) == {"classic", "application"} and DEFAULT_KIND == "classic"
    for name, kind in KINDS.items():
        assert issubclass(kind, Balancer) and not inspect.isabstract(kind), name
        assert kind.kind == name and kind.SERVING and kind.DRAINED and kind.IN_SERVICE and kind.DEREGISTERED
    assert [name for name, kind in KINDS.items() if kind.COUNTS_REQUESTS] == ["application"]


def test_a_kind_missing_a_method_cannot_be_made():
    class Network(KINDS["application"].__base__):  # a new kind that forgot most of the interface
        kind = "network"

    assert inspect.isabstract(Network)
    with pytest.raises(TypeError, match="abstract"):
        Network(step=None)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_load_balancer_kind_takes_each_registered_kind_and_no_other(kind):
    assert load({"NODE_ENV": "dev01", "LOAD_BALANCER_KIND": kind}).load_balancer_kind == kind
    with pytest.raises(SettingsError):
        load({"NODE_ENV": "dev01", "LOAD_BALANCER_KIND": "network"})
