"""Finding OpenCL platforms and devices, and making one context and queue, without importing PyOpenCL at
module import time.

Devices are numbered across all platforms in the order PyOpenCL reports them; `opencl:N` or the environment
variable NNPLUG_OPENCL_DEVICE=N picks one (default 0).
"""
import ctypes
import os

INSTALL_HINT = "pip install nnplug[opencl] (pyopencl + pocl-binary-distribution for a CPU device)"
ENV_DEVICE = "NNPLUG_OPENCL_DEVICE"
_keep_alive = []  # strings handed to PoCL must outlive the process's OpenCL use


def import_cl():
    """(pyopencl module, '') or (None, why it cannot be used)."""
    try:
        import pyopencl
    except ImportError as e:
        return None, f"PyOpenCL is not installed: {INSTALL_HINT} ({e})"
    except Exception as e:  # noqa: BLE001 - a broken ICD loader raises all sorts at import
        return None, f"PyOpenCL failed to import: {type(e).__name__}: {e}"
    return pyopencl, ""


def all_devices():
    """([(platform, device)], '' or why there are none)."""
    cl, why = import_cl()
    if cl is None:
        return [], why
    try:
        platforms = cl.get_platforms()
    except Exception as e:  # noqa: BLE001 - clGetPlatformIDs fails with PLATFORM_NOT_FOUND_KHR when none
        return [], f"no OpenCL platform found ({type(e).__name__}: {e}); {INSTALL_HINT}"
    found = []
    for p in platforms:
        try:
            found.extend((p, d) for d in p.get_devices())
        except Exception:  # noqa: BLE001 - a platform without devices raises DEVICE_NOT_FOUND
            continue
    if not found:
        return [], f"no OpenCL device found on platforms {[p.name for p in platforms]}; {INSTALL_HINT}"
    return found, ""


def device_names():
    return [f"opencl:{i} ({p.name.strip()}: {d.name.strip()})" for i, (p, d) in enumerate(all_devices()[0])]


def pick(index):
    """(platform, device) for `opencl:index`, or the env var's choice, or the first device."""
    from nnplug.errors import BackendError
    found, why = all_devices()
    if index is None:
        raw = os.environ.get(ENV_DEVICE, "0").strip() or "0"
        if not raw.isdigit():
            raise BackendError(f"{ENV_DEVICE}={raw!r} must be a device number; list them with `nnplug backends`")
        index = int(raw)
    if not found:
        raise BackendError(why)
    if not 0 <= index < len(found):
        raise BackendError(f"OpenCL device {index} does not exist: this machine has {len(found)} "
                           f"(opencl:0..opencl:{len(found) - 1}); list them with `nnplug backends`")
    return index, found[index]


def has_fp64(device):
    return "cl_khr_fp64" in device.extensions or device.double_fp_config != 0


# -- PoCL 3.0 on CPUs its LLVM 14 does not know -----------------------------------------------------
def _readable(addr, size):
    with open("/proc/self/maps") as f:
        for line in f:
            span, perms = line.split()[:2]
            lo, hi = (int(x, 16) for x in span.split("-"))
            if lo <= addr and addr + size <= hi:
                return perms[0] == "r"
    return False


def _host_cpu_for_llvm14():
    """An LLVM 14 CPU name this host can run code for (AVX-512 hosts get x86-64-v4)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        flags = ""
    if "avx512f" in flags and "avx512bw" in flags and "avx512vl" in flags:
        return "x86-64-v4"
    return "x86-64-v3" if "avx2" in flags and "fma" in flags else "x86-64"


def fix_pocl_generic_cpu(platform, device):
    """PoCL's LLVM names a CPU it does not recognise (e.g. AMD Zen 5 for PoCL 3.0/LLVM 14) 'generic', and
    clang then refuses to build any program ("unknown target CPU 'generic'"). PoCL keeps that name as a
    `char *` in its device struct (the cl_device_id); point it at an x86-64 level the CPU supports.
    Only applied to a PoCL CPU device whose version string ends in '-generic'; NNPLUG_POCL_CPU names the
    CPU to use instead, or 'off' disables this."""
    choice = os.environ.get("NNPLUG_POCL_CPU", "").strip()
    if choice == "off" or "Portable Computing Language" not in platform.name:
        return False
    if not device.version.strip().endswith("-generic"):
        return False
    name = (choice or _host_cpu_for_llvm14()).encode()
    base, step = device.int_ptr, ctypes.sizeof(ctypes.c_void_p)
    for off in range(0, 4096, step):
        if not _readable(base + off, step):
            break
        p = ctypes.c_void_p.from_address(base + off).value
        if p and _readable(p, 8) and ctypes.string_at(p, 8) == b"generic\0":
            buf = ctypes.create_string_buffer(name)
            _keep_alive.append(buf)
            ctypes.c_void_p.from_address(base + off).value = ctypes.addressof(buf)
            return True
    return False
