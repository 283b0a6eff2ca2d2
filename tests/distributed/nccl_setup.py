"""Run under mpiexec by tests/test_distributed_mpi.py: how the ranks decide on NCCL and set it up
(nnplug/distributed/nccl.py), with a stand-in for CuPy's NCCL binding, so it runs without a GPU.

Cases: every rank on its own GPU joins one communicator with rank 0's unique id (received as bytes);
two ranks on one GPU, or one rank without NCCL, make every rank stay on MPI with the same reason.
Every rank prints `PASS <case> rank <r>`; a failed check raises (the excepthook aborts the job).
"""
import sys

import numpy as np

import nnplug.distributed as dist
from nnplug.distributed import nccl, runtime


class FakeNccl:
    """CuPy's cupy.cuda.nccl as far as the setup uses it: a unique id and a communicator."""
    available = True
    joined = []

    @staticmethod
    def get_unique_id():
        return tuple(int(v) for v in np.random.default_rng().integers(-128, 128, nccl.ID_BYTES))

    class NcclCommunicator:
        def __init__(self, ndev, uid, rank):
            FakeNccl.joined.append((ndev, uid, rank))


class FakeCupy:
    """A cupy module whose device `index` has the PCI bus id `buses[index]`."""

    def __init__(self, buses):
        cupy = self

        class Device:
            def __init__(self, index):
                self.pci_bus_id = buses[index]

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

        class cuda:
            pass
        cuda.Device = Device
        cupy.cuda = cuda


class FakeBackend:
    name = "cupy"

    def __init__(self, index, buses):
        self.index, self.cupy = index, FakeCupy(buses)


def decide(index, buses, nccl_module=(FakeNccl, "")):
    nccl._state.clear()
    FakeNccl.joined.clear()
    real = nccl._nccl_module
    nccl._nccl_module = lambda cupy: nccl_module
    try:
        return nccl.decision(FakeBackend(index, buses))
    finally:
        nccl._nccl_module = real


def say(line):
    """One write per line, so mpiexec does not split it while merging the ranks' output."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def pass_(case):
    say(f"PASS {case} rank {dist.rank()}")


def case_own_gpus():
    r, n = dist.rank(), dist.size()
    d = decide(r, [f"0000:{17 + k:02x}:00.0" for k in range(n)])
    assert d.why == "" and d.comm is not None, d.why
    assert nccl.why_not() == ""
    [(ndev, uid, rank)] = FakeNccl.joined
    assert (ndev, rank) == (n, r), (ndev, rank)
    assert len(uid) == nccl.ID_BYTES and all(-128 <= v < 128 for v in uid)
    ids = np.zeros((n, nccl.ID_BYTES), np.int64)
    runtime.job().comm.Allgather(np.asarray(uid, np.int64), ids)
    assert (ids == ids[0]).all(), "the ranks joined with different unique ids"
    pass_("nccl own gpus")


def case_shared_gpu():
    d = decide(0, ["0000:17:00.0"] * dist.size())  # every local rank on device 0
    assert d.comm is None and not FakeNccl.joined
    assert d.why.startswith("rank 0: local ranks 0 and 1 share the GPU 0000:17:00.0"), d.why
    assert nccl.why_not() == d.why
    pass_("nccl shared gpu")


def case_missing_library():
    r = dist.rank()
    missing = (None, "CuPy cannot load the NCCL library") if r == dist.size() - 1 else (FakeNccl, "")
    d = decide(r, [f"0000:{17 + k:02x}:00.0" for k in range(dist.size())], missing)
    assert d.comm is None and not FakeNccl.joined
    assert d.why == f"rank {dist.size() - 1}: CuPy cannot load the NCCL library", d.why
    pass_("nccl missing library")


def case_duplicates():
    assert nccl.duplicate_devices([b"a", b"b", b"a", b"c", b"b"]) == [(0, 2, b"a"), (1, 4, b"b")]
    assert nccl.duplicate_devices([b"a", b"b"]) == []
    pass_("nccl duplicates")


def case_gpu_training():
    """On the cupy backend (a GPU machine only): training with DistributedOptimizer, blocking and
    overlapped, ends where one process ends, through NCCL where every rank has a GPU of its own and
    through the host kernels (MPI) otherwise; each rank prints which."""
    import agreement  # the sibling script: the same model, data and tolerances

    from nnplug_cupy.device import device_count

    import nnplug as tf
    n = dist.size()
    tf.set_backend(f"cupy:{dist.local_rank()}" if device_count()[0] >= dist.local_size() else "cupy")
    nccl._state.clear()
    data = agreement.batches(4 * n, agreement.STEPS)
    for name, make_opt in agreement.OPTIMIZERS.items():
        want = agreement.train(make_opt, data, distributed=False, global_batch=4 * n)
        for overlap in (False, True):
            got = agreement.train(make_opt, data, distributed=True, global_batch=4 * n, overlap=overlap)
            for w, g in zip(want, got):
                np.testing.assert_allclose(g, w, rtol=agreement.RTOL, atol=agreement.ATOL, err_msg=name)
    why = nccl.why_not()
    say(f"NCCL rank {dist.rank()}: {'used' if why == '' else f'not used ({why})'}")
    pass_("nccl gpu training")


CASES = {"own": case_own_gpus, "shared": case_shared_gpu, "missing": case_missing_library, "duplicates": case_duplicates,
         "gpu": case_gpu_training}

if __name__ == "__main__":
    dist.init()
    for name in sys.argv[1:] or [c for c in CASES if c != "gpu"]:
        CASES[name]()
