"""Decoded sources kept in memory, for formats libvips cannot shrink while loading.

A JPEG (or WebP) asked for at 300 px decodes at 1/2, 1/4 or 1/8 scale, so decoding it again
for every new size costs little. A PNG, TIFF or BMP always decodes at full size: for a
1024×768 PNG, inflating the file is most of a render's CPU. Keeping the decoded pixels of
recently used sources lets the next size of the same image skip straight to the resize.

The memory is per process and bounded in bytes (least recently used sources go first). An
entry is found only by the key the caller gives (the original's storage key, which names
one version of one asset), so a new version never finds an old version's pixels.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import pyvips

# Loaders that decode at full size whatever size is asked for (no shrink-on-load).
FULL_SIZE_DECODERS = frozenset(("png", "tiff", "bmp"))
DEFAULT_BUDGET_BYTES = 256 * 1024 * 1024


_BAND_BYTES = {"uchar": 1, "char": 1, "ushort": 2, "short": 2, "uint": 4, "int": 4, "float": 4, "double": 8, "complex": 8, "dpcomplex": 16}


def _size_of(image: pyvips.Image) -> int:
    return int(image.width * image.height * image.bands * _BAND_BYTES[image.format])


class DecodedSources:
    """An LRU of decoded, in-memory source images bounded by their total bytes."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.budget_bytes = budget_bytes
        self._images: OrderedDict[str, pyvips.Image] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def admits(self, source_format: str, width: int, height: int, pages: int) -> bool:
        """Whether caching pays: a full-size decoder, one page, and small enough that a quarter
        of the budget holds it (one huge scan should not evict every other source)."""
        return (
            source_format in FULL_SIZE_DECODERS
            and pages == 1
            and width * height * 4 * 4 <= self.budget_bytes
        )

    def get(self, key: str, decode: Callable[[], pyvips.Image]) -> pyvips.Image:
        """The decoded image for `key`, decoding (outside the lock) and keeping it on a miss."""
        with self._lock:
            image = self._images.get(key)
            if image is not None:
                self._images.move_to_end(key)
                return image
        image = decode().copy_memory()
        self._keep(key, image)
        return image

    def _keep(self, key: str, image: pyvips.Image) -> None:
        size = _size_of(image)
        if size > self.budget_bytes:
            return
        with self._lock:
            previous = self._images.pop(key, None)
            if previous is not None:
                self._bytes -= _size_of(previous)
            self._images[key] = image
            self._bytes += size
            while self._bytes > self.budget_bytes:
                _, evicted = self._images.popitem(last=False)
                self._bytes -= _size_of(evicted)

    def clear(self) -> None:
        with self._lock:
            self._images.clear()
            self._bytes = 0

    @property
    def bytes_held(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._images)


# One per process, like libvips' own operation cache; `configure` sets its budget at start-up.
_SHARED = DecodedSources()


def shared() -> DecodedSources:
    return _SHARED


def configure(budget_bytes: int) -> None:
    """Set the per-process budget (0 turns the memory off) and forget what is held."""
    _SHARED.budget_bytes = budget_bytes
    _SHARED.clear()
