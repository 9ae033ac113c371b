"""Resize, crop and pad: a component's w/h/c/g/ar/x/y/z made into a `Plan`, then executed.

`geometry.plan_resize` decides (pure numbers); `_execute` does it. The first resize of an
untouched source goes through `thumbnail`, which shrinks on load (JPEG DCT scaling,
WebP/AVIF downsampled decode), so a 4000×3000 photo never decodes at full size when the
URL asks for 300 px.
"""

from __future__ import annotations

from dataclasses import replace

import pyvips

from darkroom.imaging import effects as fx
from darkroom.imaging import layers
from darkroom.imaging.context import (
    RenderState,
    dpr_of,
    each_frame,
    environment,
    join_frames,
    length,
    normalise,
    positive,
    split_frames,
    with_options,
)
from darkroom.imaging.errors import TooManyPixels, UnsupportedTransformation
from darkroom.imaging.expressions import evaluate_number
from darkroom.imaging.focus import focus, stored_boxes
from darkroom.imaging.geometry import Placement, Plan, derive_box, is_focus_gravity, plan_resize
from darkroom.transform import AUTO_GRAVITY_CROPS, Component, Expression, rgba


def background_rgba(component: Component, state: RenderState, image: pyvips.Image) -> list[float]:
    background = component.background
    if background is not None and background.kind == "color" and background.color:
        return list(rgba(background.color))
    if background is not None and background.kind == "auto":
        rgb, _ = fx.split_alpha(image)
        if "predominant" in (background.args or ("border",))[0]:
            colour = [round(rgb.extract_band(i).avg()) for i in range(3)]
        else:
            edge = max(1, min(rgb.width, rgb.height) // 50)
            strips = [rgb.crop(0, 0, rgb.width, edge), rgb.crop(0, rgb.height - edge, rgb.width, edge)]
            colour = [round(sum(s.extract_band(i).avg() for s in strips) / 2) for i in range(3)]
        return colour + [255]
    if state.transparent_pad:
        return [0, 0, 0, 0]
    return [255, 255, 255, 255]


def _pad(image: pyvips.Image, pad: tuple[int, int, int, int], component: Component, state: RenderState) -> pyvips.Image:
    width, height, left, top = pad
    if component.background is not None and component.background.kind == "blurred":
        args = component.background.args
        sigma = max(1.0, (int(args[0]) if args else 100) / 20)
        canvas = image.thumbnail_image(width, height=height, crop="centre", size="force").gaussblur(sigma).cast("uchar")
        if len(args) > 1:
            canvas = (canvas + int(args[1]) * 2.55).cast("uchar")
        return canvas.insert(image, left, top)
    if component.background is not None and component.background.kind == "gen_fill":
        raise UnsupportedTransformation("Background gen_fill needs an AI add-on, which this server does not have")
    colour = background_rgba(component, state, image)
    if colour[3] < 255 and not image.hasalpha():
        image = layers.with_alpha(image)
    return image.embed(left, top, width, height, extend="background", background=colour if image.hasalpha() else colour[:3])


def _first_resize(state: RenderState, width: int, height: int) -> pyvips.Image:
    """Resize the untouched source: from the decoded pixels held in memory when there are
    some, else straight from the file so the loader can shrink while decoding."""
    if state.decoded is not None:
        source = state.decoded()
        if state.pages > 1:  # pages of a document, stacked: each is resized on its own
            frames = split_frames(source, state.pages, state.height)
            return join_frames([frame.thumbnail_image(width, height=height, size="force") for frame in frames])
        if _plain_8bit(source):
            # What thumbnail_image(size="force") does for such pixels, to the same pixels, minus
            # its set-up (about 0.5 ms a render, which the benchmark's PNG misses notice).
            return source.resize(1.0 / (source.width / width), vscale=1.0 / (source.height / height))
        return source.thumbnail_image(width, height=height, size="force")
    # Every frame of an animation is shrunk as it is decoded (thumbnail is page-aware): a
    # 1,000-frame GIF asked for at 100 px never holds its 300 px frames all at once.
    path = with_options(state, all_frames=state.pages > 1)
    return normalise(pyvips.Image.thumbnail(path, width, height=height, size="force", no_rotate=not state.autorotate))


def _plain_8bit(image: pyvips.Image) -> bool:
    """8-bit sRGB or grey without alpha: nothing for thumbnail to convert or premultiply."""
    return image.format == "uchar" and not image.hasalpha() and image.interpretation in ("srgb", "b-w")


def _execute(plan: Plan, component: Component, state: RenderState) -> None:
    out_w, out_h = plan.output_size(state.width, state.height)
    if out_w * out_h * state.pages > state.limits.max_output_pixels:
        raise TooManyPixels("Requested image is too large", detail=f"{out_w}x{out_h}")
    if plan == Plan():
        return
    if state.image is None and plan.pre_crop is None and plan.resize is not None:
        w, h = plan.resize
        # thumbnail reads the file sequentially: a crop keeps that order, so the common
        # resize-and-crop URL streams from decoder to encoder; any later step that needs
        # random access first copies the (small) result to memory (see `pixels`).
        thumb = _first_resize(state, w, h)
        single = state.pages == 1
        if plan.crop and single:
            thumb = thumb.crop(plan.crop.left, plan.crop.top, plan.crop.width, plan.crop.height)
        state.image, state.sequential = thumb, state.decoded is None
        state.width, state.height = thumb.width, thumb.height // state.pages
        plan = replace(plan, resize=None, crop=None if single else plan.crop)  # frames are cropped one by one below
        if plan == Plan():
            return

    def run(frame: pyvips.Image) -> pyvips.Image:
        if plan.pre_crop:
            box = plan.pre_crop
            frame = frame.crop(box.left, box.top, box.width, box.height)
        if plan.resize and plan.resize != (frame.width, frame.height):
            frame = frame.thumbnail_image(plan.resize[0], height=plan.resize[1], size="force")
        if plan.crop:
            box = plan.crop
            frame = frame.crop(box.left, box.top, box.width, box.height)
        if plan.pad:
            frame = _pad(frame, plan.pad, component, state)
        return frame

    each_frame(state, run)


def resize(component: Component, state: RenderState) -> None:
    dpr = dpr_of(component, state)
    box_w = positive(length(component.width, state.width, state, dpr), "width")
    box_h = positive(length(component.height, state.height, state, dpr), "height")
    ratio = None
    if component.aspect_ratio is not None:
        ratio = (
            evaluate_number(component.aspect_ratio.parsed, environment(state))
            if isinstance(component.aspect_ratio, Expression)
            else component.aspect_ratio.value
        )
    if ratio is not None and (box_w or box_h or component.crop in ("fill", "lfill", "crop", "thumb", "auto", "pad", "lpad", "mpad", "fill_pad")):
        box_w, box_h = derive_box(state.width, state.height, box_w, box_h, ratio)
    if box_w is None and box_h is None and component.crop == "crop" and (component.gravity or "").startswith("custom") and state.regions.custom:
        _crop_to_custom(state)
        return
    if box_w is None and box_h is None:
        return  # a dpr on its own scales the sizes of the chain (chain_dpr), not the image
    if component.crop in ("imagga_crop", "imagga_scale"):
        raise UnsupportedTransformation(f"Crop mode {component.crop} needs an add-on, which this server does not have")
    gravity = component.gravity or "center"
    if gravity.startswith("custom") and ":" not in gravity and not state.regions.custom:
        gravity = "center"  # no stored custom coordinates: Cloudinary falls back likewise
    x = length(component.x, state.width, state, dpr)
    y = length(component.y, state.height, state, dpr)
    if component.crop == "auto" and gravity == "center":
        gravity = "auto"
    if _saliency_after_resize(component.crop, gravity):
        # Find the subject on the already-scaled image (small, and decoded anyway) instead of
        # decoding a separate preview: the crop window is placed by libvips' smartcrop.
        plan = plan_resize(component.crop, state.width, state.height, box_w, box_h, Placement("center", x, y), component.zoom)
        if plan.crop is not None and plan.pre_crop is None and plan.pad is None:
            window = plan.crop
            _execute(replace(plan, crop=None), component, state)
            each_frame(state, lambda frame: frame.smartcrop(window.width, window.height, interesting="attention"))
            return
    needs_focus = component.crop in AUTO_GRAVITY_CROPS  # the modes that cut a window by gravity
    focus_box = focus(state, gravity) if needs_focus and is_focus_gravity(gravity) else None
    plan = plan_resize(component.crop, state.width, state.height, box_w, box_h, Placement(gravity, x, y, focus_box), component.zoom)
    _execute(plan, component, state)


def _saliency_after_resize(crop: str | None, gravity: str) -> bool:
    """Plain `g_auto` (not `auto:face…`) on a mode that scales then cuts."""
    return crop in ("fill", "auto", "lfill", "fill_pad", "auto_pad") and gravity in ("auto", "auto:subject", "auto:classic")


def _crop_to_custom(state: RenderState) -> None:
    """`c_crop,g_custom` without a size: exactly the stored custom box (clamped to the image)."""
    box = stored_boxes(state, state.regions.custom[:1])[0]
    left, top = min(max(0, box.left), state.width - 1), min(max(0, box.top), state.height - 1)
    width, height = max(1, min(box.width, state.width - left)), max(1, min(box.height, state.height - top))
    each_frame(state, lambda frame: frame.crop(left, top, width, height))
