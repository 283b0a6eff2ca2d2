"""nnplug.datasets.mnist on IDX files the tests write (gzipped and raw, good and broken), the checked
download through a local file:// URL (no network), and one fast look at the real shared MNIST.
Downloads over HTTP (slow, cut-short and oversized senders) are in test_datasets.py."""
import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from nnplug.datasets import mnist

# The real MNIST beside the repository (shared/data/mnist), or where this machine keeps it.
SHARED = next((p for p in (Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist",
                           Path("/work/shared/data/mnist")) if p.is_dir()),
              Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist")


def idx_bytes(array, magic_type=0x08):
    array = np.asarray(array, np.uint8)
    header = bytes([0, 0, magic_type, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def write(folder, name, data, gz):
    path = Path(folder) / (name + ".gz" if gz else name)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def make_set(folder, n_train=5, n_test=3, gz=True, seed=0):
    Path(folder).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = {}
    for kind, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        img_name, lab_name = mnist.file_names(kind)
        write(folder, img_name, idx_bytes(images), gz)
        write(folder, lab_name, idx_bytes(labels), gz)
        out[kind] = (images, labels)
    return out


@pytest.fixture(autouse=True)
def no_env(monkeypatch, tmp_path):
    monkeypatch.delenv("NNPLUG_DATA_DIR", raising=False)
    monkeypatch.delenv("NNPLUG_MNIST_URL", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))  # never the real user cache


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "raw"])
def test_load_data_reads_written_files(tmp_path, gz):
    expected = make_set(tmp_path, gz=gz)
    (x_train, y_train), (x_test, y_test) = mnist.load_data(tmp_path)
    for got, want in ((x_train, expected["train"][0]), (y_train, expected["train"][1]),
                      (x_test, expected["t10k"][0]), (y_test, expected["t10k"][1])):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, want)
    assert x_train.shape == (5, 28, 28) and y_test.shape == (3,)


def test_load_mnist_flattens_and_scales(tmp_path):
    expected = make_set(tmp_path)
    for kind, key in (("train", "train"), ("t10k", "t10k"), ("test", "t10k")):
        x, y = mnist.load_mnist(str(tmp_path), kind=kind)
        images, labels = expected[key]
        assert x.dtype == np.float32 and x.shape == (len(images), 784)
        np.testing.assert_allclose(x, ((images.reshape(len(images), -1) / 255.0) - 0.5) * 2, rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(y, labels)
    x, _ = mnist.load_mnist(tmp_path)
    assert x.min() >= -1.0 and x.max() <= 1.0
    with pytest.raises(ValueError, match="unknown MNIST kind 'valid'"):
        mnist.load_mnist(tmp_path, kind="valid")


def test_env_folder_or_its_mnist_subfolder(tmp_path, monkeypatch):
    expected = make_set(tmp_path / "data" / "mnist")
    monkeypatch.setenv("NNPLUG_DATA_DIR", str(tmp_path / "data"))
    np.testing.assert_array_equal(mnist.load_data()[0][1], expected["train"][1])
    monkeypatch.setenv("NNPLUG_DATA_DIR", str(tmp_path / "data" / "mnist"))
    np.testing.assert_array_equal(mnist.load_data()[1][0], expected["t10k"][0])


def test_missing_file_is_named(tmp_path):
    make_set(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"t10k-labels-idx1-ubyte \(or t10k-labels-idx1-ubyte.gz\)"):
        mnist.load_data(tmp_path)
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        mnist.load_data(tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()  # an explicit folder is not downloaded into by default


BAD_FILES = {
    "truncated data": (lambda imgs, labs: idx_bytes(imgs)[:-10], "truncated"),
    "truncated header": (lambda imgs, labs: idx_bytes(imgs)[:9], "truncated inside its header"),
    "tiny": (lambda imgs, labs: b"\x00\x00", "shorter than an IDX header"),
    "extra bytes": (lambda imgs, labs: idx_bytes(imgs) + b"\x00" * 7, "7 bytes more"),
    "bad magic": (lambda imgs, labs: b"\x1f\x8b" + idx_bytes(imgs)[2:], "bad magic number"),
    "float type": (lambda imgs, labs: idx_bytes(imgs, magic_type=0x0D), "bad magic number"),
    "wrong ndim": (lambda imgs, labs: idx_bytes(imgs.reshape(len(imgs), -1)), "has 2 dimension"),
    "wrong size": (lambda imgs, labs: idx_bytes(imgs[:, :20, :20]), "images are 20x20, expected 28x28"),
}


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "raw"])
@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_image_file_is_named(tmp_path, case, gz):
    sets = make_set(tmp_path, gz=gz)
    images, labels = sets["train"]
    build, message = BAD_FILES[case]
    bad = write(tmp_path, "train-images-idx3-ubyte", build(images, labels), gz)
    with pytest.raises(mnist.IDXFormatError) as err:
        mnist.load_data(tmp_path)
    assert str(bad) in str(err.value) and message in str(err.value)


def test_bad_label_files_and_count_mismatch(tmp_path):
    sets = make_set(tmp_path)
    images, labels = sets["train"]
    write(tmp_path, "train-labels-idx1-ubyte", idx_bytes(labels[:4]), True)
    with pytest.raises(mnist.IDXFormatError, match=r"holds 5 images but .*train-labels-idx1-ubyte.gz holds 4"):
        mnist.load_data(tmp_path)
    write(tmp_path, "train-labels-idx1-ubyte", idx_bytes(np.array([1, 2, 12, 3, 4])), True)
    with pytest.raises(mnist.IDXFormatError, match="label 12 is out of range"):
        mnist.load_data(tmp_path)
    good = gzip.compress(idx_bytes(labels))
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(good[:len(good) // 2])
    with pytest.raises(mnist.IDXFormatError, match=r"train-labels-idx1-ubyte.gz: not a complete gzip file"):
        mnist.load_data(tmp_path)


# -- downloading ---------------------------------------------------------------------------
@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A local folder served as a file:// mirror, with the published hashes replaced by its files' hashes."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    sets = make_set(folder, seed=7)
    for name in mnist.SHA256:
        raw = gzip.decompress((folder / (name + ".gz")).read_bytes())
        monkeypatch.setitem(mnist.SHA256, name, hashlib.sha256(raw).hexdigest())
    return folder.as_uri(), sets


def test_download_fills_the_cache_when_no_folder_is_given(tmp_path, mirror):
    url, sets = mirror
    (x_train, y_train), (x_test, y_test) = mnist.load_data(base_url=url)
    np.testing.assert_array_equal(x_train, sets["train"][0])
    np.testing.assert_array_equal(y_test, sets["t10k"][1])
    cache = tmp_path / "xdg-cache" / "nnplug" / "mnist"
    assert mnist.cache_dir() == cache
    # unpacked on the way in (the published hashes are of the unpacked files); no temporary file left
    assert sorted(p.name for p in cache.iterdir()) == sorted(mnist.SHA256)
    for name in mnist.SHA256:
        assert hashlib.sha256((cache / name).read_bytes()).hexdigest() == mnist.SHA256[name]


def test_download_into_an_explicit_folder_only_when_asked(tmp_path, mirror, monkeypatch):
    url, sets = mirror
    target = tmp_path / "target"
    with pytest.raises(FileNotFoundError):
        mnist.load_data(target, base_url=url)
    monkeypatch.setenv("NNPLUG_MNIST_URL", url)
    (_, y_train), _ = mnist.load_data(target, download=True)
    np.testing.assert_array_equal(y_train, sets["train"][1])


def test_checksum_mismatch_discards_the_download(tmp_path, mirror, monkeypatch):
    url, _ = mirror
    monkeypatch.setitem(mnist.SHA256, "t10k-labels-idx1-ubyte", "0" * 64)
    target = tmp_path / "target"
    with pytest.raises(mnist.IDXFormatError, match="checksum mismatch for MNIST file t10k-labels-idx1-ubyte") as err:
        mnist.load_data(target, download=True, base_url=url)
    names = sorted(os.listdir(target))
    assert "t10k-labels-idx1-ubyte" in str(err.value) and "does not match" in str(err.value)
    assert sorted(names) == ["t10k-images-idx3-ubyte", "train-images-idx3-ubyte", "train-labels-idx1-ubyte"]


def test_unreachable_mirror_names_file_and_url(tmp_path):
    url = (tmp_path / "no-such-mirror").as_uri()
    with pytest.raises(mnist.DownloadError, match=r"could not download MNIST file train-images-idx3-ubyte from "
                                                  r".*no-such.*set NNPLUG_MNIST_URL to a mirror"):
        mnist.load_data(tmp_path / "target", download=True, base_url=url)
    assert os.listdir(tmp_path / "target") == []  # nothing half-written left behind


# -- the real data ---------------------------------------------------------------------------
@pytest.mark.skipif(not SHARED.is_dir(), reason=f"real MNIST not found at {SHARED}")
def test_real_mnist_shapes_labels_and_published_hashes():
    (x_train, y_train), (x_test, y_test) = mnist.load_data(SHARED)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert set(np.unique(y_train)) == set(range(10)) and set(np.unique(y_test)) == set(range(10))
    for name, digest in mnist.SHA256.items():  # the table used to check downloads is the right one
        raw = gzip.decompress(mnist.find_file(SHARED, name).read_bytes())
        assert hashlib.sha256(raw).hexdigest() == digest


# -- the examples that read MNIST --------------------------------------------------------------
def _example(name):
    import importlib.util
    path = Path(__file__).resolve().parents[1] / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_layers_mlp_example_learns_a_separable_toy_set(tmp_path, capsys):
    """The Layers-API example end to end on written IDX files whose label is readable from the pixels."""
    pytest.importorskip("tqdm")
    rng = np.random.default_rng(3)
    for kind, n in (("train", 200), ("t10k", 50)):
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        images = rng.integers(0, 60, size=(n, 28, 28), dtype=np.uint8)
        for i, lab in enumerate(labels):
            images[i, lab, :] = 255  # a bright row whose index is the class
        img_name, lab_name = mnist.file_names(kind)
        write(tmp_path, img_name, idx_bytes(images), True)
        write(tmp_path, lab_name, idx_bytes(labels), True)
    acc = _example("layers_mlp").main(["--data", str(tmp_path), "--epochs", "15", "--learning-rate", "0.1",
                                       "--batch-size", "16"])
    out = capsys.readouterr().out
    assert "Test Accuracy:" in out and "Epoch 15" in out
    assert "\r" not in out  # not a terminal: one clean line per epoch, no progress-bar frames between them
    assert acc > 0.9
