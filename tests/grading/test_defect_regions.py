"""Connected defect regions on one photo's map, boxed in source-photo pixels."""

from __future__ import annotations

import numpy as np
import pytest

from grading.defect_regions import connected_components, find_regions
from grading.intake import Photo
from grading.photo_format import PhotoFormat
from grading.vocabulary import DefectType
from tests.grading.fake_outputs import DEFECT_TYPES, defect_map, photo

PRESENCE = dict.fromkeys(DEFECT_TYPES, 0.5)


def test_separate_blobs_are_separate_regions_strongest_first() -> None:
    probs = defect_map(
        [(DefectType.STAIN, slice(0, 2), slice(0, 2), 0.7), (DefectType.STAIN, slice(10, 11), slice(10, 13), 0.9)]
    )
    regions = find_regions(probs, DEFECT_TYPES, PRESENCE, photo())
    assert [(r.type, round(r.peak, 2)) for r in regions] == [(DefectType.STAIN, 0.9), (DefectType.STAIN, 0.7)]
    assert regions[0].box == (80.0, 80.0, 104.0, 88.0)  # 8 px cells
    assert regions[0].area_share == pytest.approx(3 / 784)
    assert regions[0].extent_share == pytest.approx(3 / 28)


def test_cells_under_the_types_threshold_are_not_a_region() -> None:
    probs = defect_map([(DefectType.HOLE, slice(3, 5), slice(3, 5), 0.4)])
    assert find_regions(probs, DEFECT_TYPES, PRESENCE | {"hole": 0.45}, photo()) == []
    assert len(find_regions(probs, DEFECT_TYPES, PRESENCE | {"hole": 0.35}, photo())) == 1


def test_diagonal_neighbours_join_one_region() -> None:
    mask = np.zeros((5, 5), bool)
    mask[0, 0] = mask[1, 1] = mask[2, 2] = mask[4, 0] = True
    assert sorted(len(cells) for cells in connected_components(mask)) == [1, 3]


def test_boxes_follow_the_crop_box_into_the_source_photo() -> None:
    landscape = Photo(np.zeros((224, 224, 3), np.uint8), PhotoFormat.JPEG, (1000, 560), (220.0, 0.0, 780.0, 560.0))
    probs = defect_map([(DefectType.TEAR, slice(0, 1), slice(27, 28), 0.8)])
    (region,) = find_regions(probs, DEFECT_TYPES, PRESENCE, landscape)
    assert region.box == (760.0, 0.0, 780.0, 20.0)


def test_a_map_with_the_wrong_channel_count_is_refused() -> None:
    with pytest.raises(ValueError, match=r"1 \+ 12 types"):
        find_regions(np.zeros((5, 4, 4), np.float32), DEFECT_TYPES, PRESENCE, photo())
