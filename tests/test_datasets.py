"""`nnplug.keras.datasets` (MNIST, Fashion-MNIST, CIFAR-10) against a mirror served on 127.0.0.1 by a tiny
threaded http.server: good files, a bad checksum, a slow sender, a cut connection, oversized and
decompression-bomb files; the offline paths ($NNPLUG_DATA_DIR, a folder argument); and the real MNIST.

The synthetic files are encoded here from the formats' published descriptions (IDX: big-endian header then
bytes; CIFAR-10 binary: a label byte then the red, green and blue planes), independently of the loaders.
"""
import gzip
import hashlib
import http.server
import io
import tarfile
import threading
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from nnplug.datasets import cifar10 as cifar_impl
from nnplug.datasets import fashion_mnist as fashion_impl
from nnplug.datasets import fetch, idx
from nnplug.datasets import mnist as mnist_impl
from nnplug.datasets.errors import DataFileError, DownloadError
from nnplug.keras.datasets import cifar10, fashion_mnist, mnist

SHARED = next((p for p in (Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist",
                           Path("/work/shared/data/mnist")) if p.is_dir()), None)
IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")


# -- synthetic files, encoded from the formats' descriptions -----------------------------------
def idx_bytes(array):
    array = np.asarray(array, np.uint8)
    return bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape) + array.tobytes()


def idx_set(seed, n_train=6, n_test=4):
    """{file name: raw IDX bytes} and the arrays they hold, Keras-style."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for kind, n in (("train", n_train), ("t10k", n_test)):
        arrays[kind] = (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8))
    files = {}
    for kind, (images, labels) in arrays.items():
        files[f"{kind}-images-idx3-ubyte"], files[f"{kind}-labels-idx1-ubyte"] = idx_bytes(images), idx_bytes(labels)
    return files, (arrays["train"], arrays["t10k"])


def cifar_batch(images, labels):
    """Binary records: label byte, then 1024 red, 1024 green, 1024 blue bytes (row-major)."""
    return b"".join(bytes([lab]) + img.transpose(2, 0, 1).tobytes() for img, lab in zip(images, labels))


def cifar_set(seed, per_batch=3, n_test=2):
    """{member file name: bytes} for the six batches, and the expected ((x, y), (x, y))."""
    rng = np.random.default_rng(seed)
    files, train = {}, []
    for i in range(1, 6):
        images = rng.integers(0, 256, (per_batch, 32, 32, 3), dtype=np.uint8)
        labels = rng.integers(0, 10, per_batch, dtype=np.uint8)
        files[f"data_batch_{i}.bin"] = cifar_batch(images, labels)
        train.append((images, labels))
    x_test = rng.integers(0, 256, (n_test, 32, 32, 3), dtype=np.uint8)
    y_test = rng.integers(0, 10, n_test, dtype=np.uint8)
    files["test_batch.bin"] = cifar_batch(x_test, y_test)
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return files, ((x_train, y_train.reshape(-1, 1)), (x_test, y_test.reshape(-1, 1)))


def tar_gz(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def assert_keras_arrays(got, want, image_shape, label_shape):
    (x_train, y_train), (x_test, y_test) = got
    for array, expected in zip((x_train, y_train, x_test, y_test), (*want[0], *want[1])):
        assert array.dtype == np.uint8
        np.testing.assert_array_equal(array, expected)
    assert x_train.shape[1:] == image_shape and y_train.shape[1:] == label_shape
    assert x_test.shape[1:] == image_shape and y_test.shape[1:] == label_shape


# -- the local mirror ----------------------------------------------------------------------------
class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        mirror = self.server.mirror
        name = self.path.lstrip("/")
        mirror.requests.append(name)
        data, mode = mirror.files.get(name), mirror.modes.get(name, "whole")
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            if mode == "whole":
                self.wfile.write(data)
            elif mode == "cut":  # the connection drops halfway
                self.wfile.write(data[:len(data) // 2])
            elif mode == "slow":  # a byte every 0.3 s: never silent long enough for a read timeout
                for i in range(len(data)):
                    if mirror.stopping.wait(0.3):
                        break
                    self.wfile.write(data[i:i + 1])
                    self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should

    def log_message(self, *args):
        pass


class Mirror:
    def __init__(self):
        self.files, self.modes, self.requests = {}, {}, []
        self.stopping = threading.Event()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.mirror = self
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    for var in ("NNPLUG_DATA_DIR", "NNPLUG_MNIST_URL", "NNPLUG_FASHION_MNIST_URL", "NNPLUG_CIFAR10_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # never the real user cache
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")


@pytest.fixture
def mirror():
    m = Mirror()
    yield m
    m.close()


def serve_mnist(mirror, monkeypatch, seed=1):
    """Serve a synthetic MNIST (gzipped, as published) whose raw hashes replace the published ones."""
    files, arrays = idx_set(seed)
    for name, raw in files.items():
        mirror.files[name + ".gz"] = gzip.compress(raw)
        monkeypatch.setitem(mnist_impl.SHA256, name, hashlib.sha256(raw).hexdigest())
    return arrays


def serve_fashion(mirror, monkeypatch, seed=2):
    files, arrays = idx_set(seed)
    for name, raw in files.items():
        gz = gzip.compress(raw)
        mirror.files[name + ".gz"] = gz
        monkeypatch.setitem(fashion_impl.HASHES, name, "md5:" + hashlib.md5(gz).hexdigest())
    return arrays


def serve_cifar(mirror, monkeypatch, seed=3):
    files, arrays = cifar_set(seed)
    archive = tar_gz({"cifar-10-batches-bin/batches.meta.txt": b"airplane\n",
                      **{f"cifar-10-batches-bin/{n}": d for n, d in files.items()}})
    mirror.files[cifar_impl.ARCHIVE] = archive
    monkeypatch.setattr(cifar_impl, "ARCHIVE_HASH", "md5:" + hashlib.md5(archive).hexdigest())
    return arrays


def cache(name, tmp_path):
    return tmp_path / "cache" / "nnplug" / name


# -- downloads -----------------------------------------------------------------------------------
def test_mnist_and_fashion_download_into_the_cache_once(mirror, monkeypatch, tmp_path):
    want_mnist = serve_mnist(mirror, monkeypatch)
    assert_keras_arrays(mnist.load_data(base_url=mirror.url), want_mnist, (28, 28), ())
    assert sorted(p.name for p in cache("mnist", tmp_path).iterdir()) == sorted(IDX_NAMES)  # unpacked, no temp
    monkeypatch.setenv("NNPLUG_FASHION_MNIST_URL", mirror.url)
    want_fashion = serve_fashion(mirror, monkeypatch)
    assert_keras_arrays(fashion_mnist.load_data(), want_fashion, (28, 28), ())
    assert sorted(p.name for p in cache("fashion_mnist", tmp_path).iterdir()) == sorted(n + ".gz" for n in IDX_NAMES)
    assert len(mirror.requests) == 8
    mnist.load_data(base_url=mirror.url)  # cached: nothing is fetched again
    fashion_mnist.load_data()
    assert len(mirror.requests) == 8


def test_cifar10_download_reads_the_binary_archive_as_keras_returns_it(mirror, monkeypatch, tmp_path):
    want = serve_cifar(mirror, monkeypatch)
    got = cifar10.load_data(base_url=mirror.url)
    assert_keras_arrays(got, want, (32, 32, 3), (1,))
    assert got[0][0].shape == (15, 32, 32, 3) and got[1][1].shape == (2, 1)
    assert [p.name for p in cache("cifar10", tmp_path).iterdir()] == [cifar_impl.ARCHIVE]  # never extracted


def test_bad_checksum_is_named_and_leaves_nothing(mirror, monkeypatch, tmp_path):
    serve_fashion(mirror, monkeypatch)
    monkeypatch.setitem(fashion_impl.HASHES, "t10k-labels-idx1-ubyte", "md5:" + "0" * 32)
    with pytest.raises(DataFileError, match="checksum mismatch for Fashion-MNIST file t10k-labels-idx1-ubyte"):
        fashion_mnist.load_data(base_url=mirror.url)
    assert "t10k-labels-idx1-ubyte.gz" not in [p.name for p in cache("fashion_mnist", tmp_path).iterdir()]
    assert len(list(cache("fashion_mnist", tmp_path).iterdir())) == 3
    serve_cifar(mirror, monkeypatch)
    monkeypatch.setattr(cifar_impl, "ARCHIVE_HASH", "md5:" + "1" * 32)
    with pytest.raises(DataFileError, match="checksum mismatch for CIFAR-10 archive cifar-10-binary.tar.gz"):
        cifar10.load_data(base_url=mirror.url)
    assert list(cache("cifar10", tmp_path).iterdir()) == []


def test_slow_sender_hits_the_overall_deadline(mirror, monkeypatch, tmp_path):
    """A byte every 0.3 s never trips a per-read timeout; download(timeout=1) still ends in about 1 s."""
    serve_mnist(mirror, monkeypatch)
    mirror.modes["train-labels-idx1-ubyte.gz"] = "slow"
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"MNIST file train-labels-idx1-ubyte from .* did not finish within "
                                            r"the 1 s deadline .*set NNPLUG_MNIST_URL to a mirror"):
        mnist_impl.download("train-labels-idx1-ubyte", tmp_path / "target", base_url=mirror.url, timeout=1)
    assert time.monotonic() - start < 3
    assert list((tmp_path / "target").iterdir()) == []
    start = time.monotonic()
    with pytest.raises(DownloadError, match="deadline"):
        mnist.load_data(base_url=mirror.url, timeout=0.5)
    assert time.monotonic() - start < 3


def test_cut_connection_and_truncated_file_are_refused(mirror, monkeypatch, tmp_path):
    serve_mnist(mirror, monkeypatch)
    mirror.modes["train-images-idx3-ubyte.gz"] = "cut"
    with pytest.raises(DownloadError, match=r"MNIST file train-images-idx3-ubyte .* cut short: \d+ of \d+ bytes"):
        mnist.load_data(base_url=mirror.url)
    assert list(cache("mnist", tmp_path).iterdir()) == []
    # a file truncated on the mirror itself: served whole, but its gzip stream stops early
    mirror.modes.clear()
    whole = mirror.files["train-images-idx3-ubyte.gz"]
    mirror.files["train-images-idx3-ubyte.gz"] = whole[:len(whole) // 2]
    with pytest.raises(DataFileError, match="train-images-idx3-ubyte from .* ends inside its gzip stream"):
        mnist.load_data(base_url=mirror.url)
    assert list(cache("mnist", tmp_path).iterdir()) == []


def test_size_caps_on_the_wire_and_when_inflating(mirror, tmp_path):
    mirror.files["big.bin"] = b"x" * 5000
    with pytest.raises(DownloadError, match="big.bin from .* is 5000 bytes, more than the 4096-byte limit"):
        fetch.fetch(mirror.url + "big.bin", tmp_path, "big.bin", None, max_bytes=4096, progress=False)
    mirror.files["bomb.gz"] = gzip.compress(bytes(10 << 20))  # 10 kB that inflate to 10 MB
    with pytest.raises(DataFileError, match=r"bomb from .*bomb.gz inflates to more than 1048576 bytes; refused"):
        fetch.fetch(mirror.url + "bomb.gz", tmp_path, "bomb", None, max_bytes=1 << 20, gunzip=True, progress=False)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DownloadError, match="could not download nothing.bin from .*404"):
        fetch.fetch(mirror.url + "nothing.bin", tmp_path, "nothing.bin", None, progress=False)


# -- local files -----------------------------------------------------------------------------------
def gzip_bomb(header_dims, inflated=600 << 20):
    """A gzip file of well under 1 MB: an IDX header declaring `header_dims`, then `inflated` zero bytes."""
    block = 8 << 20
    member = zlib.compressobj(9, zlib.DEFLATED, 31)
    member = member.compress(bytes(block)) + member.flush()
    header = bytes([0, 0, 8, len(header_dims)]) + b"".join(d.to_bytes(4, "big") for d in header_dims)
    return gzip.compress(header) + member * (inflated // block)


@pytest.mark.parametrize("declared, message", [
    ((765306, 28, 28), r"its header \(765306, 28, 28\) declares 599999904 bytes of data, more than the"),
    ((5, 28, 28), r"more than 65536 bytes more than its header \(5, 28, 28\) describes; refused"),
], ids=["honest-header", "lying-header"])
def test_decompression_bomb_is_refused_without_inflating_it(tmp_path, declared, message):
    files, _ = idx_set(4)
    for name, raw in files.items():
        (tmp_path / (name + ".gz")).write_bytes(gzip.compress(raw))
    bomb = tmp_path / "train-images-idx3-ubyte.gz"
    bomb.write_bytes(gzip_bomb(declared))
    assert bomb.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(DataFileError, match=message) as err:
            mnist.load_data(tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(bomb) in str(err.value)
    assert peak < 8 << 20  # nothing near 600 MB was allocated


def test_header_larger_than_a_gzip_file_can_hold_is_refused_before_allocating(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 1]) + (200 << 20).to_bytes(4, "big")))
    with pytest.raises(DataFileError, match=r"truncated, a \d+-byte gzip file cannot hold the 209715200 bytes"):
        idx.read_idx(path, 1)


def test_offline_from_the_data_dir_and_a_folder_argument(tmp_path, monkeypatch):
    monkeypatch.setenv("NNPLUG_MNIST_URL", "http://127.0.0.1:9/")  # any download attempt would fail loudly
    monkeypatch.setenv("NNPLUG_FASHION_MNIST_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("NNPLUG_CIFAR10_URL", "http://127.0.0.1:9/")
    data = tmp_path / "data"
    files, want_fashion = idx_set(5)
    (data / "fashion_mnist").mkdir(parents=True)
    for name, raw in files.items():
        (data / "fashion_mnist" / name).write_bytes(raw)  # raw IDX files, unpacked by hand
    cifar_files, want_cifar = cifar_set(6)
    (data / "cifar10" / cifar_impl.FOLDER).mkdir(parents=True)
    for name, raw in cifar_files.items():
        (data / "cifar10" / cifar_impl.FOLDER / name).write_bytes(raw)  # the archive unpacked by hand
    monkeypatch.setenv("NNPLUG_DATA_DIR", str(data))
    assert_keras_arrays(fashion_mnist.load_data(), want_fashion, (28, 28), ())
    assert_keras_arrays(cifar10.load_data(), want_cifar, (32, 32, 3), (1,))
    with pytest.raises(FileNotFoundError, match=r"MNIST file train-images-idx3-ubyte .* not found in .*data/mnist"):
        mnist.load_data()  # $NNPLUG_DATA_DIR is never downloaded into unasked
    # a folder argument holding the archive as published
    (tmp_path / "own").mkdir()
    (tmp_path / "own" / cifar_impl.ARCHIVE).write_bytes(tar_gz({f"{cifar_impl.FOLDER}/{n}": d
                                                              for n, d in cifar_files.items()}))
    assert_keras_arrays(cifar10.load_data(tmp_path / "own"), want_cifar, (32, 32, 3), (1,))
    with pytest.raises(FileNotFoundError, match=r"CIFAR-10 \(cifar-10-binary.tar.gz or cifar-10-batches-bin/\) "
                                                r"not found in .*nowhere"):
        cifar10.load_data(tmp_path / "nowhere")


def test_broken_cifar_files_are_named(tmp_path):
    files, _ = cifar_set(7)
    folder = tmp_path / cifar_impl.FOLDER
    folder.mkdir()
    for name, raw in files.items():
        (folder / name).write_bytes(raw)
    (folder / "data_batch_3.bin").write_bytes(files["data_batch_3.bin"][:-5])
    with pytest.raises(DataFileError, match=r"data_batch_3.bin: 9214 bytes is not a whole number of 3073-byte"):
        cifar10.load_data(tmp_path)
    bad = bytearray(files["data_batch_3.bin"])
    bad[3073] = 11
    (folder / "data_batch_3.bin").write_bytes(bytes(bad))
    with pytest.raises(DataFileError, match="data_batch_3.bin: label 11 is out of range 0..9"):
        cifar10.load_data(tmp_path)
    archive = tmp_path / "a" / cifar_impl.ARCHIVE
    archive.parent.mkdir()
    archive.write_bytes(tar_gz({f"{cifar_impl.FOLDER}/{n}": d for n, d in files.items() if n != "test_batch.bin"}))
    with pytest.raises(DataFileError, match=r"lacks cifar-10-batches-bin/test_batch.bin"):
        cifar10.load_data(archive.parent)
    whole = tar_gz({f"{cifar_impl.FOLDER}/{n}": d for n, d in files.items()})
    archive.write_bytes(whole[:len(whole) // 2])
    with pytest.raises(DataFileError, match="not a complete tar.gz archive"):
        cifar10.load_data(archive.parent)


# -- the real data ---------------------------------------------------------------------------------
# Per-class counts of the real MNIST, as published (train, then test).
MNIST_COUNTS = ([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
                [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])


@pytest.mark.skipif(SHARED is None, reason="the real MNIST IDX files are not here (shared/data/mnist)")
def test_real_mnist_through_keras_datasets(monkeypatch):
    monkeypatch.setenv("NNPLUG_DATA_DIR", str(SHARED))  # the folder itself holds the files
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert np.bincount(y_train).tolist() == MNIST_COUNTS[0] and np.bincount(y_test).tolist() == MNIST_COUNTS[1]
    assert x_train.flags.writeable and int(x_train.max()) == 255
