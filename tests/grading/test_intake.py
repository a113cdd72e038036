"""Photo intake on real files made in the test: every format, every colour mode, every bad-input class."""

from __future__ import annotations

import contextlib
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from grading.intake import Framing, IntakeError, IntakeFailure, IntakeLimits, Preprocessing, load_photo
from grading.photo_format import PhotoFormat, heic_supported

RED, GREEN, BLUE = (220, 30, 30), (30, 200, 40), (30, 40, 210)


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def split_image(size: tuple[int, int] = (600, 400)) -> Image.Image:
    """Left half red, right half blue: orientation and crop are visible in the output."""
    image = Image.new("RGB", size, BLUE)
    image.paste(RED, (0, 0, size[0] // 2, size[1]))
    return image


def mean_colour(pixels: np.ndarray) -> np.ndarray:
    return pixels.reshape(-1, 3).mean(axis=0)


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR claiming a huge image, followed by a tiny IDAT: a decompression bomb."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(("fmt", "expected"), [("JPEG", "jpeg"), ("PNG", "png"), ("WEBP", "webp")])
def test_accepted_formats_give_model_ready_rgb(fmt: str, expected: str) -> None:
    photo = load_photo(encode(split_image(), fmt, quality=95))
    assert photo.source_format == PhotoFormat(expected)
    assert photo.pixels.shape == (224, 224, 3) and photo.pixels.dtype == np.uint8
    assert photo.pixels.flags.writeable
    assert photo.source_size == (600, 400)
    left, right = mean_colour(photo.pixels[:, :100]), mean_colour(photo.pixels[:, -100:])
    assert left[0] > 180 and right[2] > 170


def test_heic_when_pillow_heif_is_installed() -> None:
    if not heic_supported():
        pytest.skip("pillow-heif is not installed (the 'heic' extra)")
    try:
        data = encode(split_image(), "HEIF", quality=90)
    except (OSError, KeyError, ValueError) as error:
        pytest.skip(f"this libheif build cannot encode HEIC to make a test file: {error}")
    photo = load_photo(data)
    assert photo.source_format == PhotoFormat.HEIC
    assert mean_colour(photo.pixels[:, :100])[0] > 170


def test_crop_box_maps_the_centre_crop_back_onto_the_original() -> None:
    centre_crop = Preprocessing(framing=Framing.CENTRE_CROP)
    photo = load_photo(encode(split_image((600, 400)), "PNG"), preprocessing=centre_crop)
    # short side 400 -> 256 (scale 0.64): resized 384x256, crop starts at (80, 16) -> in original pixels:
    assert photo.crop_box == pytest.approx((125.0, 25.0, 475.0, 375.0))


def test_whole_framing_keeps_every_edge_of_the_photo() -> None:
    image = Image.new("RGB", (600, 400), BLUE)
    image.paste(RED, (0, 0, 40, 400))  # a strip at the left edge, which a centre crop would cut off
    photo = load_photo(encode(image, "PNG"), preprocessing=Preprocessing(framing=Framing.WHOLE))
    assert photo.crop_box == (0.0, 0.0, 600.0, 400.0)
    assert photo.pixels.shape == (224, 224, 3)
    assert mean_colour(photo.pixels[:, :10])[0] > 180  # 40 px of 600 -> about 15 of 224 columns
    assert mean_colour(photo.pixels[:, 20:])[2] > 180
    centre = load_photo(encode(image, "PNG"))  # the default framing: a centre crop
    assert mean_colour(centre.pixels[:, :10])[2] > 180  # the strip is gone


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_every_framing_keeps_an_overview_of_the_whole_photo_for_the_framing_check(fmt: str) -> None:
    image = Image.new("RGB", (400, 600), BLUE)  # portrait: a centre crop cuts the top and the bottom
    image.paste(RED, (0, 0, 400, 60))
    for framing in Framing:
        photo = load_photo(encode(image, fmt), preprocessing=Preprocessing(framing=framing))
        assert photo.overview is not None and photo.overview.shape == (56, 56, 3)
        assert photo.overview.dtype == np.uint8
        assert mean_colour(photo.overview[:4])[0] > 180  # 60 px of 600: the top 5 of 56 rows
        assert mean_colour(photo.overview[10:])[2] > 180


def test_format_is_recognised_by_content_not_by_name() -> None:
    with pytest.raises(IntakeError) as refused:
        load_photo(b"this is a text file someone renamed to photo.jpg\n" * 10)
    assert refused.value.failure is IntakeFailure.UNSUPPORTED_FORMAT
    assert "JPEG" in refused.value.message


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_image_formats_are_refused(fmt: str) -> None:
    with pytest.raises(IntakeError) as refused:
        load_photo(encode(split_image(), fmt))
    assert refused.value.failure is IntakeFailure.UNSUPPORTED_FORMAT


@pytest.mark.parametrize(("orientation", "expected_size"), [(1, (600, 400)), (3, (600, 400)), (6, (400, 600))])
def test_exif_orientation_is_applied(orientation: int, expected_size: tuple[int, int]) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    photo = load_photo(encode(split_image(), "JPEG", quality=95, exif=exif.tobytes()))
    assert photo.source_size == expected_size
    top, bottom = mean_colour(photo.pixels[:80]), mean_colour(photo.pixels[-80:])
    left, right = mean_colour(photo.pixels[:, :80]), mean_colour(photo.pixels[:, -80:])
    if orientation == 1:
        assert left[0] > 180 and right[2] > 170
    elif orientation == 3:  # rotated 180: red ends up on the right
        assert right[0] > 180 and left[2] > 170
    else:  # 6 = rotate 90 clockwise to display: the red left half becomes the top
        assert top[0] > 180 and bottom[2] > 170


def test_cmyk_jpeg_keeps_its_colour() -> None:
    photo = load_photo(encode(Image.new("RGB", (300, 300), RED).convert("CMYK"), "JPEG", quality=95))
    red, green, blue = mean_colour(photo.pixels)
    assert red > 180 and green < 80 and blue < 80


def test_palette_png_with_transparency_is_flattened_on_white() -> None:
    image = Image.new("P", (300, 300), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(1, (0, 0, 150, 300))
    photo = load_photo(encode(image, "PNG", transparency=0))
    assert mean_colour(photo.pixels[:, :60]) == pytest.approx((255, 0, 0), abs=2)
    assert mean_colour(photo.pixels[:, -60:]) == pytest.approx((255, 255, 255), abs=2)


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_is_flattened_on_white(mode: str) -> None:
    image = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    image.paste((0, 0, 0, 255), (0, 0, 150, 300))
    photo = load_photo(encode(image.convert(mode), "PNG"))
    assert mean_colour(photo.pixels[:, :60]) == pytest.approx((0, 0, 0), abs=2)
    assert mean_colour(photo.pixels[:, -60:]) == pytest.approx((255, 255, 255), abs=2)


def test_sixteen_bit_greyscale_is_scaled_not_clipped() -> None:
    values = np.full((300, 300), 32768, dtype=np.uint16)
    values[:, :150] = 65535
    photo = load_photo(encode(Image.fromarray(values), "PNG"))
    assert mean_colour(photo.pixels[:, :60]) == pytest.approx((255, 255, 255), abs=1)
    assert mean_colour(photo.pixels[:, -60:]) == pytest.approx((128, 128, 128), abs=1)


@pytest.mark.parametrize("mode", ["L", "1"])
def test_greyscale_and_bilevel_become_three_equal_channels(mode: str) -> None:
    photo = load_photo(encode(split_image().convert(mode), "PNG"))
    assert np.array_equal(photo.pixels[..., 0], photo.pixels[..., 1])
    assert np.array_equal(photo.pixels[..., 1], photo.pixels[..., 2])


def test_empty_upload_is_refused() -> None:
    with pytest.raises(IntakeError) as refused:
        load_photo(b"")
    assert refused.value.failure is IntakeFailure.EMPTY


def test_byte_cap_is_configurable() -> None:
    data = encode(split_image(), "PNG")
    with pytest.raises(IntakeError) as refused:
        load_photo(data, IntakeLimits(max_bytes=len(data) - 1))
    assert refused.value.failure is IntakeFailure.TOO_MANY_BYTES
    assert "MB" in refused.value.message


def test_decompression_bomb_is_refused_from_the_header() -> None:
    with pytest.raises(IntakeError) as refused:
        load_photo(png_header_only(20000, 20000))
    assert refused.value.failure is IntakeFailure.TOO_MANY_PIXELS
    assert "20000x20000" in refused.value.message


def test_huge_jpeg_header_is_refused_before_decoding() -> None:
    data = bytearray(encode(split_image((64, 48)), "JPEG"))
    start_of_frame = data.index(b"\xff\xc0")
    data[start_of_frame + 5 : start_of_frame + 9] = struct.pack(">HH", 60000, 60000)  # height, width
    with pytest.raises(IntakeError) as refused:
        load_photo(bytes(data))
    assert refused.value.failure is IntakeFailure.TOO_MANY_PIXELS


def test_pixel_cap_is_configurable() -> None:
    with pytest.raises(IntakeError) as refused:
        load_photo(encode(split_image(), "PNG"), IntakeLimits(max_pixels=100_000))
    assert refused.value.failure is IntakeFailure.TOO_MANY_PIXELS


def test_tiny_photo_is_refused() -> None:
    with pytest.raises(IntakeError) as refused:
        load_photo(encode(Image.new("RGB", (8, 8)), "PNG"))
    assert refused.value.failure is IntakeFailure.TOO_SMALL


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_truncated_file_is_refused_as_corrupt(fmt: str) -> None:
    noisy = Image.fromarray(np.random.default_rng(1).integers(0, 255, (400, 600, 3), dtype=np.uint8))
    data = encode(noisy, fmt, quality=90)
    with pytest.raises(IntakeError) as refused:
        load_photo(data[: len(data) // 2])
    assert refused.value.failure is IntakeFailure.CORRUPT
    assert "damaged or incomplete" in refused.value.message


def test_garbage_behind_a_jpeg_signature_is_refused_as_corrupt() -> None:
    with pytest.raises(IntakeError) as refused:
        load_photo(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8)
    assert refused.value.failure is IntakeFailure.CORRUPT


def test_png_with_a_broken_checksum_is_refused_as_corrupt() -> None:
    data = bytearray(encode(split_image(), "PNG"))
    data[data.index(b"IDAT") + 20] ^= 0xFF
    with pytest.raises(IntakeError) as refused:
        load_photo(bytes(data))
    assert refused.value.failure is IntakeFailure.CORRUPT


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_mutated_files_never_raise_anything_but_intake_errors(fmt: str) -> None:
    """A small fuzz: flip random bytes of a valid photo; every outcome is a photo or an IntakeError."""
    rng = np.random.default_rng(7)
    original = encode(split_image((160, 120)), fmt, quality=80)
    for _ in range(150):
        mutated = bytearray(original)
        for position in rng.integers(0, len(mutated), size=rng.integers(1, 8)):
            mutated[position] = int(rng.integers(0, 256))
        with contextlib.suppress(IntakeError):
            load_photo(bytes(mutated))


def test_dct_scaled_decode_matches_a_full_decode_within_tolerance() -> None:
    from bench.intake_bench import detailed_jpeg, full_decode_reference

    data = detailed_jpeg(size=(2000, 1500))
    difference = np.abs(load_photo(data).pixels.astype(int) - full_decode_reference(data).astype(int))
    assert difference.mean() < 2.0
    assert np.percentile(difference, 99) <= 12


def test_preprocessing_geometry_is_configurable() -> None:
    photo = load_photo(encode(split_image(), "PNG"), preprocessing=Preprocessing(resize_short_side=160, crop_size=128))
    assert photo.pixels.shape == (128, 128, 3)
