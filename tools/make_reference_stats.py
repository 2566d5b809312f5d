"""Write the shipped MNIST test-set feature statistics used by the live FID during training.

    python tools/make_reference_stats.py --data-dir ../shared/data/mnist

Mean and covariance of the shipped classifier's features over the 10,000 test images, stored with
the sha256 of the weights they belong to, so a run can measure FID offline.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from steadygan.metrics.live import STATS_PATH, write_reference_stats
from steadygan.metrics.reference import mnist_reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=str(STATS_PATH))
    args = parser.parse_args()
    reference = mnist_reference(args.data_dir, use_cache=False)
    write_reference_stats(reference, Path(args.out))
    print(f"wrote {args.out} ({len(reference)} test images)")


if __name__ == "__main__":
    main()
