"""Train the MNIST classifier whose features the domain metrics use, and ship its weights.

    python tools/train_classifier.py --data-dir ../shared/data/mnist --epochs 4 --seed 0

Writes steadygan/metrics/weights/mnist_classifier.pt (fp16, under 1 MB) through
a temp file, so an interrupted run never leaves half a weights file, and
prints the accuracy on the 10,000 MNIST test images. Changing the weights
changes every published FID figure: reference statistics are cached per
weights hash, so they are recomputed on their own.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # so the script runs from a plain checkout

from steadygan.data.errors import DataError  # noqa: E402
from steadygan.data.mnist import load_mnist  # noqa: E402
from steadygan.metrics.classifier import (  # noqa: E402
    WEIGHTS_PATH,
    accuracy,
    fp16_state,
    train_classifier,
)


def save_atomic(obj: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            torch.save(obj, out)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the file ships in the package
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, default=None, help="folder with the MNIST IDX files")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    # On a CPU shared with other jobs one thread can be several times faster
    # than two: OpenMP threads stall waiting for a busy core.
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--limit", type=int, default=None, help="train on the first N images only")
    p.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    try:
        model = train_classifier(
            args.data_dir,
            args.epochs,
            args.seed,
            args.device,
            limit=args.limit,
            log=lambda m: print(m, flush=True),
        )
        test_images, test_labels = load_mnist(args.data_dir, "test")
    except ValueError as exc:  # DataError included: bad data or impossible settings
        print(f"error: {exc}", file=sys.stderr)
        return 2
    train_s = time.perf_counter() - start
    state = fp16_state(model)
    model.load_state_dict(state)  # measure the weights as shipped, rounded to fp16
    acc = accuracy(model, test_images, test_labels)
    meta = {  # plain types only: load_classifier reads with weights_only=True
        "epochs": args.epochs,
        "seed": args.seed,
        "threads": args.threads,
        "limit": args.limit,
        "test_accuracy": acc,
        "train_seconds": round(train_s, 1),
        "torch": str(torch.__version__),
    }
    save_atomic({"state_dict": state, "meta": meta}, args.out)
    size_kb = args.out.stat().st_size / 1024
    print(f"test accuracy {acc * 100:.2f} % on {len(test_labels)} images")
    print(f"trained in {train_s:.0f} s; wrote {args.out} ({size_kb:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
