"""The versioned pricing configuration and the price of one graded item.

`grading/pricing/default.yaml` ships; every item result records the pricing `version`. The list price is

    base price (product line > brand > category > default) x grade multiplier x seasonality[category][month]

rounded to the configured step (optionally "charm" priced: 30.00 becomes 29.99). The station gets the list
price; the kiosk gets a trade-in voucher offer in both payout options: cash = list price (unrounded) x
`voucher.share_of_list_price`, and store credit worth `store_credit_bonus` more (default +20%). With a bonus
above 0 the store credit is always at least one rounding step above the cash, so a small offer never shows the
two options equal (cash 1.00, credit 1.20 rounds down to 1.00, so credit is 1.50).

All arithmetic runs in `Decimal` from the configured numbers (parsed from their shortest decimal text) to the
rounding step, so 90 x 0.35 is exactly 31.5 and rounds to 32, not 31. `check_pricing_against_policy` checks the
grade names against a policy's scale; `grading.item_grading.grade_item` calls it on every item.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, PositiveFloat, field_validator

from grading.config_file import load_config, lowercase_keys
from grading.policy import GradePolicy

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


def _decimal(value: float | Decimal) -> Decimal:
    """The exact decimal a configured number was written as (0.35, not 0.34999999999999997779...)."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


class Rounding(_Strict):
    """Round to a multiple of `step` (0.5, 1, ...); `charm` then takes one cent off a whole amount (29.99)."""

    step: float = Field(1.0, gt=0)
    mode: RoundingMode = RoundingMode.NEAREST
    charm: bool = False

    def apply(self, amount: float | Decimal) -> float:
        return self.charmed(self.to_step(_decimal(amount)))

    def to_step(self, amount: Decimal) -> Decimal:
        """The amount as a multiple of the step, in the configured mode; no charm yet."""
        step = _decimal(self.step)
        return (amount / step).quantize(Decimal(1), rounding=_DECIMAL_MODES[self.mode]) * step

    def charmed(self, rounded: Decimal) -> float:
        if self.charm and rounded >= 1 and rounded == rounded.to_integral_value():
            rounded -= Decimal("0.01")
        return float(rounded)


class BasePrices(_Strict):
    """Base resale price of an item in new condition; the most specific match wins."""

    default: PositiveFloat
    categories: dict[str, PositiveFloat] = Field(default_factory=dict)
    brands: dict[str, PositiveFloat] = Field(default_factory=dict, description="names match case-insensitively")
    product_lines: dict[str, PositiveFloat] = Field(default_factory=dict, description="match case-insensitively")

    @field_validator("categories")
    @classmethod
    def _lowercase(cls, categories: dict[str, float]) -> dict[str, float]:
        return lowercase_keys(categories)

    @field_validator("brands", "product_lines")
    @classmethod
    def _unambiguous(cls, names: dict[str, float]) -> dict[str, float]:
        lowercase_keys(names)  # refuses two spellings of one name; the configured spelling is kept for display
        return names

    def lookup(self, category: str | None, brand: str | None, product_line: str | None) -> tuple[float, str]:
        """The base price and where it came from, e.g. 'brand:New Balance'."""
        if (line := _find(self.product_lines, product_line)) is not None:
            return self.product_lines[line], f"product_line:{line}"
        if (name := _find(self.brands, brand)) is not None:
            return self.brands[name], f"brand:{name}"
        if category is not None and category.lower() in self.categories:
            return self.categories[category.lower()], f"category:{category.lower()}"
        return self.default, "default"


def _find(names: dict[str, float], wanted: str | None) -> str | None:
    """The configured spelling of `wanted`, ignoring case and surrounding spaces, or None."""
    if wanted is None:
        return None
    return next((name for name in names if name.lower() == wanted.strip().lower()), None)


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

    @field_validator("by_category")
    @classmethod
    def _lowercase(cls, categories: dict[str, str]) -> dict[str, str]:
        return lowercase_keys(categories)


class Listing(_Strict):
    condition_labels: dict[str, str] = Field(default_factory=dict, description="grade -> label for buyers")
    departments: Departments


class PricingConfig(_Strict):
    version: str
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")
    base_price: BasePrices
    grade_multipliers: dict[str, NonNegativeFloat]
    seasonality: dict[str, list[PositiveFloat]] = Field(
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
        return lowercase_keys(table)

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
    price = _decimal(base) * _decimal(config.grade_multipliers[grade]) * _decimal(season)
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
    factors |= {"voucher_share": voucher.share_of_list_price, "store_credit_bonus": voucher.store_credit_bonus}
    cash, store_credit = _voucher_offer(voucher, price)
    return PriceQuote(config.currency, None, cash, store_credit, factors)


def _voucher_offer(voucher: Voucher, price: Decimal) -> tuple[float, float]:
    """Cash and store credit; with a bonus, the credit is at least one rounding step above the cash."""
    rounding = voucher.rounding
    cash = price * _decimal(voucher.share_of_list_price)
    cash_steps = rounding.to_step(cash)
    credit_steps = rounding.to_step(cash * (1 + _decimal(voucher.store_credit_bonus)))
    if voucher.store_credit_bonus > 0 and cash > 0:
        credit_steps = max(credit_steps, cash_steps + _decimal(rounding.step))
    return rounding.charmed(cash_steps), rounding.charmed(credit_steps)


def check_pricing_against_policy(pricing: PricingConfig, policy: GradePolicy) -> None:
    """Raise `PricingError` unless the grade multipliers name exactly the policy's grades (the last step optional).

    Call it whenever a policy or pricing file is loaded or swapped; a typo (``very_god``) would otherwise surface
    only when an item of that grade is priced.
    """
    unknown = [grade for grade in pricing.grade_multipliers if grade not in policy.grades]
    if unknown:
        raise PricingError(
            f"pricing {pricing.version}: grade_multipliers names {unknown}, which are not on policy {policy.version}'s "
            f"grade scale {policy.grades}; correct the spelling or use a pricing file written for this policy"
        )
    missing = [grade for grade in policy.grades[:-1] if grade not in pricing.grade_multipliers]
    if missing:
        raise PricingError(
            f"pricing {pricing.version}: grade_multipliers has no multiplier for {missing} of policy "
            f"{policy.version}'s grade scale; add them (the last step, {policy.grades[-1]}, is never priced)"
        )


def load_pricing(path: Path) -> PricingConfig:
    """Read and validate a pricing file; raise `PricingError` naming the file, the field and what to fix."""
    return load_config(path, PricingConfig, PricingError)


def default_pricing_path() -> Path:
    return PRICING_FOLDER / "default.yaml"
