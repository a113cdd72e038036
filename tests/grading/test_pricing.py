"""Pricing arithmetic (base override, grade, season, voucher bonus, rounding) and pricing file errors."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from grading.pricing import PricingError, Rounding, RoundingMode, load_pricing, quote
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
