"""The versioned grade policy: how merged defects and model scores become a grade and a decision.

The policy is a YAML file (`grading/policies/default.yaml` ships) validated on load; every item result
records the policy's `version`. It holds:

- the grade scale, best first (default: `grading.vocabulary.Grade`);
- severity = defect type weight x estimated area in cm^2 x location weight of the photo's view. Photos carry no
  scale, so the area assumes the square model crop spans `frame_width_cm` of the item (per category, overridden
  per view, e.g. a `detail` close-up spans far less). Treat sizes as rough estimates, not measurements;
- floors: the worst counted defect's severity caps how good the grade may be;
- critical rules that force a floor or a rejection whatever the severity (a hole in leather);
- design-feature rules that send a defect to review instead of flooring (a rip in distressed denim);
- abstain rules that send the item to review with a machine-readable `ReviewReason`;
- required views per category (station items) and authenticity similarity thresholds.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, PositiveFloat, field_validator, model_validator

from grading.config_file import load_config, lowercase_keys
from grading.photo_quality import PhotoQualityPolicy
from grading.vocabulary import WILDCARD_VIEWS, DefectType, Grade, View

POLICIES_FOLDER = Path(__file__).resolve().parent / "policies"


class ReviewReason(StrEnum):
    """Why an item goes to a person instead of being listed or rejected automatically."""

    LOW_CONFIDENCE = "low_confidence"
    VIEWS_DISAGREE = "views_disagree"
    POSSIBLE_DESIGN_FEATURE = "possible_design_feature"
    MISSING_VIEWS = "missing_views"
    CATEGORY_MISMATCH = "category_mismatch"
    AUTHENTICITY_INCONCLUSIVE = "authenticity_inconclusive"
    SUSPECTED_COUNTERFEIT = "suspected_counterfeit"
    ANOMALY = "anomaly"
    TOO_FEW_PHOTOS = "too_few_photos"
    UNCERTAIN_DEFECT = "uncertain_defect"
    GRADE_UNEXPLAINED = "grade_unexplained"
    PHOTO_QUALITY = "photo_quality"  # graded although a photo failed a check (grading.photo_quality)
    WEAR_SUSPECTED = "wear_suspected"  # a photo may show worn shoes, below the bundle's wear_confident (policy `wear`)


class RejectReason(StrEnum):
    """Why an item is refused."""

    CRITICAL_DEFECT = "critical_defect"
    BELOW_STANDARD = "below_standard"  # the grade reached the last step of the scale


class CriticalAction(StrEnum):
    REJECT = "reject"
    FLOOR = "floor"


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file, the field and the fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _matches(value: str | None, allowed: list[str]) -> bool:
    """Case-insensitive membership; an empty list allows everything."""
    return not allowed or (value is not None and value.lower() in {entry.lower() for entry in allowed})


class FrameWidth(_Strict):
    """Assumed width in cm that the square model crop spans on the item (photos carry no scale)."""

    default_cm: float = Field(60.0, gt=0)
    categories: dict[str, PositiveFloat] = Field(default_factory=dict)
    views: dict[View, PositiveFloat] = Field(default_factory=dict, description="overrides the category, e.g. detail")

    @field_validator("categories")
    @classmethod
    def _lowercase(cls, categories: dict[str, float]) -> dict[str, float]:
        return lowercase_keys(categories)

    def width_cm(self, category: str | None, view: View) -> float:
        if view in self.views:
            return self.views[view]
        return self.categories.get((category or "").lower(), self.default_cm)


class Severity(_Strict):
    """Severity = type_weight[type] x area_cm2 x view_weight[view]; a missing weight counts as 1."""

    type_weight: dict[DefectType, NonNegativeFloat] = Field(default_factory=dict)
    view_weight: dict[View, NonNegativeFloat] = Field(default_factory=dict)
    frame_width: FrameWidth = FrameWidth()

    def of(self, defect_type: DefectType, area_cm2: float, view: View) -> float:
        return self.type_weight.get(defect_type, 1.0) * area_cm2 * self.view_weight.get(view, 1.0)


class GradeFloor(_Strict):
    """A counted defect of at least this severity caps the grade at `grade` (or worse)."""

    severity_at_least: float = Field(ge=0)
    grade: str


class CriticalRule(_Strict):
    """A defect that forces a floor or a rejection when category, material and view match (empty = any).

    A rule limited to some views also matches photos that may show any surface (`detail`, `unspecified`): a
    kiosk photo of a shoe with a tear may show the sole, and flooring it is the safe side (the item is never
    priced above what the defect may mean); the floor's detail names the view so a reviewer can tell.
    """

    name: str
    defect: DefectType
    categories: list[str] = Field(default_factory=list)
    materials: list[str] = Field(default_factory=list)
    views: list[View] = Field(default_factory=list)
    action: CriticalAction
    grade: str | None = Field(None, description="required for action: floor")

    @field_validator("categories", "materials")
    @classmethod
    def _lowercase(cls, names: list[str]) -> list[str]:
        return [name.lower() for name in names]

    @model_validator(mode="after")
    def _floor_has_grade(self) -> CriticalRule:
        if self.action is CriticalAction.FLOOR and self.grade is None:
            raise ValueError(f"critical rule {self.name!r} has action floor but no grade; add grade: <name>")
        return self

    def matches(self, defect: DefectType, category: str | None, material: str | None, view: View) -> bool:
        return (
            defect == self.defect
            and _matches(category, self.categories)
            and _matches(material, self.materials)
            and (not self.views or view in self.views or view in WILDCARD_VIEWS)
        )


class DesignFeatureRule(_Strict):
    """A defect type that may be intended (ripped jeans, stone-washed fading): review instead of a floor.

    Applies when the defect type is listed, the category is listed (empty = any), and the material is listed or a
    tag contains one of `tags_containing`. A category alone never makes damage a design feature (a hole in wool
    trousers is a hole), so a rule must name materials or tags. Critical rules take precedence
    (`grading.grade_rules`).
    """

    name: str
    defects: list[DefectType]
    categories: list[str] = Field(default_factory=list)
    materials: list[str] = Field(default_factory=list)
    tags_containing: list[str] = Field(default_factory=list)

    @field_validator("categories", "materials", "tags_containing")
    @classmethod
    def _lowercase(cls, names: list[str]) -> list[str]:
        return [name.lower() for name in names]

    @model_validator(mode="after")
    def _needs_material_or_tag(self) -> DesignFeatureRule:
        if not self.materials and not self.tags_containing:
            raise ValueError(
                f"design-feature rule {self.name!r} names neither materials nor tags_containing; a category alone "
                "would excuse every such defect in it, so add materials: [...] or tags_containing: [...]"
            )
        return self

    def applies(self, defect: DefectType, category: str | None, material: str | None, tags: list[str]) -> bool:
        if defect not in self.defects or not _matches(category, self.categories):
            return False
        by_tag = any(word in tag.lower() for tag in tags for word in self.tags_containing)
        by_material = bool(self.materials) and _matches(material, self.materials)
        return by_tag or by_material


class AnomalyReview(_Strict):
    """Review when the item's largest anomaly score reaches `score_at_least` (None: the bundle's threshold)."""

    enabled: bool = False
    score_at_least: float | None = None


class UnexplainedGrade(_Strict):
    """A model grade `steps` or more below what the item's certain defects explain is not trusted alone.

    The evidence grade is the strongest floor of the certain defects, or `clean_grade` when there are none; the
    item goes to review and, until a person decides, keeps the grade `steps - 1` below the evidence grade (on
    evidence the model cannot point at, a kiosk offers at most `steps - 1` grade steps less).
    """

    steps: int = Field(2, ge=1)
    clean_grade: str = Grade.LIKE_NEW.value
    min_probability: float | None = Field(
        None,
        ge=0.5,
        lt=1,
        description="a model grade below the evidence grade counts only as far as the model gives at least this "
        "probability to that grade or worse (the item's mean grade probabilities); below it the evidence grade "
        "stands (a model grade `steps` or more below the evidence still sends the item to review). None: the "
        "ordinal median (0.5) counts",
    )


class Abstain(_Strict):
    """When the machine should not decide alone."""

    min_grade_confidence: float = Field(0.5, ge=0, le=1)
    grade_confidence_band: int = Field(1, ge=0, description="confidence = grade mass within this many steps")
    min_category_probability: float = Field(0.5, ge=0, le=1, description="when the caller declares no category")
    category_mismatch_probability: float = Field(0.9, ge=0, le=1)
    views_disagree_grade_steps: int = Field(3, ge=1)
    min_station_photos: int = Field(2, ge=1)
    anomaly: AnomalyReview = AnomalyReview()
    unexplained_grade: UnexplainedGrade | None = Field(None, description="None: the model grade always counts")


class RequiredViews(_Strict):
    """Views a station item must include, per category (kiosk items need only one photo of any view)."""

    default: list[View] = Field(default_factory=list)
    categories: dict[str, list[View]] = Field(default_factory=dict)

    @field_validator("categories")
    @classmethod
    def _lowercase(cls, categories: dict[str, list[View]]) -> dict[str, list[View]]:
        return lowercase_keys(categories)

    def for_category(self, category: str | None) -> list[View]:
        return self.categories.get((category or "").lower(), self.default)


class AuthenticityPolicy(_Strict):
    """Cosine similarity to the product line's enrolled references that counts as authentic or suspicious."""

    authentic_similarity_at_least: float | None = Field(
        0.85, ge=-1, le=1, description="null: references never vouch for an item (they are still shown)"
    )
    suspect_similarity_below: float | None = Field(
        0.5, ge=-1, le=1, description="null: references never raise suspicion (they are still shown)"
    )
    programs: list[str] = Field(default_factory=list, description="programs that always ask for authentication")

    @model_validator(mode="after")
    def _ordered(self) -> AuthenticityPolicy:
        both = None not in (self.suspect_similarity_below, self.authentic_similarity_at_least)
        if both and self.suspect_similarity_below > self.authentic_similarity_at_least:
            raise ValueError("authenticity: suspect_similarity_below must not exceed authentic_similarity_at_least")
        return self


class WearPolicy(_Strict):
    """What the bundle's wear head (`wear_prob`, per photo) does; a bundle without the head changes nothing.

    The item's wear is its photos' mean (`grading.wear`). At or above the bundle's `wear_confident` the grade is at
    most `grade`; between `wear_presence` and that, the item goes to review (`wear_suspected`) and keeps its grade.
    """

    categories: list[str] = Field(default_factory=lambda: ["shoes"], description="where the head applies")
    product_lines: list[str] = Field(
        default_factory=list, description="only items declared of these lines (empty: any line, or none declared)"
    )
    ignored_views: list[View] = Field(
        default_factory=list, description="photos of these views are not read (the head has not learnt them)"
    )
    grade: str | None = Field(None, description="the best grade of an item with certain wear; None: the head is off")


class GradePolicy(_Strict):
    version: str
    grades: list[str] = Field(default_factory=lambda: [grade.value for grade in Grade], min_length=2)
    severity: Severity = Severity()
    floors: list[GradeFloor] = Field(default_factory=list)
    critical: list[CriticalRule] = Field(default_factory=list)
    design_features: list[DesignFeatureRule] = Field(default_factory=list)
    abstain: Abstain = Abstain()
    required_views: RequiredViews = RequiredViews()
    authenticity: AuthenticityPolicy = AuthenticityPolicy()
    photo_quality: PhotoQualityPolicy = PhotoQualityPolicy()
    wear: WearPolicy = WearPolicy()

    @model_validator(mode="after")
    def _grades_on_scale(self) -> GradePolicy:
        if len(set(self.grades)) != len(self.grades):
            raise ValueError(f"grades: each grade may appear once; got {self.grades}")
        named = [(f"floors.{i}.grade", floor.grade) for i, floor in enumerate(self.floors)]
        named += [(f"critical.{i}.grade", rule.grade) for i, rule in enumerate(self.critical) if rule.grade]
        if self.abstain.unexplained_grade is not None:
            named.append(("abstain.unexplained_grade.clean_grade", self.abstain.unexplained_grade.clean_grade))
        if self.wear.grade is not None:
            named.append(("wear.grade", self.wear.grade))
        for location, grade in named:
            if grade not in self.grades:
                raise ValueError(f"{location}: {grade!r} is not on the grade scale; use one of {self.grades}")
        return self

    def rank(self, grade: str) -> int:
        """0 for the best grade; the last rank is the rejection step."""
        return self.grades.index(grade)

    def floor_for(self, severity: float) -> str | None:
        """The worst grade whose floor this severity reaches, or None."""
        reached = [self.rank(floor.grade) for floor in self.floors if severity >= floor.severity_at_least]
        return self.grades[max(reached)] if reached else None


def load_policy(path: Path) -> GradePolicy:
    """Read and validate a policy file; raise `PolicyError` naming the file, the field and what to fix."""
    return load_config(path, GradePolicy, PolicyError)


def default_policy_path() -> Path:
    return POLICIES_FOLDER / "default.yaml"
