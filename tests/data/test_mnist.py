import gzip
import hashlib
import http.server
import importlib.util
import shutil
import threading
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from steadygan.data import mnist
from steadygan.data.errors import DataError
from steadygan.data.mnist import load_bundled_mnist, load_mnist, read_idx

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def idx_bytes(arr: np.ndarray) -> bytes:
    header = b"\x00\x00\x08" + bytes([arr.ndim])
    header += b"".join(d.to_bytes(4, "big") for d in arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def write_idx(path: Path, arr: np.ndarray) -> Path:
    data = idx_bytes(arr)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def fake_split(folder: Path, n_images: int = 5, n_labels: int = 5, gz: bool = False) -> None:
    rng = np.random.default_rng(0)
    ext = ".gz" if gz else ""
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / f"train-images-idx3-ubyte{ext}", rng.integers(0, 256, (n_images, 28, 28)))
    write_idx(folder / f"train-labels-idx1-ubyte{ext}", rng.integers(0, 10, n_labels))


# --- the real files ---------------------------------------------------------


def test_real_mnist_loads_and_verifies(mnist_dir):
    images, labels = load_mnist(mnist_dir, "train", download=False)
    assert images.shape == (60000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (60000,) and labels.dtype == np.uint8
    assert np.bincount(labels).min() > 5000
    images, labels = load_mnist(mnist_dir, "test", download=False)
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)


def test_real_mnist_altered_copy_fails_md5(mnist_dir, tmp_path):
    shutil.copy(mnist_dir / "t10k-images-idx3-ubyte.gz", tmp_path)
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")
    labels[0] = (labels[0] + 1) % 10  # still a valid IDX file, just not the official one
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels)
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte: md5 mismatch"):
        load_mnist(tmp_path, "test", download=False)
    _, loaded = load_mnist(tmp_path, "test", verify=False, download=False)
    assert loaded[0] == labels[0]


def test_real_gzip_and_raw_read_the_same(mnist_dir, tmp_path):
    raw = tmp_path / "t10k-labels-idx1-ubyte"
    raw.write_bytes(gzip.decompress((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    assert np.array_equal(read_idx(raw), read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz"))


# --- read_idx on synthetic files -------------------------------------------


@pytest.mark.parametrize("name", ["x-idx3-ubyte", "x-idx3-ubyte.gz"])
def test_read_idx_raw_and_gzip(tmp_path, name):
    arr = np.arange(2 * 28 * 28).reshape(2, 28, 28) % 256
    out = read_idx(write_idx(tmp_path / name, arr))
    assert out.dtype == np.uint8 and np.array_equal(out, arr)
    out[0, 0, 0] = 7  # callers get a writable array


def test_read_idx_sniffs_gzip_without_suffix(tmp_path):
    path = tmp_path / "labels"
    path.write_bytes(gzip.compress(idx_bytes(np.array([1, 2, 3]))))
    assert read_idx(path).tolist() == [1, 2, 3]


def test_truncated_gzip_names_file(tmp_path):
    good = gzip.compress(idx_bytes(np.zeros((3, 28, 28))))
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: truncated or corrupt gzip"):
        read_idx(path)


def test_wrong_magic(tmp_path):
    path = tmp_path / "bad-idx3-ubyte"
    path.write_bytes(b"\x00\x00\x0d\x03" + b"\x00" * 100)  # dtype 0x0d = float, not MNIST
    expected = r"bad-idx3-ubyte: not an MNIST IDX file \(magic 0x00000d03"
    with pytest.raises(DataError, match=expected):
        read_idx(path)
    path.write_bytes(b"PK\x03\x04 definitely not idx")
    with pytest.raises(DataError, match="not an MNIST IDX file"):
        read_idx(path)


@pytest.mark.parametrize(
    "cut, message",
    [(-10, "truncated: "), (2, "too short"), (10, "file ends inside the IDX header")],
)
def test_short_file(tmp_path, cut, message):
    data = idx_bytes(np.zeros((3, 28, 28)))
    path = tmp_path / "short-idx3-ubyte"
    path.write_bytes(data[:cut])
    with pytest.raises(DataError, match=f"short-idx3-ubyte: {message}"):
        read_idx(path)


def test_trailing_bytes(tmp_path):
    path = tmp_path / "long-idx1-ubyte"
    path.write_bytes(idx_bytes(np.zeros(4)) + b"\x00")
    with pytest.raises(DataError, match="has trailing bytes"):
        read_idx(path)


# --- load_mnist on synthetic folders ---------------------------------------


def test_count_mismatch(tmp_path):
    fake_split(tmp_path, n_images=5, n_labels=4)
    with pytest.raises(DataError, match="5 images but train-labels-idx1-ubyte has 4 labels"):
        load_mnist(tmp_path, verify=False, download=False)


def test_synthetic_files_fail_md5_but_load_unverified(tmp_path):
    fake_split(tmp_path, gz=True)
    with pytest.raises(DataError) as err:
        load_mnist(tmp_path, download=False)
    bad = tmp_path / "train-images-idx3-ubyte.gz"
    assert str(err.value) == f"{bad}: md5 mismatch (corrupt or not the official file)"
    images, labels = load_mnist(tmp_path, verify=False, download=False)
    assert images.shape == (5, 28, 28) and labels.shape == (5,)


def test_labels_out_of_range(tmp_path):
    fake_split(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.array([0, 1, 2, 3, 12]))
    with pytest.raises(DataError, match="label 12 is outside 0-9"):
        load_mnist(tmp_path, verify=False, download=False)


def test_images_in_labels_slot(tmp_path):
    fake_split(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((5, 32, 32)))
    with pytest.raises(DataError, match=r"expected images shaped \(N, 28, 28\)"):
        load_mnist(tmp_path, verify=False, download=False)


def test_bad_split_and_file_as_dir(tmp_path):
    with pytest.raises(DataError, match="split='val'"):
        load_mnist(tmp_path, "val", download=False)
    not_dir = tmp_path / "file"
    not_dir.write_text("x")
    with pytest.raises(DataError, match=f"{not_dir}: not a folder"):
        load_mnist(not_dir, download=False)


def test_missing_dir_without_download(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError) as err:
        load_mnist(missing, download=False)
    msg = str(err.value)
    assert "\n" not in msg
    assert str(missing) in msg and "train-images-idx3-ubyte" in msg
    assert "--data-dir" in msg and "STEADYGAN_MNIST_DIR" in msg
    assert not missing.exists()


def test_download_fails_fast_offline(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "MIRRORS", ["http://127.0.0.1:9/", "http://127.0.0.1:9/mirror2/"])
    missing = tmp_path / "cache" / "mnist"
    start = time.monotonic()
    with pytest.raises(DataError) as err:
        load_mnist(missing, "test")
    assert time.monotonic() - start < 5
    msg = str(err.value)
    assert "\n" not in msg
    assert "t10k-images-idx3-ubyte not found and download failed" in msg
    assert "http://127.0.0.1:9/t10k-images-idx3-ubyte.gz" in msg
    assert "--data-dir" in msg and "STEADYGAN_MNIST_DIR" in msg
    assert not missing.exists()  # the folder it made for the download is cleaned up


def test_only_missing_files_are_fetched(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "MIRRORS", ["http://127.0.0.1:9/"])
    fake_split(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="train-labels-idx1-ubyte not found and download failed"):
        load_mnist(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train-images-idx3-ubyte"]


@pytest.fixture
def http_dir(tmp_path):
    """A throwaway HTTP server on localhost; yields (folder it serves, its URL)."""
    served = tmp_path / "served"
    served.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=served))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_download_from_mirror(tmp_path, monkeypatch, http_dir):
    served, url = http_dir
    fake_split(served, gz=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        md5 = hashlib.md5(gzip.decompress((served / f"{name}.gz").read_bytes())).hexdigest()
        monkeypatch.setitem(mnist.MNIST_FILES, name, md5)
    # The first mirror is dead; the loader must move on to the second.
    monkeypatch.setattr(mnist, "MIRRORS", ["http://127.0.0.1:9/", url])
    dest = tmp_path / "dest"
    images, labels = load_mnist(dest)
    assert images.shape == (5, 28, 28) and labels.shape == (5,)
    assert sorted(p.name for p in dest.iterdir()) == [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
    ]


def test_download_with_wrong_content_leaves_nothing(tmp_path, monkeypatch, http_dir):
    served, url = http_dir
    fake_split(served, gz=True)  # real md5s in MNIST_FILES will not match these
    monkeypatch.setattr(mnist, "MIRRORS", [url])
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(DataError, match="download failed .*md5 mismatch"):
        load_mnist(dest)
    assert list(dest.iterdir()) == []


def test_default_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("STEADYGAN_MNIST_DIR", str(tmp_path / "env"))
    assert mnist.default_mnist_dir() == tmp_path / "env"
    monkeypatch.delenv("STEADYGAN_MNIST_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert mnist.default_mnist_dir() == tmp_path / "xdg" / "steadygan" / "mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert mnist.default_mnist_dir() == Path.home() / ".cache" / "steadygan" / "mnist"


def test_none_dir_uses_env(monkeypatch, tmp_path):
    fake_split(tmp_path)
    monkeypatch.setenv("STEADYGAN_MNIST_DIR", str(tmp_path))
    images, _ = load_mnist(None, verify=False, download=False)
    assert images.shape == (5, 28, 28)


# --- the bundled subset -----------------------------------------------------


def test_bundled_subset_shape_and_balance():
    images, labels = load_bundled_mnist()
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == [1000] * 10
    assert len(set(labels[:30].tolist())) > 5  # shuffled, not sorted by class
    assert mnist.BUNDLED_PATH.stat().st_size < 2_500_000


def test_bundled_subset_is_reproducible(mnist_dir):
    spec = importlib.util.spec_from_file_location(
        "make_bundled_subset", PROJECT_ROOT / "tools" / "make_bundled_subset.py"
    )
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    images, labels = load_mnist(mnist_dir, "train", download=False)
    built = tool.build_subset(images, labels, mnist.BUNDLED_PER_CLASS, mnist.BUNDLED_SEED)
    bundled = load_bundled_mnist()
    assert np.array_equal(built[0], bundled[0]) and np.array_equal(built[1], bundled[1])


def test_bundled_subset_corrupt_or_missing(tmp_path, monkeypatch):
    images, labels = load_bundled_mnist()
    altered = tmp_path / "altered.npz"
    images = images.copy()
    images[0, 0, 0] ^= 1
    np.savez_compressed(altered, images=images, labels=labels)
    monkeypatch.setattr(mnist, "BUNDLED_PATH", altered)
    with pytest.raises(DataError, match="altered.npz: md5 mismatch"):
        load_bundled_mnist()
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"PK\x03\x04 not a zip")
    monkeypatch.setattr(mnist, "BUNDLED_PATH", garbage)
    with pytest.raises(DataError, match="garbage.npz: cannot read"):
        load_bundled_mnist()
    monkeypatch.setattr(mnist, "BUNDLED_PATH", tmp_path / "gone.npz")
    with pytest.raises(DataError, match="gone.npz: bundled MNIST subset is missing"):
        load_bundled_mnist()
