"""The decoded-photo cache hands a job only photos framed the way the active bundle frames them."""

from __future__ import annotations

import numpy as np

from grading.intake import Framing, Photo, Preprocessing
from grading.photo_format import PhotoFormat
from serving.uploads import DecodedPhotoCache

WHOLE, CENTRE = Preprocessing(framing=Framing.WHOLE), Preprocessing(framing=Framing.CENTRE_CROP)


def _photo() -> Photo:
    return Photo(np.zeros((224, 224, 3), np.uint8), PhotoFormat.JPEG, (640, 480), (0.0, 0.0, 640.0, 480.0))


def test_a_photo_decoded_for_another_framing_is_not_served() -> None:
    cache = DecodedPhotoCache()
    cache.put("abc", WHOLE, _photo())
    assert cache.take("abc", CENTRE) is None
    assert cache.take("abc", WHOLE) is not None
    assert cache.take("abc", WHOLE) is None  # taken once


def test_the_oldest_photo_leaves_when_the_cache_is_full() -> None:
    cache = DecodedPhotoCache(capacity=2)
    for name in ("a", "b", "c"):
        cache.put(name, WHOLE, _photo())
    assert cache.take("a", WHOLE) is None and cache.take("c", WHOLE) is not None
