"""Shared fixtures of the Python tests: the module under test (the one built by meson, found
through PYTHONPATH; MVKE_PYTHON_DIR names where it must come from) and a small random world."""

import os

import pytest

import mvke
from reference import World


def pytest_report_header(config):
    return f"mvke {mvke.__version__} from {mvke.__file__}"


def pytest_sessionstart(session):
    want = os.environ.get("MVKE_PYTHON_DIR")
    if want and os.path.dirname(os.path.realpath(mvke.__file__)) != os.path.realpath(want):
        raise pytest.UsageError(f"mvke was imported from {mvke.__file__}, not from the build in {want}")


@pytest.fixture(scope="module")
def world():
    return World()


@pytest.fixture(scope="module")
def index(world):
    return world.index(mvke)


@pytest.fixture(scope="module")
def tags(world):
    return world.tags(mvke)
