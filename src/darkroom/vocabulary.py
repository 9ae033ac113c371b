"""Cloudinary's words for kinds of asset and ways of delivering them, named once for every part.

A stored asset has a resource type (what it is) and a delivery type (who may fetch it, and how).
Requests accept a few more words than storage holds: an upload may say `auto` and let the bytes
decide; an archive may say `all`; a delivery URL may name a type darkroom generates on request.

    STORED_RESOURCE_TYPES     image, raw, video: what an asset is
    UPLOAD_RESOURCE_TYPES     … and auto (the Upload API sniffs the file)
    ARCHIVE_RESOURCE_TYPES    … and all, auto (generate_archive)
    STORED_DELIVERY_TYPES     upload, private, authenticated: how an asset is stored
    SIGNED_DELIVERY_TYPES     private, authenticated: delivered only with a signature
    GENERATED_DELIVERY_TYPES  text, sprite, multi: made by the generation actions
    DELIVERY_URL_TYPES        stored and generated types: what a delivery URL may name
    OBJECT_NAMES              the objects `g_<object>` may name (COCO's classes, as Cloudinary spells them)
"""

from __future__ import annotations

__all__ = [
    "ARCHIVE_RESOURCE_TYPES",
    "DELIVERY_URL_TYPES",
    "GENERATED_DELIVERY_TYPES",
    "OBJECT_NAMES",
    "SIGNED_DELIVERY_TYPES",
    "STORED_DELIVERY_TYPES",
    "STORED_RESOURCE_TYPES",
    "UPLOAD_RESOURCE_TYPES",
]

# In the order the Admin API lists them (`GET /resources`).
STORED_RESOURCE_TYPES = ("image", "raw", "video")
UPLOAD_RESOURCE_TYPES = (*STORED_RESOURCE_TYPES, "auto")
ARCHIVE_RESOURCE_TYPES = (*STORED_RESOURCE_TYPES, "all", "auto")

STORED_DELIVERY_TYPES = ("upload", "private", "authenticated")
SIGNED_DELIVERY_TYPES = ("private", "authenticated")
GENERATED_DELIVERY_TYPES = ("text", "sprite", "multi")
DELIVERY_URL_TYPES = (*STORED_DELIVERY_TYPES, *GENERATED_DELIVERY_TYPES)

# `g_dog`, `g_auto:cat`: the COCO classes object detectors name, spaces as underscores.
OBJECT_NAMES = frozenset(
    """person bicycle car motorcycle airplane bus train truck boat traffic_light fire_hydrant stop_sign parking_meter
    bench bird cat dog horse sheep cow elephant bear zebra giraffe backpack umbrella handbag tie suitcase frisbee skis
    snowboard sports_ball kite baseball_bat baseball_glove skateboard surfboard tennis_racket bottle wine_glass cup fork
    knife spoon bowl banana apple sandwich orange broccoli carrot hot_dog pizza donut cake chair couch potted_plant bed
    dining_table toilet tv laptop mouse remote keyboard cell_phone microwave oven toaster sink refrigerator book clock
    vase scissors teddy_bear hair_drier toothbrush""".split()
)
