"""`darkroom check-urls`: an app's existing Cloudinary URLs, judged before the switch."""

from __future__ import annotations

import json
from pathlib import Path

import cloudinary.utils
from click.testing import CliRunner

from darkroom.cli import main


def check(tmp_path: Path, text: str, *options: str) -> tuple[int, str]:
    listing = tmp_path / "urls.txt"
    listing.write_text(text)
    result = CliRunner().invoke(main, ["check-urls", *options, str(listing)])
    return result.exit_code, result.output


def cloudinary_url(public_id: str, **options: object) -> str:
    """A URL as the app builds it today: the official SDK, pointed at Cloudinary itself."""
    url, _ = cloudinary.utils.cloudinary_url(public_id, cloud_name="shop", secure=True, **options)
    return str(url)


def test_urls_the_sdk_builds_are_rendered_differently_or_refused_with_the_reason(tmp_path: Path) -> None:
    rendered = cloudinary_url("shoes/red", width=300, height=200, crop="fill", format="webp")
    differs = cloudinary_url("shoes/red", width=300, crop="fill", gravity="auto", quality="auto")
    unknown_effect = cloudinary_url("shoes/red", effect="sparkle")
    code, output = check(tmp_path, "\n".join([rendered, differs, unknown_effect]), "--json")
    reports = [json.loads(line) for line in output.splitlines()]
    by_url = {report["url"]: report for report in reports[:-1]}
    assert by_url[rendered] == {"url": rendered, "verdict": "renders", "findings": []}
    assert by_url[differs]["verdict"] == "differs"
    assert {f["parameter"] for f in by_url[differs]["findings"]} == {"g_auto", "q_auto"}
    assert by_url[unknown_effect]["verdict"] == "refused"
    assert by_url[unknown_effect]["findings"] == [{"parameter": "e_sparkle", "verdict": "refused", "note": "Invalid effect - sparkle"}]
    assert reports[-1] == {"totals": {"renders": 1, "differs": 1, "refused": 1}}
    assert code == 1  # a refused URL fails the check, for scripts


def test_a_chain_that_parses_but_cannot_render_blames_its_component(tmp_path: Path) -> None:
    # The grammar accepts a 20000 px square; darkroom refuses to render it, and the report says so.
    url = cloudinary_url("poster", transformation=[{"width": 100, "crop": "scale"}, {"width": 20000, "height": 20000, "crop": "scale"}])
    code, output = check(tmp_path, url + "\n")
    assert code == 1
    assert output.splitlines()[:2] == [
        f"refused  {url}",
        "         refused: c_scale,h_20000,w_20000: Requested image is too large",
    ]


def test_an_access_log_is_read_for_its_delivery_paths_only(tmp_path: Path) -> None:
    log = "\n".join([
        '10.0.0.1 - - [05/Dec/2026:10:00:00 +0000] "GET /shop/image/upload/c_thumb,w_80/v3/avatars/ann.png?_a=BAVAfVDW0 HTTP/1.1" 200 912',
        '10.0.0.2 - - [05/Dec/2026:10:00:01 +0000] "GET /favicon.ico HTTP/1.1" 404 0',
        '10.0.0.3 - - [05/Dec/2026:10:00:02 +0000] "GET /shop/video/upload/so_2,du_3/clips/intro.mp4 HTTP/1.1" 206 50000',
        '10.0.0.4 - - [05/Dec/2026:10:00:03 +0000] "GET /shop/image/upload/t_card/w_abc/x.jpg HTTP/1.1" 200 1',
    ])
    code, output = check(tmp_path, log)
    assert output.splitlines() == [
        "renders  /shop/image/upload/c_thumb,w_80/v3/avatars/ann.png",
        "renders  /shop/video/upload/so_2,du_3/clips/intro.mp4",
        "refused  /shop/image/upload/t_card/w_abc/x.jpg",
        "         differs: t_card: a named transformation: create it in darkroom too (create_transformation)",
        "         refused: w_abc: Invalid width parameter - abc",
        "2 renders, 0 differs, 1 refused",
    ]
    assert code == 1


def test_quiet_prints_only_what_needs_attention_and_passes_when_nothing_is_refused(tmp_path: Path) -> None:
    fine = cloudinary_url("a", width=50, crop="scale")
    private_cdn = "https://shop-res.cloudinary.com/image/upload/g_auto,c_fill,w_50,h_50/a.jpg"
    code, output = check(tmp_path, f"{fine}\n{private_cdn}\n", "--quiet")
    assert code == 0
    assert output.splitlines()[0] == f"differs  {private_cdn}"
    assert fine not in output
    assert output.splitlines()[-1] == "1 renders, 1 differs, 0 refused"
