"""`eval` and `on_success` upload parameters through the official Python SDK (both databases):
Cloudinary's snippets run in QuickJS with time and memory limits and no I/O; errors are 400s
with the engine's message and store nothing."""

from __future__ import annotations

import re
from pathlib import Path

import cloudinary.api
import cloudinary.uploader
import pytest
import pyvips
from cloudinary.exceptions import BadRequest, NotFound

from tests.breadth.conftest import AdminCloud

# The snippet the SDKs' own tests send (reference cloudinary-api-breadth §4).
SDK_EVAL = ('if (resource_info["width"] < 450) { upload_options["quality_analysis"] = true }; '
            'upload_options["context"] = "width=" + resource_info["width"]')


@pytest.fixture
def narrow(tmp_path: Path) -> Path:
    path = tmp_path / "narrow.png"
    (pyvips.Image.black(241, 50) + [90, 140, 200]).cast("uchar").write_to_file(str(path))
    return path


def assert_refused(narrow: Path, public_id: str, message: str, **script: str) -> None:
    """The upload running `script` is a 400 carrying `message`, and stores nothing."""
    with pytest.raises(BadRequest, match=re.escape(message)):
        cloudinary.uploader.upload(str(narrow), public_id=public_id, **script)
    with pytest.raises(NotFound):
        cloudinary.api.resource(public_id)


def test_eval_adjusts_upload_options_from_resource_info(cloud: AdminCloud, narrow: Path) -> None:
    result = cloudinary.uploader.upload(str(narrow), public_id="eval/sdk", eval=SDK_EVAL)
    assert result["context"]["custom"]["width"] == "241"
    assert isinstance(result["quality_analysis"]["focus"], float)
    tagged = cloudinary.uploader.upload(str(narrow), public_id="eval/tags", tags="kept",
                                        eval='upload_options["tags"] = upload_options["tags"] + ",w" + resource_info.width + "," + resource_info.format')
    assert sorted(tagged["tags"]) == ["kept", "png", "w241"]
    assert sorted(cloudinary.api.resource("eval/tags")["tags"]) == ["kept", "png", "w241"]


@pytest.mark.parametrize(("script", "message"), [
    ("upload_options[", "SyntaxError"),
    ("null.width", "TypeError"),
    ("while (true) {}", "ran too long"),
    ("let a = []; while (true) { a.push(new Array(100000).fill(1)) }", "out of memory"),
    ('require("fs")', "'require' is not defined"),
    ('fetch("http://127.0.0.1/")', "'fetch' is not defined"),
    ('upload_options["public_id"] = "elsewhere"', "cannot set upload_options['public_id']"),
])
def test_eval_errors_are_400_with_the_engines_message_and_store_nothing(cloud: AdminCloud, narrow: Path, script: str, message: str) -> None:
    assert_refused(narrow, "eval/bad", message, eval=script)


def test_on_success_updates_the_asset_after_upload(cloud: AdminCloud, narrow: Path) -> None:
    script = 'current_asset.update({tags: ["autocaption", "w" + current_asset.width], context: {by: event_info.event_type}})'
    result = cloudinary.uploader.upload(str(narrow), public_id="done/one", on_success=script)
    assert sorted(result["tags"]) == ["autocaption", "w241"] and result["context"] == {"custom": {"by": "upload"}}
    stored = cloudinary.api.resource("done/one")
    assert sorted(stored["tags"]) == ["autocaption", "w241"] and stored["context"] == {"custom": {"by": "upload"}}


def test_on_success_errors_are_400_and_roll_the_upload_back(cloud: AdminCloud, narrow: Path) -> None:
    with pytest.raises(BadRequest, match="on_success: ReferenceError"):
        cloudinary.uploader.upload(str(narrow), public_id="done/bad", on_success="no_such_thing()")
    with pytest.raises(BadRequest, match="cannot update 'public_id'"):
        cloudinary.uploader.upload(str(narrow), public_id="done/bad", on_success='current_asset.update({public_id: "x"})')
    with pytest.raises(NotFound):
        cloudinary.api.resource("done/bad")


def test_scripts_in_an_upload_preset_run_too(cloud: AdminCloud, narrow: Path) -> None:
    cloudinary.api.create_upload_preset(name="scripted", eval='upload_options["tags"] = "from_preset"',
                                        on_success='current_asset.update({context: "preset=yes"})')
    result = cloudinary.uploader.upload(str(narrow), public_id="preset/one", upload_preset="scripted")
    assert result["tags"] == ["from_preset"] and result["context"] == {"custom": {"preset": "yes"}}


@pytest.mark.parametrize(("script", "message"), [
    ("upload_options = null", "upload_options must stay an object"),
    ("upload_options = 5", "upload_options must stay an object"),
    ("upload_options = undefined", "not JSON"),
    ('upload_options = {get tags() { throw new Error("from a getter") }}', "from a getter"),
    ("upload_options = {get tags() { while (true) {} }}", "ran too long"),
])
def test_eval_leaving_upload_options_of_the_wrong_shape_is_a_400(cloud: AdminCloud, narrow: Path, script: str, message: str) -> None:
    assert_refused(narrow, "eval/shape", message, eval=script)


@pytest.mark.parametrize(("script", "message"), [
    ("current_asset.update()", "takes an object"),
    ("current_asset.update(5)", "takes an object"),
    ("__updates.push(5)", "takes an object"),
    ("current_asset.update({get tags() { while (true) {} }})", "ran too long"),
    ("__updates.push({toJSON() { throw new Error('from toJSON') }})", "from toJSON"),
])
def test_on_success_updates_of_the_wrong_shape_are_a_400(cloud: AdminCloud, narrow: Path, script: str, message: str) -> None:
    assert_refused(narrow, "done/shape", message, on_success=script)


def test_a_script_that_closes_its_wrapper_runs_nothing_at_check_time(cloud: AdminCloud, narrow: Path) -> None:
    """The check only parses: a loop placed outside the function by `})` does not run there
    (it runs, and is stopped, when the upload runs the script)."""
    from darkroom.media.scripts import check_script

    check_script("eval", "}); while (true) {} (function () {")  # returns at once: nothing ran
    with pytest.raises(BadRequest, match="ran too long"):
        cloudinary.uploader.upload(str(narrow), public_id="eval/escape", eval="}); while (true) {} (function () {")
