"""`nnplug launch -n 4 train.py [args]`: start a data-parallel job with the installed mpiexec.

    nnplug launch -n 2 train.py --epochs 5                  # two ranks on this machine
    nnplug launch -n 4 --hosts node1:2,node2:2 train.py     # two ranks on each of two machines
    nnplug launch -n 8 --hostfile hosts.txt train.py        # MPICH: "node1:4" per line; Open MPI: "node1 slots=4"
    python -m nnplug.distributed.launch -n 2 train.py       # the same without the console script

The script runs under this Python (or --python) on every rank; `mpiexec -n 2 python train.py` does the
same by hand. mpiexec is looked for next to this Python (the `mpich` wheel puts it in the virtualenv's
bin/), then on PATH.
"""
import argparse
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from .collectives import FUSION_ENV
from .runtime import INSTALL_HINT, TIMEOUT_ENV

LAUNCHERS = ("mpiexec", "mpirun")


def find_mpiexec(explicit=None):
    """The mpiexec to run: `explicit`, else one next to sys.executable, else one on PATH."""
    if explicit:
        path = shutil.which(explicit)
        if path is None:
            raise FileNotFoundError(f"--mpiexec {explicit}: no such executable")
        return path
    here = Path(sys.executable).parent
    for name in LAUNCHERS:
        candidate = here / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    for name in LAUNCHERS:
        path = shutil.which(name)
        if path:
            return path
    raise FileNotFoundError(f"no mpiexec next to {sys.executable} nor on PATH; {INSTALL_HINT} "
                            f"(or pass --mpiexec PATH)")


def parse_hosts(text):
    """'h1:2,h2' -> [('h1', 2), ('h2', 1)], with an error naming a malformed entry."""
    hosts = []
    for item in text.split(","):
        name, _, slots = item.strip().partition(":")
        if not name:
            raise ValueError(f"--hosts: empty host name in {text!r} (expected host1:slots,host2:slots)")
        try:
            n = int(slots) if slots else 1
        except ValueError:
            raise ValueError(f"--hosts: {item.strip()!r} has slots {slots!r}, not a whole number") from None
        if n < 1:
            raise ValueError(f"--hosts: {item.strip()!r} must have at least one slot")
        hosts.append((name, n))
    return hosts


def is_open_mpi(mpiexec):
    """Open MPI spells the host options differently from MPICH's Hydra (and Intel MPI's)."""
    try:
        out = subprocess.run([mpiexec, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "Open MPI" in out.stdout + out.stderr or "OpenRTE" in out.stdout + out.stderr


def command(args, mpiexec):
    """The mpiexec command line for parsed `args`."""
    cmd = [mpiexec, "-n", str(args.np)]
    if args.hosts or args.hostfile:
        openmpi = is_open_mpi(mpiexec)
        if args.hosts:
            hosts = ",".join(f"{h}:{n}" for h, n in parse_hosts(args.hosts))
            cmd += ["--host" if openmpi else "-hosts", hosts]
        if args.hostfile:
            if not os.path.isfile(args.hostfile):
                raise FileNotFoundError(f"--hostfile: no such file: {args.hostfile}")
            cmd += ["--hostfile" if openmpi else "-f", args.hostfile]
    return cmd + [args.python, args.script, *args.script_args]


def configure(parser):
    parser.add_argument("-n", "--np", type=int, required=True, metavar="N", help="number of ranks (processes) to start")
    parser.add_argument("--hosts", metavar="H1:N1,H2:N2", help="machines and ranks per machine (default: this one)")
    parser.add_argument("--hostfile", metavar="FILE", help="a file naming the machines, in your MPI's format")
    parser.add_argument("--mpiexec", metavar="PATH", 
                        help="the mpiexec to use (default: next to this Python, else PATH)")
    parser.add_argument("--python", default=sys.executable, help="the Python each rank runs (default: this one)")
    parser.add_argument("--collective-timeout", type=float, metavar="SECONDS",
                        help=f"seconds a collective waits for the other ranks (sets {TIMEOUT_ENV}; default 300)")
    parser.add_argument("--fusion-threshold", type=int, metavar="BYTES",
                        help=f"bytes per fused allreduce buffer, 0 for none (sets {FUSION_ENV}; default 64 MiB)")
    parser.add_argument("--dry-run", action="store_true", help="print the mpiexec command instead of running it")
    parser.add_argument("script", help="the training script every rank runs")
    parser.add_argument("script_args", nargs=argparse.REMAINDER, help="arguments passed to the script")
    parser.set_defaults(fn=run)
    return parser


def add_parser(subparsers):
    """Add `launch` to the `nnplug` command's subparsers."""
    return configure(subparsers.add_parser("launch", help="run a script on N ranks with mpiexec (data-parallel)",
                                           description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter))


def run(args):
    """Run the job; returns mpiexec's exit status (non-zero when any rank failed)."""
    if args.np < 1:
        raise SystemExit(f"nnplug launch: -n must be at least 1, got {args.np}")
    if not os.path.isfile(args.script):
        raise SystemExit(f"nnplug launch: no such script: {args.script}")
    try:
        cmd = command(args, find_mpiexec(args.mpiexec))
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f"nnplug launch: {e}") from None
    env = dict(os.environ)
    if args.collective_timeout is not None:
        env[TIMEOUT_ENV] = str(args.collective_timeout)
    if args.fusion_threshold is not None:
        env[FUSION_ENV] = str(args.fusion_threshold)
    if args.dry_run:
        print(shlex.join(cmd))
        return 0
    return subprocess.call(cmd, env=env)


def main(argv=None):
    parser = configure(argparse.ArgumentParser(prog="nnplug launch", description=__doc__,
                                               formatter_class=argparse.RawDescriptionHelpFormatter))
    args = parser.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
