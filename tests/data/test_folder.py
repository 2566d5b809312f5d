import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from steadygan.data.errors import DataError
from steadygan.data.folder import load_image_folder


def save(path: Path, array: np.ndarray, mode: str | None = None, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(np.asarray(array, dtype=np.uint8))
    if mode:
        img = img.convert(mode)
    img.save(path, format=fmt)
    return path


def png_bytes() -> bytes:
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, format="PNG")  # noise: pixel data spans the whole file
    return buf.getvalue()


@pytest.fixture
def mixed(tmp_path):
    rng = np.random.default_rng(0)
    save(tmp_path / "gray.png", rng.integers(0, 256, (30, 40)))
    save(tmp_path / "sub" / "rgb.jpg", rng.integers(0, 256, (80, 50, 3)))
    save(tmp_path / "sub" / "deeper" / "UPPER.PNG", rng.integers(0, 256, (16, 16, 3)))
    save(tmp_path / "rgba.png", rng.integers(0, 256, (20, 24, 4)))
    save(tmp_path / "palette.bmp", rng.integers(0, 256, (12, 9, 3)), mode="P")
    save(tmp_path / "photo.JPEG", rng.integers(0, 256, (64, 64)))
    save(tmp_path / "small.webp", rng.integers(0, 256, (7, 5, 3)))
    # Ignored: other extensions, hidden files/folders (even if they are not images).
    (tmp_path / "README.txt").write_text("not an image")
    (tmp_path / "pixels.npy").write_bytes(b"\x93NUMPY")
    (tmp_path / "._gray.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble junk")
    save(tmp_path / ".ipynb_checkpoints" / "gray-checkpoint.png", rng.integers(0, 256, (30, 40)))
    return tmp_path


@pytest.mark.parametrize("channels", [1, 3])
def test_mixed_folder_shape_and_dtype(mixed, channels):
    out = load_image_folder(mixed, image_size=16, channels=channels)
    assert out.shape == (7, channels, 16, 16)
    assert out.dtype == np.uint8


def test_gray_to_rgb_and_rgb_to_gray(tmp_path):
    save(tmp_path / "a.png", np.full((4, 4), 100))
    save(tmp_path / "b.png", np.full((4, 4, 3), (255, 0, 0)))
    rgb = load_image_folder(tmp_path, 4, 3)
    assert (rgb[0] == 100).all()  # gray replicated into all three channels
    assert rgb[1, :, 0, 0].tolist() == [255, 0, 0]
    gray = load_image_folder(tmp_path, 4, 1)
    assert gray[1, 0, 0, 0] == 76  # ITU-R 601 luma of pure red


def test_channels_0_takes_what_the_images_are(tmp_path, mixed):
    gray, colour = tmp_path / "gray", tmp_path / "colour"
    rng = np.random.default_rng(1)
    save(gray / "digit.png", rng.integers(0, 256, (20, 20)))
    save(gray / "saved_as_rgb.png", np.repeat(rng.integers(0, 256, (30, 30, 1)), 3, axis=2))
    save(gray / "scan.jpg", np.repeat(rng.integers(0, 256, (24, 24, 1)), 3, axis=2), mode="RGB")
    found, as_l = load_image_folder(gray, 16, 0), load_image_folder(gray, 16, 1)
    assert found.shape == (3, 1, 16, 16)  # no colour: grayscale, with the values "L" gives
    assert np.array_equal(found[:2], as_l[:2])  # the PNGs exactly
    assert np.abs(found[2].astype(int) - as_l[2]).max() <= 1  # the JPEG's channels drift
    save(colour / "a.png", np.full((8, 8), 100))
    save(colour / "b.png", np.full((8, 8, 3), (100, 100 + 9, 100)))  # one channel 9 levels off
    assert load_image_folder(colour, 8, 0).shape == (2, 3, 8, 8)
    assert np.array_equal(load_image_folder(mixed, 16, 0), load_image_folder(mixed, 16, 3))


def test_sorted_order(tmp_path):
    for name, value in [("b.png", 30), ("a/c.png", 10), ("a.png", 20)]:
        save(tmp_path / name, np.full((4, 4), value))
    out = load_image_folder(tmp_path, 4, 1)
    assert out[:, 0, 0, 0].tolist() == [10, 20, 30]  # a/c.png, a.png, b.png


def test_center_crop_wide_and_tall(tmp_path):
    cols = np.tile(np.arange(40, dtype=np.uint8) * 6, (20, 1))  # 20 high, 40 wide
    save(tmp_path / "wide.png", cols)
    out = load_image_folder(tmp_path, 20, 1)
    assert np.array_equal(out[0, 0], cols[:, 10:30])

    tall = tmp_path / "tall"
    save(tall / "t.png", cols.T)  # 40 high, 20 wide
    out = load_image_folder(tall, 20, 1)
    assert np.array_equal(out[0, 0], cols.T[10:30, :])


def test_resize_then_crop_keeps_the_middle(tmp_path):
    img = np.zeros((40, 80), dtype=np.uint8)
    img[:, 20:60] = 255  # white middle half, which is exactly what the crop keeps
    save(tmp_path / "x.png", img)
    out = load_image_folder(tmp_path, 20, 1)[0, 0]
    assert out.shape == (20, 20)
    assert out[:, 2:-2].min() > 240  # away from the resampled edges it is all white


def test_upscale_small_image(tmp_path):
    save(tmp_path / "tiny.png", np.full((3, 5, 3), 77))
    out = load_image_folder(tmp_path, 32, 3)
    assert out.shape == (1, 3, 32, 32)
    assert np.abs(out.astype(int) - 77).max() <= 1


def test_progress_bar_for_many_files(tmp_path, capsys):
    for i in range(501):
        save(tmp_path / f"{i:04d}.png", np.full((2, 2), i % 256))
    out = load_image_folder(tmp_path, 2, 1)
    assert out[:, 0, 0, 0].tolist() == [i % 256 for i in range(501)]
    assert "loading images" in capsys.readouterr().err
    # --no-progress (run.progress=false) reaches the loader: the same folder loads silently
    assert np.array_equal(load_image_folder(tmp_path, 2, 1, progress=False), out)
    assert "loading images" not in capsys.readouterr().err


def test_empty_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("no images here")
    (tmp_path / "empty_sub").mkdir()
    with pytest.raises(DataError, match=f"{tmp_path}: no images found"):
        load_image_folder(tmp_path, 16, 3)


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n" + b"garbage" * 10,  # PNG signature, junk after
        png_bytes()[:6000],  # a real PNG cut short
        b"",
    ],
    ids=["garbage", "truncated", "empty"],
)
def test_corrupt_image_names_the_file(tmp_path, content):
    save(tmp_path / "good.png", np.zeros((8, 8)))
    bad = tmp_path / "sub" / "broken.png"
    bad.parent.mkdir()
    bad.write_bytes(content)
    with pytest.raises(DataError) as err:
        load_image_folder(tmp_path, 8, 3)
    msg = str(err.value)
    assert msg.startswith(f"{bad}: cannot decode image") and "\n" not in msg


def test_missing_folder_and_file_instead_of_folder(tmp_path):
    with pytest.raises(DataError, match="nope: image folder does not exist"):
        load_image_folder(tmp_path / "nope", 16, 3)
    file = save(tmp_path / "one.png", np.zeros((8, 8)))
    with pytest.raises(DataError, match="one.png: not a folder"):
        load_image_folder(file, 16, 3)


def test_bad_channels_and_size(tmp_path):
    save(tmp_path / "one.png", np.zeros((8, 8)))
    with pytest.raises(DataError, match="channels=4"):
        load_image_folder(tmp_path, 16, 4)
    with pytest.raises(DataError, match="image_size=0"):
        load_image_folder(tmp_path, 0, 3)


def test_16_bit_grayscale_images_are_scaled_to_8_bits_not_clipped(tmp_path):
    # Pillow's own conversion clipped every level above 255: a 16-bit ramp came out white
    ramp = np.linspace(0, 65535, 28 * 28).reshape(28, 28)
    Image.fromarray(ramp.astype(np.uint16)).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode in ("I;16", "I")
    pixels = load_image_folder(tmp_path, 28, 1, progress=False)[0, 0].astype(float)
    assert np.abs(pixels - ramp / 257).max() <= 1.0  # every level in its place
    assert pixels.min() == 0 and pixels.max() == 255


@pytest.mark.parametrize("mode, values, expected", [
    ("I", [0, 32896, 65535], [0, 128, 255]),  # 16-bit levels in 32-bit pixels (older Pillow)
    ("I", [0, 100, 255], [0, 100, 255]),  # 8-bit levels: as they are
    ("F", [0.0, 0.5, 1.0], [0, 128, 255]),  # floats in [0, 1]
])
def test_wide_pixel_modes_keep_their_levels(mode, values, expected):
    from steadygan.data.folder import _to_8_bits
    img = Image.new(mode, (3, 1))
    img.putdata(values)
    converted = _to_8_bits(img)
    assert converted.mode == "L" and list(converted.getdata()) == expected
