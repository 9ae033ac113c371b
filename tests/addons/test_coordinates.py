"""`face_coordinates` and `custom_coordinates` on upload, explicit and update: stored,
returned, and used by `g_face`/`g_faces`/`g_custom`, `c_crop,g_custom` and the face effects
(reference cloudinary-addons.md §8); detected faces on a real portrait."""

from __future__ import annotations

from pathlib import Path

import cloudinary.api
import cloudinary.uploader
import numpy as np
import pyvips
from support import LiveServer

from addons.support_addons import new_id, rendered

CUP = (150, 60, 300, 280)  # x, y, w, h of the cup in skimage's coffee photo (600×400)


def test_upload_returns_stored_faces_cut_to_the_image(cld_sqlite: LiveServer, coffee: Path) -> None:
    reply = cloudinary.uploader.upload(str(coffee), public_id=new_id("faces"), face_coordinates=[[500, 30, 109, 500], [10, 20, 30, 40]], faces=True)
    assert reply["faces"] == [[500, 30, 100, 370], [10, 20, 30, 40]]


def test_explicit_coordinates_are_returned_by_resource(cld_sqlite: LiveServer, coffee: Path) -> None:
    public_id = cloudinary.uploader.upload(str(coffee), public_id=new_id("coords"))["public_id"]
    cloudinary.uploader.explicit(public_id, type="upload", face_coordinates=[[122, 32, 111, 152]], custom_coordinates=[1, 2, 3, 4])
    details = cloudinary.api.resource(public_id, faces=True, coordinates=True)
    assert details["faces"] == [[122, 32, 111, 152]]
    assert details["coordinates"] == {"faces": [[122, 32, 111, 152]], "custom": [[1, 2, 3, 4]]}


def test_update_replaces_and_an_empty_value_clears_coordinates(cld_sqlite: LiveServer, coffee: Path) -> None:
    public_id = cloudinary.uploader.upload(str(coffee), public_id=new_id("update"), custom_coordinates="5,6,7,8")["public_id"]
    cloudinary.api.update(public_id, custom_coordinates=[[1, 1, 50, 50]])
    assert cloudinary.api.resource(public_id, coordinates=True)["coordinates"]["custom"] == [[1, 1, 50, 50]]
    cloudinary.api.update(public_id, custom_coordinates="")
    assert cloudinary.api.resource(public_id, coordinates=True)["coordinates"]["custom"] == []


def test_crop_with_custom_gravity_cuts_the_custom_box(cld_sqlite: LiveServer, coffee: Path) -> None:
    public_id = cloudinary.uploader.upload(str(coffee), public_id=new_id("custom"), custom_coordinates=list(CUP))["public_id"]
    cut = rendered(public_id, crop="crop", gravity="custom", format="png")
    assert cut.shape[:2] == (CUP[3], CUP[2])
    original = np.asarray(pyvips.Image.new_from_file(str(coffee)).numpy(), dtype=np.float32)
    x, y, w, h = CUP
    assert np.abs(cut - original[y : y + h, x : x + w]).mean() < 6  # the same pixels, up to JPEG


def test_fill_with_custom_gravity_keeps_the_custom_box_in_view(cld_sqlite: LiveServer, coffee: Path) -> None:
    box = (450, 250, 100, 100)  # the bottom-right corner region
    public_id = cloudinary.uploader.upload(str(coffee), public_id=new_id("custom-fill"), custom_coordinates=list(box))["public_id"]
    centred = rendered(public_id, crop="fill", width=200, height=200, format="png")
    custom = rendered(public_id, crop="fill", width=200, height=200, gravity="custom", format="png")
    original = np.asarray(pyvips.Image.new_from_file(str(coffee)).numpy(), dtype=np.float32)
    corner = original[200:400, 400:600]  # a 200×200 window around the box, at the image's scale (400 px high → no scaling)
    assert np.abs(custom - corner).mean() < np.abs(centred - corner).mean()


def test_stored_faces_drive_face_gravity(cld_sqlite: LiveServer, coffee: Path) -> None:
    face = (40, 40, 120, 120)  # not a face at all: stored coordinates win over detection
    public_id = cloudinary.uploader.upload(str(coffee), public_id=new_id("face"), face_coordinates=[list(face)])["public_id"]
    thumb = rendered(public_id, crop="crop", gravity="face", width=120, height=120, format="png")
    original = np.asarray(pyvips.Image.new_from_file(str(coffee)).numpy(), dtype=np.float32)
    assert np.abs(thumb - original[40:160, 40:160]).mean() < 6


def test_face_boxes_are_on_the_astronauts_face(cld_sqlite: LiveServer, astronaut: Path) -> None:
    faces = cloudinary.uploader.upload(str(astronaut), public_id=new_id("astronaut"), faces=True)["faces"]
    assert faces, "no face found"
    x, y, w, h = faces[0]
    centre = (x + w / 2, y + h / 2)
    assert 170 < centre[0] < 280 and 60 < centre[1] < 170  # her face, in the 512×512 portrait


def test_blur_faces_changes_the_face_and_not_the_corners(cld_sqlite: LiveServer, astronaut: Path) -> None:
    public_id = cloudinary.uploader.upload(str(astronaut), public_id=new_id("blur"))["public_id"]
    plain = rendered(public_id, format="png", crop="scale", width=512)
    blurred = rendered(public_id, format="png", crop="scale", width=512, effect="blur_faces")
    assert np.abs(blurred[90:160, 190:260] - plain[90:160, 190:260]).mean() > 3
    for corner in (blurred[:40, :40] - plain[:40, :40], blurred[-40:, -40:] - plain[-40:, -40:]):
        assert np.abs(corner).mean() < 0.5


def test_pixelate_faces_uses_stored_faces(cld_sqlite: LiveServer, coffee: Path) -> None:
    public_id = cloudinary.uploader.upload(str(coffee), public_id=new_id("pixelate"), face_coordinates=[[300, 100, 100, 100]])["public_id"]
    plain = rendered(public_id, format="png")
    pixelated = rendered(public_id, format="png", effect="pixelate_faces:20")
    assert np.abs(pixelated[100:200, 300:400] - plain[100:200, 300:400]).mean() > 2
    assert np.abs(pixelated[:90, :290] - plain[:90, :290]).mean() < 0.5


def test_changed_coordinates_are_not_answered_from_an_old_render(cld_sqlite: LiveServer, coffee: Path) -> None:
    public_id = cloudinary.uploader.upload(str(coffee), public_id=new_id("recrop"), custom_coordinates=[0, 0, 100, 80])["public_id"]
    assert rendered(public_id, crop="crop", gravity="custom", format="png").shape[:2] == (80, 100)
    cloudinary.api.update(public_id, custom_coordinates=[10, 10, 60, 50])
    assert rendered(public_id, crop="crop", gravity="custom", format="png").shape[:2] == (50, 60)
