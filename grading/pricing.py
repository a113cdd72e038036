"""The versioned pricing configuration and the price of one graded item.

`grading/pricing/default.yaml` ships; every item result records the pricing `version`. The list price is

    base price (product line > brand > category > default) x grade multiplier x seasonality[category][month]

rounded to the configured step (optionally "charm" priced: 30.00 becomes 29.99). The station gets the list
price; the kiosk gets a trade-in voucher offer in both payout options: cash = list price (unrounded) x
`voucher.share_of_list_price`, and store credit worth `store_credit_bonus` more (default +20%).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from grading.config_file import load_config

PRICING_FOLDER = Path(__file__).resolve().parent / "pricing"


class PricingError(ValueError):
    """A pricing file that cannot be used; the message names the file, the field and the fix."""


class RoundingMode(StrEnum):
    NEAREST = "nearest"
    DOWN = "down"
    UP = "up"


_DECIMAL_MODES = {RoundingMode.NEAREST: ROUND_HALF_UP, RoundingMode.DOWN: ROUND_FLOOR, RoundingMode.UP: ROUND_CEILING}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rounding(_Strict):
    """Round to a multiple of `step` (0.5, 1, ...); `charm` then takes one cent off a whole amount (29.99)."""

    step: float = Field(1.0, gt=0)
    mode: RoundingMode = RoundingMode.NEAREST
    charm: bool = False

    def apply(self, amount: float) -> float:
        step = Decimal(str(self.step))
        steps = (Decimal(str(amount)) / step).quantize(Decimal(1), rounding=_DECIMAL_MODES[self.mode])
        rounded = steps * step
        if self.charm and rounded >= 1 and rounded == rounded.to_integral_value():
            rounded -= Decimal("0.01")
        return float(rounded)


class BasePrices(_Strict):
    """Base resale price of an item in new condition; the most specific match wins."""

    default: float = Field(gt=0)
    categories: dict[str, float] = Field(default_factory=dict)
    brands: dict[str, float] = Field(default_factory=dict)
    product_lines: dict[str, float] = Field(default_factory=dict)

    def lookup(self, category: str | None, brand: str | None, product_line: str | None) -> tuple[float, str]:
        """The base price and where it came from, e.g. 'brand:New Balance'."""
        if product_line in self.product_lines:
            return self.product_lines[product_line], f"product_line:{product_line}"
        brands = {name.lower(): (name, price) for name, price in self.brands.items()}
        if brand is not None and brand.lower() in brands:
            name, price = brands[brand.lower()]
            return price, f"brand:{name}"
        if category is not None and category.lower() in self.categories:
            return self.categories[category.lower()], f"category:{category.lower()}"
        return self.default, "default"


class Voucher(_Strict):
    share_of_list_price: float = Field(0.4, gt=0, le=1)
    store_credit_bonus: float = Field(0.2, ge=0)
    rounding: Rounding = Rounding(step=0.5, mode=RoundingMode.DOWN)


class Departments(_Strict):
    """Shop department: the first tag match, then material, then category, then the default."""

    default: str
    by_tag: dict[str, str] = Field(default_factory=dict, description="tag (case-insensitive) -> department")
    by_material: dict[str, str] = Field(default_factory=dict)
    by_category: dict[str, str] = Field(default_factory=dict)


class Listing(_Strict):
    condition_labels: dict[str, str] = Field(default_factory=dict, description="grade -> label for buyers")
    departments: Departments


class PricingConfig(_Strict):
    version: str
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")
    base_price: BasePrices
    grade_multipliers: dict[str, float]
    seasonality: dict[str, list[float]] = Field(
        default_factory=dict, description="category (or 'default') -> 12 monthly multipliers, January first"
    )
    list_price_rounding: Rounding = Rounding()
    voucher: Voucher = Voucher()
    listing: Listing

    @field_validator("seasonality")
    @classmethod
    def _twelve_months(cls, table: dict[str, list[float]]) -> dict[str, list[float]]:
        for category, months in table.items():
            if len(months) != 12:
                raise ValueError(f"{category} has {len(months)} monthly multipliers; give 12, January first")
        return table

    def season_factor(self, category: str | None, month: int) -> float:
        months = self.seasonality.get((category or "").lower(), self.seasonality.get("default"))
        return months[month - 1] if months else 1.0


@dataclass(frozen=True)
class PriceQuote:
    """A price for one item. `list_price` is set for the station, `cash`/`store_credit` for the kiosk."""

    currency: str
    list_price: float | None
    cash: float | None
    store_credit: float | None
    factors: dict[str, float | str]


def quote(
    config: PricingConfig,
    grade: str,
    kiosk: bool,
    when: datetime.date,
    category: str | None = None,
    brand: str | None = None,
    product_line: str | None = None,
) -> PriceQuote:
    """Price an item of `grade`; a kiosk gets a voucher offer, a station a list price."""
    if grade not in config.grade_multipliers:
        raise ValueError(f"pricing {config.version} has no grade multiplier for {grade!r}; add it to grade_multipliers")
    base, base_source = config.base_price.lookup(category, brand, product_line)
    season = config.season_factor(category, when.month)
    price = base * config.grade_multipliers[grade] * season
    factors: dict[str, float | str] = {
        "base_price": base,
        "base_source": base_source,
        "grade_multiplier": config.grade_multipliers[grade],
        "season_factor": season,
        "month": when.month,
    }
    if not kiosk:
        return PriceQuote(config.currency, config.list_price_rounding.apply(price), None, None, factors)
    voucher = config.voucher
    cash = price * voucher.share_of_list_price
    factors |= {"voucher_share": voucher.share_of_list_price, "store_credit_bonus": voucher.store_credit_bonus}
    store_credit = voucher.rounding.apply(cash * (1 + voucher.store_credit_bonus))
    return PriceQuote(config.currency, None, voucher.rounding.apply(cash), store_credit, factors)


def load_pricing(path: Path) -> PricingConfig:
    """Read and validate a pricing file; raise `PricingError` naming the file, the field and what to fix."""
    return load_config(path, PricingConfig, PricingError)


def default_pricing_path() -> Path:
    return PRICING_FOLDER / "default.yaml"
