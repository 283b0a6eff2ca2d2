"""Finding CuPy and CUDA devices without importing CuPy at module import time."""
INSTALL_HINT = "pip install nnplug[cuda] (CUDA 12) or nnplug[cuda13] (CUDA 13)"


def import_cupy():
    """(cupy module, '') or (None, why it cannot be used)."""
    try:
        import cupy
    except ImportError as e:
        return None, f"CuPy is not installed: {INSTALL_HINT} ({e})"
    except Exception as e:  # noqa: BLE001 - a broken CUDA install raises all sorts at import
        return None, f"CuPy failed to import: {type(e).__name__}: {e}"
    return cupy, ""


def device_count():
    """(number of CUDA devices, '' or why none can be used)."""
    cupy, why = import_cupy()
    if cupy is None:
        return 0, why
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # noqa: BLE001 - CUDARuntimeError when there is no driver
        return 0, f"no CUDA device: {type(e).__name__}: {e}"
    if n == 0:
        return 0, "no CUDA device: the CUDA runtime found none"
    return n, ""


def device_names():
    cupy, _ = import_cupy()
    n, _ = device_count()
    names = []
    for i in range(n):
        props = cupy.cuda.runtime.getDeviceProperties(i)
        name = props.get("name", b"?")
        names.append(f"cuda:{i} ({name.decode() if isinstance(name, bytes) else name})")
    return names


def select(index):
    """Make device `index` current for this thread (CuPy launches on the current device)."""
    cupy, why = import_cupy()
    n, why = device_count()
    if not 0 <= index < n:
        from nnplug.errors import BackendError
        raise BackendError(f"CUDA device {index} does not exist: this machine has {n} (cuda:0..cuda:{n - 1})"
                           if n else why)
    dev = cupy.cuda.Device(index)
    dev.use()
    return dev
