"""Cut a folder of photographs into many random square crops: a small RGB training set.

    python tools/make_photo_crops.py SRC_DIR OUT_DIR --n 2000 --seed 0

Used to show `steadygan train --data folder --image-size 64 --channels 3` on real photographs
when no photo dataset is at hand (the crops are JPEGs of 64..256 px, resized later by the loader).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from steadygan.data.folder import list_images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src")
    parser.add_argument("out")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    photos = [Image.open(p).convert("RGB") for p in list_images(Path(args.src))]
    if not photos:
        raise SystemExit(f"{args.src}: no images found")
    rng = np.random.default_rng(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for i in range(args.n):
        photo = photos[rng.integers(len(photos))]
        side = int(rng.integers(64, min(256, *photo.size) + 1))
        x, y = rng.integers(0, photo.width - side + 1), rng.integers(0, photo.height - side + 1)
        crop = photo.crop((int(x), int(y), int(x) + side, int(y) + side))
        if rng.random() < 0.5:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        crop.save(out / f"crop_{i:05d}.jpg", quality=92)
    print(f"wrote {args.n} crops from {len(photos)} photos to {out}")


if __name__ == "__main__":
    main()
