"""Importers on generated datasets: every layout, the registry, label maps, paths and the command line."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grading.manifest import Box, Item, read_manifest, resolve_photo_path
from grading.vocabulary import Authenticity, DefectType, Split
from tests.fixtures.layouts import (
    LAYOUT_MAKERS,
    LayoutFixture,
    make_class_folders,
    make_coco,
    make_image_masks,
    make_yolo,
    write_label_map,
    write_photo,
)
from training.cli import main
from training.importers import BUILTIN_LAYOUTS, get_importer, importer_names, register
from training.importers.errors import DuplicateImporterError, LabelMapError, LayoutError, UnknownImporterError
from training.importers.label_map import load_label_map
from training.importers.pipeline import ImportRequest, import_dataset


def run_import(fixture: LayoutFixture, out: Path, **options: str) -> tuple[list[Item], Path]:
    request = ImportRequest(
        layout=fixture.layout,
        root=fixture.root,
        out=out,
        dataset="fixture",
        license="CC0-1.0",
        label_map=load_label_map(fixture.label_map),
        options={**fixture.options, **options},
    )
    import_dataset(request, progress=False)
    return read_manifest(out), out


def by_name(items: list[Item]) -> dict[str, Item]:
    return {Path(item.source.original_path).stem: item for item in items}


# --- every layout -------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", BUILTIN_LAYOUTS)
def test_every_layout_imports_to_a_valid_manifest(layout: str, tmp_path: Path) -> None:
    fixture = LAYOUT_MAKERS[layout](tmp_path / "data")
    items, out = run_import(fixture, tmp_path / "out" / "m.jsonl")
    photos = [photo for item in items for photo in item.photos]
    assert len(photos) == fixture.photos
    assert sum(len(photo.defects or []) for photo in photos) == fixture.defects
    splits: dict[str, int] = {}
    for item in items:
        splits[str(item.split or "none")] = splits.get(str(item.split or "none"), 0) + 1
    assert splits == fixture.per_split
    for item in items:
        assert item.source.dataset == "fixture" and item.source.license == "CC0-1.0"
        assert item.id.startswith("fixture/")
        for photo in item.photos:
            file = resolve_photo_path(out, photo.path)
            assert not Path(photo.path).is_absolute() and file.is_file()
            assert photo.sha256 == hashlib.sha256(file.read_bytes()).hexdigest()
            assert (photo.width, photo.height) == Image.open(file).size


def test_paths_are_relative_to_the_manifest_folder_and_photos_are_not_copied(tmp_path: Path) -> None:
    fixture = make_image_masks(tmp_path / "data")
    items, out = run_import(fixture, tmp_path / "deep" / "er" / "m.jsonl")
    photo = by_name(items)["cut_1"].photos[0]
    assert photo.path == "../../data/image_masks/train/images/cut_1.png"
    assert photo.defects[0].mask == "../../data/image_masks/train/masks/cut_1.png"
    assert sorted(p.name for p in out.parent.iterdir()) == ["m.jsonl"]


# --- class folders ------------------------------------------------------------------------------------


def test_class_folders_map_split_names_and_categories(tmp_path: Path) -> None:
    items, _ = run_import(make_class_folders(tmp_path), tmp_path / "m.jsonl")
    assert {item.split for item in items} == {Split.TRAIN, Split.VALIDATION}
    assert {item.category for item in items} == {"dress", "tee"}
    assert all(photo.defects is None for item in items for photo in item.photos)


def test_class_folders_without_splits_and_with_authenticity(tmp_path: Path) -> None:
    items, _ = run_import(make_class_folders(tmp_path, with_splits=False, authenticity=True), tmp_path / "m.jsonl")
    assert {item.split for item in items} == {None}
    assert {item.authenticity for item in items} == {Authenticity.AUTHENTIC, Authenticity.COUNTERFEIT}
    assert all(item.category is None for item in items)


def test_class_folders_need_a_label_map(tmp_path: Path) -> None:
    fixture = make_class_folders(tmp_path)
    request = ImportRequest("class_folders", fixture.root, tmp_path / "m.jsonl", "x", "CC0-1.0")
    with pytest.raises(LayoutError, match="--label-map"):
        import_dataset(request, progress=False)


# --- YOLO ---------------------------------------------------------------------------------------------


def test_yolo_boxes_in_pixels_empty_is_clean_missing_is_unannotated(tmp_path: Path) -> None:
    items, _ = run_import(make_yolo(tmp_path), tmp_path / "m.jsonl")
    photos = {name: item.photos[0] for name, item in by_name(items).items()}
    hole, knot = photos["boxes"].defects
    assert hole.type is DefectType.HOLE and hole.source_label == "Hole"
    assert hole.box == Box(x0=24, y0=12, x1=40, y1=36)  # 64x48 photo, centre box 0.25 x 0.5
    assert knot.type is DefectType.SNAG and knot.box == Box(x0=0, y0=0, x1=16, y1=24)
    assert photos["empty"].defects == []
    assert photos["unlabeled"].defects is None
    polygon = photos["polygon"].defects[0].polygon
    assert [pytest.approx(point) for point in [(6.4, 4.8), (32.0, 4.8), (32.0, 24.0)]] == polygon


def test_yolo_missing_labels_can_be_declared_clean(tmp_path: Path) -> None:
    items, _ = run_import(make_yolo(tmp_path), tmp_path / "m.jsonl", missing_labels="clean")
    assert by_name(items)["unlabeled"].photos[0].defects == []


def test_yolo_reports_label_files_without_a_photo(tmp_path: Path) -> None:
    fixture = make_yolo(tmp_path)
    request = ImportRequest("yolo", fixture.root, tmp_path / "m.jsonl", "x", "l", load_label_map(fixture.label_map))
    summary = import_dataset(request, progress=False)
    assert any("1 label file(s) with 1 box(es) have no photo" in note for note in summary.notes)


def test_yolo_flat_layout_ignores_readme_txt(tmp_path: Path) -> None:
    items, _ = run_import(make_yolo(tmp_path, flat=True), tmp_path / "m.jsonl")
    assert len(items) == 3 and all(item.split is None for item in items)


def test_yolo_without_data_yaml_says_what_to_add(tmp_path: Path) -> None:
    fixture = make_yolo(tmp_path)
    (fixture.root / "data.yaml").unlink()
    with pytest.raises(LayoutError, match=r"data\.yaml not found.*names"):
        run_import(fixture, tmp_path / "m.jsonl")


def test_yolo_class_index_outside_names_names_the_line(tmp_path: Path) -> None:
    fixture = make_yolo(tmp_path)
    (fixture.root / "train/labels/boxes.txt").write_text("0 0.5 0.5 0.1 0.1\n7 0.5 0.5 0.1 0.1\n")
    with pytest.raises(LayoutError, match=r"boxes\.txt:2: class 7"):
        run_import(fixture, tmp_path / "m.jsonl")


def test_unknown_option_lists_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="missing_labels"):
        run_import(make_yolo(tmp_path), tmp_path / "m.jsonl", colour="blue")


# --- image + mask -------------------------------------------------------------------------------------


def test_binary_masks_take_the_type_from_the_file_name(tmp_path: Path) -> None:
    items, _ = run_import(make_image_masks(tmp_path), tmp_path / "m.jsonl")
    photos = {name: item.photos[0] for name, item in by_name(items).items()}
    assert photos["cut_1"].defects[0].type is DefectType.CUT
    assert photos["hole_4"].defects[0].type is DefectType.HOLE
    assert photos["line_3"].defects == []  # all-zero mask: annotated clean


def test_class_index_masks_with_several_classes_are_split_beside_the_manifest(tmp_path: Path) -> None:
    items, out = run_import(make_image_masks(tmp_path / "data", kind="class_index"), tmp_path / "m.jsonl")
    photos = {name: item.photos[0] for name, item in by_name(items).items()}
    a_types = {defect.type: defect.mask for defect in photos["a"].defects}
    assert set(a_types) == {DefectType.HOLE, DefectType.STAIN}
    hole = np.asarray(Image.open(resolve_photo_path(out, a_types[DefectType.HOLE])))
    assert hole[:10, :10].min() == 255 and hole.sum() == 255 * 100
    assert photos["b"].defects[0].mask == "data/image_masks/masks/b.png"  # one class: the original mask
    assert photos["c"].defects == []


def test_a_photo_without_a_mask_names_the_expected_path(tmp_path: Path) -> None:
    fixture = make_image_masks(tmp_path)
    (fixture.root / "train/masks/hole_2.png").unlink()
    with pytest.raises(LayoutError, match=r"hole_2\.png has no mask: expected .*masks/hole_2\.png"):
        run_import(fixture, tmp_path / "m.jsonl")


# --- MVTec and COCO -----------------------------------------------------------------------------------


def test_mvtec_good_photos_are_clean_and_defects_point_at_their_masks(tmp_path: Path) -> None:
    items, out = run_import(LAYOUT_MAKERS["mvtec"](tmp_path), tmp_path / "m.jsonl")
    good = [item for item in items if "/good/" in item.source.original_path]
    assert len(good) == 3 and all(item.photos[0].defects == [] for item in good)
    poke = next(item for item in items if "/poke/" in item.source.original_path).photos[0].defects[0]
    assert poke.type is DefectType.HOLE and resolve_photo_path(out, poke.mask).name == "000_mask.png"
    assert {item.category for item in items} == {"leather"}


def test_mvtec_defect_photo_without_mask_fails(tmp_path: Path) -> None:
    fixture = LAYOUT_MAKERS["mvtec"](tmp_path)
    (fixture.root / "leather/ground_truth/cut/001_mask.png").unlink()
    with pytest.raises(LayoutError, match=r"001_mask\.png"):
        run_import(fixture, tmp_path / "m.jsonl")


def test_coco_boxes_polygons_and_clean_photos(tmp_path: Path) -> None:
    items, _ = run_import(make_coco(tmp_path), tmp_path / "m.jsonl")
    photos = {name: item.photos[0] for name, item in by_name(items).items()}
    assert photos["box"].defects[0].box == Box(x0=10, y0=5, x1=30, y1=15)
    assert photos["polygon"].defects[0].polygon == [(2, 2), (30, 2), (30, 20), (2, 20)]
    assert photos["clean"].defects == []
    assert {item.split for item in items} == {Split.TRAIN}


def test_coco_rle_is_refused_with_a_way_out(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match=r"RLE.*polygons"):
        run_import(make_coco(tmp_path, rle=True), tmp_path / "m.jsonl")


# --- registry and label maps --------------------------------------------------------------------------


def test_registry_lists_valid_names_for_an_unknown_one() -> None:
    assert set(BUILTIN_LAYOUTS) <= set(importer_names())
    with pytest.raises(UnknownImporterError, match="class_folders, coco, image_masks, mvtec, yolo"):
        get_importer("pascal_voc")


def test_registering_a_name_twice_raises() -> None:
    get_importer("yolo")
    with pytest.raises(DuplicateImporterError, match="'yolo' is already registered"):
        register("yolo", description="again")(lambda root, context: iter(()))


def test_a_name_missing_from_the_label_map_is_an_error_naming_file_name_and_known(tmp_path: Path) -> None:
    fixture = make_yolo(tmp_path)
    write_label_map(fixture.label_map, "defect_type", {"Hole": "hole"})
    with pytest.raises(LabelMapError) as error:
        run_import(fixture, tmp_path / "m.jsonl")
    message = str(error.value)
    assert "'Knot'" in message and str(fixture.label_map) in message and "Known names: Hole" in message
    assert "boxes.txt:2" in message


def test_ignored_names_are_dropped_on_purpose(tmp_path: Path) -> None:
    fixture = make_yolo(tmp_path)
    write_label_map(fixture.label_map, "defect_type", {"Hole": "hole"}, ignore=["Knot"])
    items, _ = run_import(fixture, tmp_path / "m.jsonl")
    assert [d.type for d in by_name(items)["boxes"].photos[0].defects] == [DefectType.HOLE]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("field: defect_type\nmap: {Hole: holes}\n", "not a valid defect_type; use one of stain, hole"),
        ("field: colour\nmap: {Hole: hole}\n", "is not one of defect_type, category, authenticity"),
        ("field: authenticity\nmap: {fake: fake}\n", "use one of authentic, counterfeit, unknown"),
        ("field: defect_type\nmap: {Hole: }\n", "give a non-empty defect_type"),
        ("field: defect_type\n", "needs 'field:' and a 'map:'"),
        ("field: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_label_maps_say_what_is_wrong(tmp_path: Path, document: str, message: str) -> None:
    path = tmp_path / "map.yaml"
    path.write_text(document)
    with pytest.raises(LabelMapError, match=message) as error:
        load_label_map(path)
    assert str(path) in str(error.value)


def test_a_defect_layout_refuses_a_category_map(tmp_path: Path) -> None:
    fixture = make_image_masks(tmp_path)
    write_label_map(fixture.label_map, "category", {"cut": "jacket"})
    with pytest.raises(LabelMapError, match="needs 'field: defect_type'"):
        run_import(fixture, tmp_path / "m.jsonl")


# --- command line -------------------------------------------------------------------------------------


def test_cli_imports_and_prints_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixture = make_yolo(tmp_path)
    out = tmp_path / "m.jsonl"
    argv = ["data", "import", "yolo", str(fixture.root), "--out", str(out), "--label-map", str(fixture.label_map)]
    assert main([*argv, "--license", "CC-BY-4.0", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "items: 4" in printed and "defects per type: hole 1, snag 2" in printed
    assert "per split: train 3, validation 1" in printed
    assert read_manifest(out)[0].source.dataset == "yolo"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["yolo", "{tmp}/nowhere"], "nowhere does not exist"),
        (["pascal_voc", "{tmp}"], "valid layouts: class_folders"),
        (["yolo", "{tmp}/data/yolo"], "data.yaml not found"),
        ([], "give LAYOUT ROOT"),
        (["--catalog", "nope"], "known datasets: clothing-small"),
    ],
)
def test_cli_bad_input_exits_2_with_a_message_and_no_traceback(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_yolo(tmp_path / "data")
    (fixture.root / "data.yaml").unlink()
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in argv]
    label_map = ["--label-map", str(fixture.label_map)] if argv and not argv[0].startswith("--") else []
    code = main(["data", "import", *args, *label_map, "--out", str(tmp_path / "m.jsonl"), "--no-progress"])
    error = capsys.readouterr().err
    assert code == 2 and message in error and "Traceback" not in error


def test_cli_imports_from_a_catalog_under_the_env_datasets_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixture = make_class_folders(tmp_path / "shared")
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "datasets:\n  tiny:\n    folder: class_folders\n    layout: class_folders\n"
        f"    label_map: {os.path.relpath(fixture.label_map, tmp_path)}\n    license: CC0-1.0\n"
    )
    monkeypatch.setenv("SECONDLOOK_SHARED_DATASETS", str(tmp_path / "shared"))
    out = tmp_path / "var" / "tiny.jsonl"
    assert main(["data", "import", "--catalog", "tiny", "--catalog-file", str(catalog), "--out", str(out)]) == 0
    items = read_manifest(out)
    assert len(items) == 8 and items[0].id.startswith("tiny/") and items[0].source.license == "CC0-1.0"


def test_cli_help_explains_every_layout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "import", "--help"]) == 0
    text = capsys.readouterr().out
    for layout in BUILTIN_LAYOUTS:
        assert f"\n{layout}  " in text
    assert "secondlook data import --catalog clothing-small" in text


def test_an_unreadable_photo_is_imported_with_a_note(tmp_path: Path) -> None:
    fixture = make_class_folders(tmp_path)
    bad = write_photo(fixture.root / "train/dress/zz.jpg", 99)
    bad.write_bytes(b"not a jpeg")
    request = ImportRequest("class_folders", fixture.root, tmp_path / "m.jsonl", "x", "l",
                            load_label_map(fixture.label_map))  # fmt: skip
    summary = import_dataset(request, progress=False)
    assert any("zz.jpg: no decoder recognises" in note for note in summary.notes)


def test_roboflow_export_names_group_copies_of_one_source_photo() -> None:
    from training.importers.yolo import roboflow_source_name

    first = Path("Borello_0009_Fuchsia-1-_jpg.rf.e5f427ac752b21972849b4d2caca0f71.jpg")
    second = Path("Borello_0009_Fuchsia-1-_jpg.rf.17adafdc9b95a08b229721f69bba47a6.jpg")
    assert roboflow_source_name(first) == roboflow_source_name(second) == "Borello_0009_Fuchsia-1-"
    assert roboflow_source_name(Path("S7.jpeg")) is None


def test_class_folders_with_an_item_label_map_fill_category_authenticity_and_product_line(tmp_path: Path) -> None:
    fixture = make_class_folders(tmp_path)
    (tmp_path / "item_map.yaml").write_text(
        "field: item\nmap:\n"
        "  dress: {category: shoes, authenticity: counterfeit, product_line: af1}\n"
        "  t-shirt: {category: shoes, authenticity: authentic, product_line: aj1}\n"
    )
    items, _ = run_import(dataclasses.replace(fixture, label_map=tmp_path / "item_map.yaml"), tmp_path / "m.jsonl")
    labels = {(item.category, item.authenticity, item.product_line) for item in items}
    assert labels == {("shoes", Authenticity.COUNTERFEIT, "af1"), ("shoes", Authenticity.AUTHENTIC, "aj1")}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("fake_af1: counterfeit", "give a mapping"),
        ("fake_af1: {colour: red}", "sets \\['colour'\\]"),
        ("fake_af1: {authenticity: fake}", "not a valid authenticity"),
        ("fake_af1: {product_line: ''}", "non-empty"),
    ],
)
def test_item_label_maps_say_what_to_fix(entry: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text(f"field: item\nmap:\n  {entry}\n")
    with pytest.raises(LabelMapError, match=message):
        load_label_map(path)
