"""Helpers for the report tests (a plain module, not a conftest.py: the suite imports
PROJECT_ROOT `from conftest`, which a second conftest would shadow)."""
from __future__ import annotations

import base64
import io
import shutil
from html.parser import HTMLParser
from pathlib import Path

import torch
from PIL import Image

from steadygan.config import TrainConfig

TINY = ["model.g_width=16", "model.d_width=8", "model.z_dim=16", "train.batch_size=16",
        "train.steps=24", "run.log_every=4", "run.sample_every=8", "run.checkpoint_every=8",
        "run.progress=false", "train.device=cpu", "run.eval_every=12", "run.eval_samples=500"]


def train_run(out: Path, data: str = "bundled", extra: tuple[str, ...] = ()) -> Path:
    """A real run of a few seconds, on one torch thread: on a busy 2-core machine two OpenMP
    threads stall on each other."""
    from steadygan.train.loop import train

    cfg = TrainConfig.for_data(data).with_overrides(TINY + list(extra) + [f"run.out={out}"])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(cfg)
    finally:
        torch.set_num_threads(threads)
    return out


def copy_run(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest)
    return dest


class Page(HTMLParser):
    """The parts of a report page the tests look at."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.title, self.imgs, self.hrefs, self.scripts, self.links = "", [], [], 0, 0
        self.captions: list[str] = []
        self._in = ""
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a)
        elif tag == "a" and "href" in a:
            self.hrefs.append(a["href"])
        elif tag == "script":
            self.scripts += 1
        elif tag == "link":
            self.links += 1
        if tag in ("title", "figcaption"):
            self._in = tag
            if tag == "figcaption":
                self.captions.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = ""

    def handle_data(self, data: str) -> None:
        if self._in == "title":
            self.title += data
        elif self._in == "figcaption":
            self.captions[-1] += data

    def plots(self) -> list[dict]:
        return [i for i in self.imgs if i.get("class") == "plot"]


def decode_png(src: str) -> Image.Image:
    """The picture in a data: URI; fails the test unless it is a non-empty PNG."""
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix), src[:60]
    data = base64.b64decode(src[len(prefix):], validate=True)
    assert data, "empty image"
    picture = Image.open(io.BytesIO(data))
    picture.load()
    assert picture.format == "PNG" and picture.size[0] > 0 and picture.size[1] > 0
    return picture


def assert_self_contained(text: str) -> Page:
    page = Page(text)
    assert page.scripts == 0 and page.links == 0  # no scripts, no external stylesheets
    for attr in ("src=", "href=", "url("):
        for scheme in ("http://", "https://", "//"):
            assert f'{attr}"{scheme}' not in text and f"{attr}{scheme}" not in text
    for image in page.imgs:
        decode_png(image["src"])
    return page

