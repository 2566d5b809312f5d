"""MNIST from the official IDX files: locate, download if allowed, verify, parse.

Also loads the small subset that ships inside the package, so the toolkit
works with no download at all.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import logging
import math
import os
import tempfile
import time
import urllib.request
import zipfile
import zlib
from pathlib import Path
from typing import Literal

import numpy as np

from steadygan.data.errors import DataError

log = logging.getLogger(__name__)

# md5 of the *uncompressed* bytes, so raw and .gz copies verify the same way.
MNIST_FILES: dict[str, str] = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
SPLIT_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# Mirrors serve "<name>.gz"; the original yann.lecun.com host now refuses bots.
MIRRORS: list[str] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
]
ENV_DIR = "STEADYGAN_MNIST_DIR"
# Bounds the time spent *connecting* (all files, all mirrors) so an offline
# machine fails in seconds; once bytes flow, only a stalled read times out.
DOWNLOAD_BUDGET_S = 10.0
_REQUEST_TIMEOUT_S = 5.0

BUNDLED_PATH = Path(__file__).with_name("bundled") / "mnist_subset.npz"
BUNDLED_PER_CLASS = 1000
BUNDLED_SEED = 0
# Content checksums written by tools/make_bundled_subset.py (zip bytes vary
# with timestamps, the arrays do not).
BUNDLED_IMAGES_MD5 = "9fe8f817982bfd1f9eba1b9df465df03"
BUNDLED_LABELS_MD5 = "15239dcec03d411dfd333d5f890142c4"

_GZIP_MAGIC = b"\x1f\x8b"
_IDX_KIND = {1: "labels", 3: "images"}  # ndim byte of the magic -> meaning


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _read_bytes(path: Path) -> bytes:
    """The file's IDX bytes, decompressing gzip (by suffix or by magic)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({_one_line(exc)})") from exc
    if path.suffix == ".gz" or raw[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path}: truncated or corrupt gzip ({_one_line(exc)})") from exc
    return raw


def _parse_idx(data: bytes, path: Path) -> np.ndarray:
    if len(data) < 4:
        raise DataError(f"{path}: too short for an IDX header ({len(data)} bytes)")
    ndim = data[3]
    if data[:3] != b"\x00\x00\x08" or ndim not in _IDX_KIND:
        magic = int.from_bytes(data[:4], "big")
        raise DataError(
            f"{path}: not an MNIST IDX file (magic 0x{magic:08x}, expected "
            "0x00000803 for images or 0x00000801 for labels)"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: file ends inside the IDX header ({len(data)} bytes)")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + math.prod(dims)
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "has trailing bytes"
        raise DataError(
            f"{path}: {what}: {len(data)} bytes but the header's dims {dims} need {expected}"
        )
    # Copy so callers get a writable array, not a view of immutable bytes.
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims).copy()


def read_idx(path: str | Path) -> np.ndarray:
    """Read an MNIST IDX file (raw or .gz) into a uint8 array shaped as its header says."""
    path = Path(path)
    return _parse_idx(_read_bytes(path), path)


def default_mnist_dir() -> Path:
    """$STEADYGAN_MNIST_DIR, else the user cache ($XDG_CACHE_HOME or ~/.cache)/steadygan/mnist."""
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says to ignore a relative value.
    base = Path(cache) if os.path.isabs(cache) else Path.home() / ".cache"
    return base / "steadygan" / "mnist"


def _find(root: Path, name: str) -> Path | None:
    for candidate in (root / name, root / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _fetch(url: str, dest: Path, md5: str, deadline: float) -> None:
    """Download url to dest via a temp file; dest appears only if the md5 matches."""
    timeout = max(0.1, min(_REQUEST_TIMEOUT_S, deadline - time.monotonic()))
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            while chunk := resp.read(1 << 16):
                out.write(chunk)
        if _md5(_read_bytes(tmp)) != md5:
            raise DataError("md5 mismatch")
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the data folder may be shared
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _download(root: Path, name: str, deadline: float) -> str | None:
    """Try every mirror for name; None on success, else why each one failed."""
    reasons = []
    for mirror in MIRRORS:
        if time.monotonic() >= deadline:
            reasons.append(f"gave up after {DOWNLOAD_BUDGET_S:.0f} s")
            break
        url = mirror.rstrip("/") + f"/{name}.gz"
        log.info("downloading %s", url)
        try:
            _fetch(url, root / f"{name}.gz", MNIST_FILES[name], deadline)
            return None
        except (OSError, ValueError, http.client.HTTPException) as exc:
            reasons.append(f"{url}: {_one_line(exc)}")
    return "; ".join(reasons) or "no mirrors configured"


def _where(root: Path, names: list[str]) -> str:
    files = " and ".join(f"{n}(.gz)" for n in names)
    return (
        f"put {files} in {root}, or pass --data-dir / set {ENV_DIR} "
        "to the folder that holds the MNIST files"
    )


def _ensure_files(root: Path, names: list[str], download: bool) -> None:
    if not download:
        raise DataError(
            f"{root}: {', '.join(names)} not found (download disabled); {_where(root, names)}"
        )
    created = not root.exists()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(
            f"{root}: cannot create folder for the MNIST download ({_one_line(exc)})"
        ) from exc
    deadline = time.monotonic() + DOWNLOAD_BUDGET_S
    for name in names:
        reason = _download(root, name, deadline)
        if reason is not None:
            if created:  # leave no empty folder behind on failure
                with contextlib.suppress(OSError):
                    root.rmdir()
            raise DataError(
                f"{root}: {name} not found and download failed ({reason}); "
                + _where(root, [name])
            )


def load_mnist(
    data_dir: str | Path | None = None,
    split: Literal["train", "test"] = "train",
    verify: bool = True,
    download: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST images uint8 (N, 28, 28) and labels uint8 (N,) for a split.

    Files may be raw or .gz. data_dir None means default_mnist_dir().
    Missing files are downloaded when download is True (always md5-checked).
    """
    if split not in SPLIT_FILES:
        raise DataError(f"split={split!r}: expected 'train' or 'test'")
    root = Path(data_dir).expanduser() if data_dir is not None else default_mnist_dir()
    if root.exists() and not root.is_dir():
        raise DataError(f"{root}: not a folder (expected the folder holding the MNIST files)")
    names = SPLIT_FILES[split]
    missing = [n for n in names if _find(root, n) is None]
    if missing:
        _ensure_files(root, missing, download)

    arrays, paths = [], []
    for name in names:
        path = _find(root, name)
        assert path is not None  # _ensure_files raised otherwise
        data = _read_bytes(path)
        arrays.append(_parse_idx(data, path))
        paths.append(path)
        if verify and _md5(data) != MNIST_FILES[name]:
            raise DataError(f"{path}: md5 mismatch (corrupt or not the official file)")
    (images, labels), (images_path, labels_path) = arrays, paths

    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{images_path}: expected images shaped (N, 28, 28), got {images.shape}")
    if labels.ndim != 1:
        raise DataError(f"{labels_path}: expected labels shaped (N,), got {labels.shape}")
    if len(images) != len(labels):
        raise DataError(
            f"{images_path}: {len(images)} images but {labels_path.name} has {len(labels)} labels"
        )
    if labels.size and labels.max() > 9:
        raise DataError(f"{labels_path}: label {labels.max()} is outside 0-9")
    return images, labels


def load_bundled_mnist() -> tuple[np.ndarray, np.ndarray]:
    """The packaged subset: images uint8 (10000, 28, 28), labels uint8 (10000,), 1000 per digit."""
    path = BUNDLED_PATH
    try:
        # Open the file ourselves: np.load leaks its handle when the zip is bad.
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as npz:
            images, labels = npz["images"], npz["labels"]
    except FileNotFoundError as exc:
        raise DataError(
            f"{path}: bundled MNIST subset is missing (reinstall steadygan or run "
            "tools/make_bundled_subset.py)"
        ) from exc
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"{path}: cannot read bundled MNIST subset ({_one_line(exc)})") from exc
    n = 10 * BUNDLED_PER_CLASS
    if (
        images.dtype != np.uint8
        or images.shape != (n, 28, 28)
        or labels.dtype != np.uint8
        or labels.shape != (n,)
    ):
        raise DataError(
            f"{path}: unexpected arrays images {images.dtype}{images.shape}, "
            f"labels {labels.dtype}{labels.shape}"
        )
    if _md5(images.tobytes()) != BUNDLED_IMAGES_MD5 or _md5(labels.tobytes()) != BUNDLED_LABELS_MD5:
        raise DataError(f"{path}: md5 mismatch (corrupt bundled subset; reinstall steadygan)")
    return images, labels
