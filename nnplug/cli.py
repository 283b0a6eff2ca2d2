"""`nnplug` command line: `nnplug backends` lists every discovered backend and whether it can run."""
import argparse
import sys


def _backends(args):
    from . import plugins
    rows = plugins.describe_backends()
    for row in rows:
        status = "available" if row["available"] else f"unavailable: {row['reason']}"
        aliases = f" (aliases: {', '.join(row['aliases'])})" if row["aliases"] else ""
        devices = ", ".join(row["devices"]) or "-"
        print(f"{row['name']}{aliases}\n    package: {row['package']} {row['version']}  plugin: {row['plugin']}\n"
              f"    devices: {devices}\n    status:  {status}")
    for name, why in plugins.broken_plugins().items():
        print(f"{name}\n    status:  broken plugin: {why}")
    print(f"\nselected: {plugins.current_backend_name()} (set NNPLUG_BACKEND or nnplug.set_backend to change)")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="nnplug", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("backends", help="list installed backends, their devices and status").set_defaults(fn=_backends)
    args = parser.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
