"""The report as a browser shows it: headless Chromium renders it offline without errors."""
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from steadygan.cli import main

from report_fixtures import Page, decode_png, train_run

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed")


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    profile.mkdir(exist_ok=True)
    command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_report_in_chromium(tmp_path, capsys):
    run = train_run(tmp_path / "run")
    assert main(["report", str(run)]) == 0
    url = (run / "report.html").resolve().as_uri()
    shot = tmp_path / "shot.png"

    drawn = _chromium(tmp_path / "profile1", f"--screenshot={shot}", "--window-size=1280,2400", url)
    dumped = _chromium(tmp_path / "profile2", "--dump-dom", url)
    for result in (drawn, dumped):
        assert result.returncode == 0, result.stderr[-2000:]
        # the page has no scripts, so any console line at all (chromium logs them as
        # INFO:CONSOLE or ERROR:CONSOLE, depending on its version) is a fault
        console = [line for line in result.stderr.splitlines()
                   if "Uncaught" in line or re.search(r":CONSOLE[:(\]]", line)]
        assert not console, console

    picture = np.asarray(Image.open(shot).convert("RGB"))
    assert picture.shape == (2400, 1280, 3)
    colours = np.unique(picture.reshape(-1, 3), axis=0)
    assert len(colours) > 500  # plots and digits, not a blank page

    page = Page(dumped.stdout)
    assert page.title == "steadygan report: run"
    assert len(page.imgs) >= 6 + 4  # plots + sample grids
    for image in page.imgs:
        decode_png(image["src"])
    assert re.search(r"<h1>steadygan report: run</h1>", dumped.stdout)
