"""`darkroom check-urls FILE`: which of an app's Cloudinary URLs darkroom renders (`media.url_check`)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import TextIO

import click

from darkroom.media.url_check import DIFFERS, REFUSED, RENDERS, UrlChecker, UrlReport, delivery_urls_in

__all__ = ["check_urls"]

MAX_URLS = 1_000_000  # an access log of a busy site; each distinct transformation is rendered once


@click.command("check-urls")
@click.argument("file", type=click.File("r", encoding="utf-8", errors="replace"))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per URL (JSON lines), then the totals.")
@click.option("--quiet", is_flag=True, help="Print only the URLs that differ or are refused, and the totals.")
def check_urls(file: TextIO, as_json: bool, quiet: bool) -> None:
    """Check existing Cloudinary URLs before switching.

    FILE holds URLs one per line, or any text such as a web server's access log: every
    delivery path in it (/{cloud}/{image|video|raw}/{type}/…) is checked; "-" reads standard
    input. For each URL darkroom says whether it renders it ("renders"), renders it with a
    documented difference ("differs": g_auto by saliency, q_auto by darkroom's own metrics,
    named transformations that must be created in darkroom too, …) or refuses it
    ("refused", with darkroom's error and the component to blame). Image transformations
    are rendered over a small generated picture; video and raw ones are checked by the
    grammar alone. Nothing is sent anywhere and no server is needed.

    Exit status: 0 when no URL is refused, 1 otherwise.
    """
    totals: Counter[str] = Counter()
    with UrlChecker() as checker:
        for count, url in enumerate(delivery_urls_in(file)):
            if count >= MAX_URLS:
                click.echo(f"stopped after {MAX_URLS} URLs", err=True)
                break
            report = checker.check(url)
            totals[report.verdict] += 1
            if not (quiet and report.verdict == RENDERS):
                click.echo(json.dumps(_as_json(report)) if as_json else _text(report))
    summary = {verdict: totals[verdict] for verdict in (RENDERS, DIFFERS, REFUSED)}
    click.echo(json.dumps({"totals": summary}) if as_json else ", ".join(f"{n} {verdict}" for verdict, n in summary.items()))
    sys.exit(1 if totals[REFUSED] else 0)


def _as_json(report: UrlReport) -> dict[str, object]:
    findings = [{"parameter": f.parameter, "verdict": f.verdict, "note": f.note} for f in report.findings]
    return {"url": report.url, "verdict": report.verdict, "findings": findings}


def _text(report: UrlReport) -> str:
    lines = [f"{report.verdict:8} {report.url}"]
    lines += [f"         {f.verdict}: {f.parameter}: {f.note}" if f.parameter else f"         {f.note}" for f in report.findings]
    return "\n".join(lines)
