"""Pricing arithmetic (base override, grade, season, voucher bonus, rounding) and pricing file errors."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from pathlib import Path

import pytest

from grading.policy import default_policy_path, load_policy
from grading.pricing import PricingError, Rounding, RoundingMode, check_pricing_against_policy, load_pricing, quote
from tests.grading.fake_outputs import pricing, write

JANUARY, JULY = datetime.date(2026, 1, 15), datetime.date(2026, 7, 15)


def test_station_list_price_is_base_times_grade_times_season_charm_rounded() -> None:
    offer = quote(pricing(), "good", kiosk=False, when=JANUARY, category="outwear")
    assert offer.list_price == 24.99  # 45 x 0.5 x 1.1 = 24.75 -> 25 -> 24.99
    assert (offer.cash, offer.store_credit) == (None, None)
    assert offer.factors["base_source"] == "category:outwear"


def test_season_changes_the_price() -> None:
    summer = quote(pricing(), "good", kiosk=False, when=JULY, category="outwear")
    assert summer.list_price == 15.99  # 45 x 0.5 x 0.7 = 15.75 -> 16 -> 15.99


def test_brand_overrides_category_and_product_line_overrides_brand() -> None:
    by_brand = quote(pricing(), "like_new", False, JULY, category="shoes", brand="new balance")
    by_line = quote(pricing(), "like_new", False, JULY, category="shoes", brand="New Balance", product_line="nb-990v6")
    assert by_brand.factors["base_source"] == "brand:New Balance" and by_brand.list_price == 37.99  # 45 x 0.85
    assert (
        by_line.factors["base_source"] == "product_line:nb-990v6" and by_line.list_price == 76.99
    )  # 90 x 0.85 = 76.5 -> 77


def test_kiosk_voucher_cash_and_store_credit_with_the_bonus() -> None:
    offer = quote(pricing(), "like_new", kiosk=True, when=JULY, category="shoes")
    assert offer.list_price is None
    assert offer.cash == 13.5  # 40 x 0.85 x 0.4 = 13.6 -> down to 0.50 steps
    assert offer.store_credit == 16.0  # 13.6 x 1.2 = 16.32 -> 16.0


@pytest.mark.parametrize(
    ("rounding", "amount", "expected"),
    [
        (Rounding(step=0.5, mode=RoundingMode.NEAREST), 10.26, 10.5),
        (Rounding(step=0.5, mode=RoundingMode.DOWN), 10.49, 10.0),
        (Rounding(step=1, mode=RoundingMode.UP), 10.01, 11.0),
        (Rounding(step=1, charm=True), 9.6, 9.99),
        (Rounding(step=0.5, charm=True), 9.4, 9.5),  # charm only on whole amounts
    ],
)
def test_rounding(rounding: Rounding, amount: float, expected: float) -> None:
    assert rounding.apply(amount) == expected


def test_unknown_grade_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match="add it to grade_multipliers"):
        quote(pricing(), "mint", False, JULY)


MINIMAL = """
version: "1"
currency: EUR
base_price: {default: 10}
grade_multipliers: {good: 0.5}
listing: {departments: {default: Ladies}}
"""


def test_a_minimal_file_loads(tmp_path: Path) -> None:
    assert load_pricing(write(tmp_path, MINIMAL)).season_factor("outwear", 3) == 1.0


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("seasonality: {outwear: [1, 1]}", "seasonality: outwear has 2 monthly multipliers; give 12"),
        ("voucher: {store_credit_bonus: -0.2}", "voucher.store_credit_bonus: Input should be greater than or equal"),
        ("voucher: {bonus: 0.2}", "voucher.bonus: unknown field"),
        ("list_price_rounding: {mode: sideways}", "list_price_rounding.mode: unknown value 'sideways'"),
    ],
)
def test_bad_pricing_names_file_field_and_fix(tmp_path: Path, extra: str, expected: str) -> None:
    path = write(tmp_path, MINIMAL + extra)
    with pytest.raises(PricingError) as raised:
        load_pricing(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert expected in str(raised.value)


def test_a_bad_currency_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(PricingError, match="currency: String should match"):
        load_pricing(write(tmp_path, MINIMAL.replace("EUR", "euro")))


def test_arithmetic_is_decimal_so_31_5_rounds_up() -> None:
    offer = quote(pricing(), "fair", False, JULY, product_line="nb-990v6")
    assert offer.list_price == 31.99  # 90 x 0.35 = 31.5 exactly -> 32 -> 31.99 (binary floats made it 30.99)
    assert Rounding(step=1).apply(Decimal("2.5")) == 3.0


@pytest.mark.parametrize("category", [None, *pricing().base_price.categories])
def test_store_credit_is_above_cash_whenever_there_is_a_bonus(category: str | None) -> None:
    config = pricing()
    for grade in list(config.grade_multipliers)[:-1]:
        for month in range(1, 13):
            offer = quote(config, grade, True, datetime.date(2026, month, 1), category)
            assert offer.store_credit > offer.cash, (grade, month, offer)


def test_a_small_offer_gets_one_step_more_credit_and_no_bonus_means_equal() -> None:
    offer = quote(pricing(), "poor", True, JANUARY, category="t-shirt")  # 10 x 0.2 x 0.9 x 0.4 = 0.72
    assert (offer.cash, offer.store_credit) == (0.5, 1.0)  # 0.864 rounds down to 0.5: one step above instead
    no_bonus = pricing().voucher.model_copy(update={"store_credit_bonus": 0.0})
    flat = quote(pricing().model_copy(update={"voucher": no_bonus}), "poor", True, JANUARY, category="t-shirt")
    assert flat.cash == flat.store_credit == 0.5


def test_product_lines_and_category_keys_match_ignoring_case(tmp_path: Path) -> None:
    offer = quote(pricing(), "like_new", False, JULY, category="shoes", product_line=" NB-990v6 ")
    assert offer.factors["base_source"] == "product_line:nb-990v6"
    text = MINIMAL.replace("{default: 10}", "{default: 10, categories: {Shoes: 40}}")
    text += "seasonality: {Shoes: [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]}\n"
    config = load_pricing(
        write(tmp_path, text.replace("{default: Ladies}", "{default: Ladies, by_category: {Shoes: Sport}}"))
    )
    assert quote(config, "good", False, JULY, category="shoes").list_price == 40.0  # 40 x 0.5 x 2
    assert config.listing.departments.by_category == {"shoes": "Sport"}


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "seasonality: {outwear: [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]}",
            "seasonality.outwear.5: Input should be greater",
        ),
        ("base_price: {default: 10, brands: {H&M: 12, h&m: 13}}", "'h&m' appears twice when case is ignored"),
    ],
)
def test_more_bad_pricing_is_refused_at_load(tmp_path: Path, extra: str, expected: str) -> None:
    text = MINIMAL.replace("base_price: {default: 10}\n", "") if extra.startswith("base_price") else MINIMAL
    with pytest.raises(PricingError, match=re.escape(expected)):
        load_pricing(write(tmp_path, text + extra))


def test_a_negative_grade_multiplier_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PricingError, match=r"grade_multipliers\.good: Input should be greater than or equal to 0"):
        load_pricing(write(tmp_path, MINIMAL.replace("good: 0.5", "good: -0.5")))


def test_a_pricing_file_that_is_not_utf8_is_a_pricing_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(MINIMAL.replace("Ladies", "Caf\xe9").encode("latin-1"))
    with pytest.raises(PricingError, match="not UTF-8 text"):
        load_pricing(path)


def test_grade_names_are_checked_against_the_policy_scale() -> None:
    policy, config = load_policy(default_policy_path()), pricing()
    check_pricing_against_policy(config, policy)
    multipliers = dict(config.grade_multipliers)
    multipliers["very_god"] = multipliers.pop("very_good")
    typo = config.model_copy(update={"grade_multipliers": multipliers})
    expected = rf"names \['very_god'\], which are not on policy {re.escape(policy.version)}'s grade scale"
    with pytest.raises(PricingError, match=expected):
        check_pricing_against_policy(typo, policy)
    missing = config.model_copy(update={"grade_multipliers": {"good": 0.5}})
    with pytest.raises(PricingError, match=r"no multiplier for \['new_with_tags', 'like_new'"):
        check_pricing_against_policy(missing, policy)
