"""HTML pieces for the reports: escaping, embedded images, tables, and the page shell.

Everything a page needs is inline (CSS in <style>, images as data: URIs, no scripts), so one
file can be mailed, archived or opened offline and looks the same.
"""
from __future__ import annotations

import base64
import html
from typing import Iterable, Sequence

esc = html.escape


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def img(png: bytes, alt: str, css_class: str = "", width: int | None = None) -> str:
    size = f' width="{width}"' if width else ""
    klass = f' class="{css_class}"' if css_class else ""
    return f'<img{klass} src="{data_uri(png)}" alt="{esc(alt)}"{size}>'


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], row_classes: Iterable[str] = (),
          raw: bool = False, css_class: str = "") -> str:
    """A table of text cells (escaped), or of HTML cells when raw=True."""
    cell = (lambda v: v) if raw else esc
    classes = list(row_classes)
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        klass = f' class="{classes[i]}"' if i < len(classes) and classes[i] else ""
        body.append(f"<tr{klass}>" + "".join(f"<td>{cell(str(v))}</td>" for v in row) + "</tr>")
    klass = f' class="{css_class}"' if css_class else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def section(title: str, body: str, anchor: str) -> str:
    return f'<section id="{anchor}"><h2>{esc(title)}</h2>{body}</section>'


_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d232a;
       margin: 0 auto; padding: 24px 32px 48px; max-width: 1320px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 30px 0 10px; border-bottom: 1px solid #d8dee4; padding-bottom: 4px; }
.sub { color: #57606a; margin: 0 0 16px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { border: 1px solid #d8dee4; border-radius: 6px; padding: 8px 14px; min-width: 110px; }
.card .k { color: #57606a; font-size: 12px; }
.card .v { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.notes { margin: 0 0 14px; background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px;
         padding: 8px 14px; }
.notes ul { margin: 4px 0; padding-left: 20px; }
.verdict { font-weight: 600; padding: 8px 12px; border-radius: 6px; border: 1px solid #d8dee4; }
.verdict.failure { background: #ffebe9; border-color: #cf222e; color: #82071e; }
.verdict.warning { background: #fff8c5; border-color: #d4a72c; color: #633c01; }
.verdict.info, .verdict.healthy { background: #dafbe1; border-color: #2da44e; color: #116329; }
.verdict.none { background: #f6f8fa; color: #57606a; font-weight: 400; }
table { border-collapse: collapse; margin: 6px 0; font-size: 14px; }
th, td { border: 1px solid #d8dee4; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td { font-variant-numeric: tabular-nums; }
tr.failure td { background: #ffebe9; }
tr.warning td { background: #fff8c5; }
tr.info td { background: #ddf4ff; }
td ul { margin: 0; padding-left: 18px; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 16px; }
.plots figure, .samples figure { margin: 0; }
.plots img { width: 100%; height: auto; border: 1px solid #eaeef2; }
.samples { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 14px; }
.samples img { width: 100%; height: auto; border: 1px solid #d8dee4; background: #000; }
.samples img.pixel { image-rendering: pixelated; }
figcaption { color: #57606a; font-size: 13px; margin-top: 4px; }
pre { background: #f6f8fa; border: 1px solid #d8dee4; border-radius: 6px; padding: 10px 14px;
      overflow-x: auto; font-size: 13px; }
a { color: #0969da; }
"""


def page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{_CSS}</style></head>"
            f"<body>{body}</body></html>\n")
