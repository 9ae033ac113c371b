"""Pixels: probing uploads and rendering transformations with libvips."""

from darkroom.imaging.probe import CONTENT_TYPES, MediaInfo, content_type_for, probe

__all__ = ["CONTENT_TYPES", "MediaInfo", "content_type_for", "probe"]
