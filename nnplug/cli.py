"""The `nnplug` command (also `python -m nnplug`).

    nnplug backends        every discovered backend: package, version, devices and whether it can run
    nnplug info            versions, backends and the BLAS library with its thread count (for bug reports)

Other packages add subcommands through a module's `add_parser(subparsers)`: `nnplug.distributed.launch`
registers `nnplug launch` when it is installed.
"""
import argparse
import json
import os
import platform
import sys


def _print_backends(rows, broken, selected):
    for row in rows:
        status = "available" if row["available"] else f"unavailable: {row['reason']}"
        aliases = f" (aliases: {', '.join(row['aliases'])})" if row["aliases"] else ""
        devices = ", ".join(row["devices"]) or "-"
        print(f"{row['name']}{aliases}\n    package: {row['package']} {row['version']}  plugin: {row['plugin']}\n"
              f"    devices: {devices}\n    status:  {status}")
    for name, why in broken.items():
        print(f"{name}\n    status:  broken plugin: {why}")
    print(f"\nselected: {selected} (set NNPLUG_BACKEND or nnplug.set_backend to change)")


def _backend_report():
    from . import plugins
    return plugins.describe_backends(), plugins.broken_plugins(), plugins.current_backend_name()


def _backends(args):
    _print_backends(*_backend_report())
    return 0


def collect_info():
    """What `nnplug info` reports, as a dict (the `--json` output)."""
    import numpy
    import threadpoolctl

    import nnplug
    rows, broken, selected = _backend_report()
    return {
        "nnplug": {"version": nnplug.__version__, "path": os.path.dirname(nnplug.__file__)},
        "python": {"version": platform.python_version(), "implementation": platform.python_implementation(),
                   "executable": sys.executable},
        "numpy": {"version": numpy.__version__, "path": os.path.dirname(numpy.__file__)},
        "platform": {"system": platform.platform(), "machine": platform.machine(), "cpus": os.cpu_count()},
        # the thread pools loaded into this process (numpy's BLAS is loaded by importing numpy)
        "threadpools": threadpoolctl.threadpool_info(),
        "backends": rows, "broken_plugins": broken, "selected_backend": selected,
    }


def _info(args):
    info = collect_info()
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    n, py, np_, plat = info["nnplug"], info["python"], info["numpy"], info["platform"]
    print(f"nnplug  {n['version']}  ({n['path']})\n"
          f"python  {py['version']} {py['implementation']}  ({py['executable']})\n"
          f"numpy   {np_['version']}  ({np_['path']})\n"
          f"system  {plat['system']}, {plat['cpus']} CPUs")
    pools = info["threadpools"]
    if not any(p["user_api"] == "blas" for p in pools):
        print("BLAS    none found loaded (numpy built without an external BLAS?)")
    for pool in pools:
        kind = "BLAS   " if pool["user_api"] == "blas" else f"{pool['user_api']:<7}"
        extra = ", ".join(f"{key.replace('_', ' ')} {pool[key]}" for key in ("threading_layer", "architecture")
                          if pool.get(key))
        threads = f"{pool['num_threads']} thread{'' if pool['num_threads'] == 1 else 's'}"
        print(f"{kind} {pool['internal_api']} {pool.get('version') or '?'}: {threads}"
              f"{', ' + extra if extra else ''}  ({pool['filepath']})")
    print("\nbackends:")
    _print_backends(info["backends"], info["broken_plugins"], info["selected_backend"])
    return 0


def _extension_modules():
    """Modules that add subcommands (`add_parser(subparsers)`) when they are installed."""
    try:
        from .distributed import launch
    except ImportError:
        return []
    return [launch] if hasattr(launch, "add_parser") else []


def build_parser():
    from . import __version__
    parser = argparse.ArgumentParser(prog="nnplug", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"nnplug {__version__}",
                        help="print nnplug's version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                help="what to do (`nnplug COMMAND --help` for its options)")
    sub.add_parser("backends", help="list installed backends, their devices and status",
                   description="List every discovered backend: package, version, devices and status, "
                               "then any plugin that failed to load and the backend selected now."
                   ).set_defaults(fn=_backends)
    info = sub.add_parser("info", help="versions, backends and BLAS threads (paste it into bug reports)",
                          description="Print nnplug's, Python's and NumPy's versions, each backend's status "
                                      "and devices, and the BLAS library NumPy uses with its thread count.")
    info.add_argument("--json", action="store_true", help="print the report as JSON instead of text")
    info.set_defaults(fn=_info)
    for module in _extension_modules():
        module.add_parser(sub)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
