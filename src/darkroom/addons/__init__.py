"""The add-ons, offline: moderation, OCR, background removal, tagging, upscaling, object
detection — each on a model shipped in a package or brought by the operator
(`models.py`), never downloaded. Inputs are RGB uint8 arrays (H×W×3) that `imaging` makes;
this part knows nothing of files, HTTP or the catalog.
"""

from darkroom.addons.models import MODEL_FILES, Availability, ModelCache, ModelUnavailable, availability
from darkroom.addons.params import AddonRequest, NotSubscribed, coordinates_text, parse_addon_params, parse_coordinates

__all__ = [
    "MODEL_FILES",
    "AddonRequest",
    "Availability",
    "ModelCache",
    "ModelUnavailable",
    "NotSubscribed",
    "availability",
    "coordinates_text",
    "parse_addon_params",
    "parse_coordinates",
]
