"""TF1's tf.test queries about the accelerator, answered from nnplug's backends: a GPU is a CUDA device
of an available `cupy` backend (nnplug's only CUDA backend). (nnplug.testing is the backend
conformance suite, a different thing.)"""
from __future__ import annotations

from . import plugins


def _cuda_devices() -> list[str]:
    """The CUDA devices the cupy backend reports, [] when it is missing or cannot run here."""
    for row in plugins.describe_backends():
        if row["name"] == "cupy" and row["available"]:
            return list(row["devices"])
    return []


def is_built_with_cuda() -> bool:
    """True when a CUDA backend is installed and can run here."""
    return any(row["name"] == "cupy" and row["available"] for row in plugins.describe_backends())


def is_built_with_gpu_support() -> bool:
    return is_built_with_cuda()


def is_gpu_available(cuda_only: bool = False, min_cuda_compute_capability: tuple[int, int] | None = None) -> bool:
    """True when a CUDA device can run nnplug's graphs (the compute capability is not checked)."""
    return bool(_cuda_devices())


def gpu_device_name() -> str:
    """'/device:GPU:0' when a GPU is available, else '' (as TF1)."""
    return "/device:GPU:0" if is_gpu_available() else ""
