"""The pytest side of the conformance suite: a `backend` fixture over the backends to test.

Used by `python -m nnplug.testing BACKEND` (loaded with `-p nnplug.testing.plugin`) and by a project's
conftest.py (`from nnplug.testing.plugin import backend, pytest_report_header`). The fixture's values
are backend names for `nnplug.Session(backend=...)`: every available backend, or those named in
NNPLUG_TEST_BACKENDS. Backends that cannot run here are listed with the reason in pytest's header
(and `test_backend_is_available` in the suite skips once for each, with that reason).
"""
import pytest

from . import available_backends, selected_backends


@pytest.fixture(scope="session", params=available_backends())
def backend(request):
    """The name of the backend a test runs on."""
    return request.param


def pytest_report_header(config):
    rows = selected_backends()
    ok = ", ".join(n for n, a, _ in rows if a) or "none"
    lines = [f"nnplug backends under test: {ok}"]
    lines += [f"nnplug backend '{n}' skipped: {why}" for n, a, why in rows if not a]
    return lines
