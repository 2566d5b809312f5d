"""Paths a command will write, checked before the work that fills them.

An evaluation or a classifier's training that ends by failing to write its result loses minutes of
work; a folder named where a file goes (or the reverse) is bad input, refused with one line that
names the setting, before anything runs.
"""
from __future__ import annotations

from pathlib import Path

from steadygan.config import ConfigError


def output_folder(path: str | Path, setting: str, create: bool = True) -> Path:
    """The folder `path`, created (with its parents) if it is not there yet; with create=False
    only checked: where it is not there, nothing in the way of creating it later."""
    path = Path(path)
    if not create:
        if path.exists() and not path.is_dir():
            raise ConfigError(f"{setting}: {path} is a file, not a folder")
        above = next(p for p in path.absolute().parents if p.exists())
        if not path.exists() and not above.is_dir():
            raise ConfigError(f"{setting}: cannot create the folder {path} ({above} is a file)")
        return path
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"{setting}: {path} is a file, not a folder") from None
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot create the folder {path} "
                          f"({exc.strerror or exc})") from None
    return path


def output_file(path: str | Path, setting: str, suffix: str | None = None) -> Path:
    """The file `path` can be written: it ends in `suffix` (where given), it is not a folder,
    and its folder exists (created here if need be). The suffix keeps a mistyped path off a
    run's own files (checkpoints, config.toml, metrics.jsonl) and PNG bytes out of a .jpg."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{setting}: {path} is a folder; name a file to write")
    if suffix is not None and path.suffix.lower() != suffix:
        raise ConfigError(f"{setting}: {path}: must end in {suffix}")
    output_folder(path.parent, setting)
    return path
