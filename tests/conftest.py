"""Shared fixtures: `backend` runs a test once per available backend (every discovered backend that can
run here, or those in NNPLUG_TEST_BACKENDS=numpy,opencl); the header lists those skipped and why."""
from nnplug.testing.plugin import backend, pytest_report_header  # noqa: F401 - pytest finds them here
