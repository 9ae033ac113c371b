"""Checking an app's existing Cloudinary delivery URLs against darkroom, before switching.

`darkroom check-urls FILE` reads URLs (one per line, or any text such as an access log:
every delivery path in a line counts) and says for each one whether darkroom renders it,
renders it with a documented difference, or refuses it, and why, parameter by parameter.

An image transformation is not only parsed but rendered, over a small generated picture:
many refusals (an unknown effect value, a crop without a size) come from the renderer, not
the grammar. A refused chain is then rendered one component at a time, so the report names
the component to blame. Overlays of stored images are stood in for by the same picture.
Video and raw URLs are checked by the grammar alone.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from darkroom.errors import Invalid
from darkroom.imaging import RenderRequest, render
from darkroom.imaging.generation import write_test_card
from darkroom.media.delivery_paths import split_delivery_path
from darkroom.transform import ParseError, parse
from darkroom.transform.parser import split_component
from darkroom.vocabulary import DELIVERY_URL_TYPES, STORED_RESOURCE_TYPES

__all__ = ["DIFFERENCES", "Finding", "UrlReport", "UrlChecker", "delivery_urls_in"]

RENDERS, DIFFERS, REFUSED = "renders", "differs", "refused"
_SEVERITY = {RENDERS: 0, DIFFERS: 1, REFUSED: 2}

# Parameters darkroom renders its own way (key, or key_value prefix → what differs).
DIFFERENCES: dict[str, str] = {
    "g_auto": "subject found by libvips attention (saliency) and faces, not Cloudinary's AI model",
    "c_auto": "subject found by libvips attention (saliency) and faces, not Cloudinary's AI model",
    "q_auto": "quality picked by darkroom's own image metrics; sizes differ from Cloudinary's",
    "f_auto": "format picked from the Accept header only (AVIF, WebP, then the original's)",
    "e_improve": "darkroom's classical enhancer (levels and saturation)",
    "e_enhance": "darkroom's classical enhancer (levels and saturation)",
    "e_viesus_correct": "darkroom's classical enhancer (levels and saturation)",
    "e_background_removal": "a local model or classical matting, not Cloudinary AI",
    "e_upscale": "needs a super-resolution model in DARKROOM_MODELS_DIR",
    "e_gen_fill": "darkroom's own fill (edge extension), not a generative model",
    "e_gen_remove": "not generative: refused unless darkroom adds a model",
    "e_art": "darkroom's own colour grading of each named filter",
    "l_text": "text set with the fonts installed on the server",
}

# A URL or path in any text: up to whitespace, a quote, or the query string.
_URL_TEXT = re.compile(r"(?:https?://)?[^\s\"'<>?#]*/(?:image|video|raw)/[^\s\"'<>?#]+")


@dataclass(frozen=True)
class _Found:
    """A delivery URL found in text, split where its resource type and type are."""

    text: str  # as written
    resource_type: str
    rest: str  # after /{resource_type}/{type}/ (a cloud name before them, or a private CDN host)


@dataclass(frozen=True)
class Finding:
    """One parameter's (or one component's) verdict."""

    parameter: str
    verdict: str  # renders | differs | refused
    note: str = ""


@dataclass
class UrlReport:
    url: str
    verdict: str  # the worst of its findings
    findings: list[Finding] = field(default_factory=list)

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)
        if _SEVERITY[finding.verdict] > _SEVERITY[self.verdict]:
            self.verdict = finding.verdict


def delivery_urls_in(lines: Iterable[str]) -> Iterator[str]:
    """Every delivery URL or path in the text, in order (an access log works as well as a list)."""
    for line in lines:
        for found in _delivery_urls(line):
            yield found.text


def _delivery_urls(text: str) -> Iterator[_Found]:
    for match in _URL_TEXT.finditer(text):
        segments = match.group(0).split("/")
        for at in range(len(segments) - 2):
            if segments[at] in STORED_RESOURCE_TYPES and segments[at + 1] in DELIVERY_URL_TYPES:
                yield _Found(match.group(0), segments[at], "/".join(segments[at + 2 :]))
                break


class UrlChecker:
    """Checks URLs one by one; renders each distinct transformation once.

        with UrlChecker() as checker:
            report = checker.check("https://res.cloudinary.com/demo/image/upload/c_fill,w_300/sample.jpg")
    """

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="darkroom-check-urls-")
        self._sample = Path(self._folder.name) / "sample.png"
        write_test_card(self._sample)
        self._problems: dict[tuple[str, str | None], str | None] = {}  # (transformation, format) → refusal

    def __enter__(self) -> UrlChecker:
        return self

    def __exit__(self, *_: object) -> None:
        self._folder.cleanup()

    def check(self, url: str) -> UrlReport:
        found = next(_delivery_urls(url), None)
        if found is None:
            return UrlReport(url, REFUSED, [Finding("", REFUSED, "not a delivery URL")])
        try:
            path = split_delivery_path(found.rest)
        except Invalid as error:
            return UrlReport(url, REFUSED, [Finding("", REFUSED, str(error))])
        report = UrlReport(url, RENDERS)
        transformation = path.transformation
        if not transformation:
            return report
        _note_differences(transformation, report)
        # Pixels are checked for images; video and raw transformations by the grammar alone.
        pixels = found.resource_type == "image"
        fmt = path.candidates("image")[0][1] if pixels else None
        if self._problem(transformation, fmt, pixels) is None:
            return report
        components = transformation.split("/")
        blamed = [part for part in components if self._problem(part, fmt, pixels) is not None] or [transformation]
        for part in blamed:
            report.add(Finding(part, REFUSED, self._problem(part, fmt, pixels) or self._problem(transformation, fmt, pixels) or ""))
        return report

    def _problem(self, transformation: str, fmt: str | None, pixels: bool) -> str | None:
        """Why darkroom refuses this transformation, or None; remembered per distinct text."""
        key = (transformation, fmt if pixels else None)
        if key not in self._problems:
            self._problems[key] = self._try(transformation, fmt, pixels)
        return self._problems[key]

    def _try(self, transformation: str, fmt: str | None, pixels: bool) -> str | None:
        try:
            # Named transformations live in the cloud, not the URL: they are noted as such, and read as empty here.
            chain = parse(transformation, named=lambda _name: "")
            if pixels:
                render(RenderRequest(self._sample, chain, source_format="png", requested_format=fmt, load_layer=self._layer))
        except Invalid as error:
            return str(error)
        return None

    def _layer(self, _key: str) -> Path:
        return self._sample  # any stored overlay: the sample stands in for it


def _note_differences(transformation: str, report: UrlReport) -> None:
    for component in filter(None, transformation.split("/")):
        try:
            pairs = split_component(component)
        except ParseError:
            continue  # the parse reports it
        for key, value in pairs:
            text = f"{key}_{value}"
            if key == "t":
                report.add(Finding(text, DIFFERS, "a named transformation: create it in darkroom too (create_transformation)"))
                continue
            note = next((why for prefix, why in DIFFERENCES.items() if text == prefix or text.startswith(prefix + ":")), None)
            if note is not None:
                report.add(Finding(text, DIFFERS, note))

