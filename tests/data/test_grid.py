import numpy as np
import pytest
from PIL import Image

from steadygan.data.grid import make_grid, save_grid


def batch(n: int, c: int, size: int = 28) -> np.ndarray:
    # Image i is filled with 20*i+10 so each tile is identifiable.
    return (np.arange(n, dtype=np.uint8) * 20 + 10)[:, None, None, None].repeat(c, 1).repeat(
        size, 2
    ).repeat(size, 3)


@pytest.mark.parametrize("channels, mode", [(1, "L"), (3, "RGB")])
def test_png_size_and_mode(tmp_path, channels, mode):
    path = tmp_path / "new" / "dirs" / "grid.png"
    save_grid(batch(10, channels), path, nrow=5, padding=2)
    with Image.open(path) as img:
        assert img.size == (5 * 30 + 2, 2 * 30 + 2)  # (width, height)
        assert img.mode == mode
        pixels = np.asarray(img)
    assert pixels[0, 0].max() == 0  # padding is black
    # Tile 7 sits in row 1, column 2; its center pixel has its fill value.
    assert np.all(pixels[2 + 30 + 14, 2 + 2 * 30 + 14] == 7 * 20 + 10)
    assert sorted(p.name for p in path.parent.iterdir()) == ["grid.png"]  # no temp left


def test_default_nrow_is_near_square():
    assert make_grid(batch(10, 1, 4), padding=0).shape == (1, 3 * 4, 4 * 4)
    assert make_grid(batch(64, 1, 4), padding=1).shape == (1, 8 * 5 + 1, 8 * 5 + 1)
    assert make_grid(batch(3, 1, 4), nrow=8, padding=0).shape == (1, 4, 3 * 4)


def test_overwrites_existing(tmp_path):
    path = tmp_path / "g.png"
    path.write_bytes(b"old")
    save_grid(batch(4, 3, 8), path, nrow=2, padding=0)
    with Image.open(path) as img:
        assert img.size == (16, 16)


@pytest.mark.parametrize(
    "images, nrow",
    [
        (np.zeros((0, 1, 4, 4), np.uint8), None),
        (np.zeros((2, 2, 4, 4), np.uint8), None),
        (np.zeros((2, 1, 4, 4), np.float32), None),
        (np.zeros((2, 4, 4), np.uint8), None),
        (np.zeros((2, 1, 4, 4), np.uint8), 0),
    ],
)
def test_bad_input(tmp_path, images, nrow):
    with pytest.raises(ValueError):
        save_grid(images, tmp_path / "x.png", nrow=nrow)
    assert not (tmp_path / "x.png").exists()
