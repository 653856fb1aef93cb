"""Build the API's request model from a feature schema, so ``/docs`` shows the real fields."""

from __future__ import annotations

import keyword
import math
import numbers
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError

from driftwarden.core.errors import SchemaMismatchError
from driftwarden.schema._coerce import category_label
from driftwarden.schema.features import FeatureSchema, FeatureSpec

__all__ = [
    "ANY_TEXT_BUT_NUL_PATTERN",
    "DECIMAL_TEXT_PATTERN",
    "PredictionRequest",
    "build_request_model",
    "parse_number_text",
]

# Categories listed in a field's description and examples; the rest are summarised.
_CATEGORIES_SHOWN = 20

_REQUEST_ID = "request_id"

# The server logs a challenger's shadow score under the client's id plus this suffix.
_SHADOW_SUFFIX = ":shadow"

# The longest entity id the prediction store holds.
_ENTITY_ID_MAX_LENGTH = 256

#: A number written as text, as the request model reads it: decimal, optional sign, point and
#: exponent, optionally padded with spaces. Digits and exponent are bounded so that every match
#: is a finite float, and the pattern means the same to Python's ``re`` and to the ECMA regular
#: expressions of JSON Schema, so that the published document and the server agree exactly.
DECIMAL_TEXT_PATTERN = (
    r"^ *[+-]?(?:[0-9]{1,15}(?:\.[0-9]{0,15})?|\.[0-9]{1,15})(?:[eE][+-]?[0-9]{1,2})? *$"
)
_NUMBER_TEXT = re.compile(DECIMAL_TEXT_PATTERN)

# What str.strip() removes: a category made only of these is blank. Spelt out, since "\s"
# means different sets in Python and in the ECMA regular expressions of JSON Schema.
_WHITESPACE = "".join(f"\\u{code:04x}" for code in range(0x3001) if chr(code).isspace())
#: A string holding at least one character that is not whitespace: a category that is not blank.
NON_BLANK_PATTERN = f"[^{_WHITESPACE}]"

#: Text the store keeps as text: anything but the NUL character, which PostgreSQL's text
#: columns cannot hold (ids, reasons and names are refused with it, rather than failing there).
ANY_TEXT_BUT_NUL_PATTERN = "^[^\\u0000]*$"

#: Integers accepted as an entity id (and stored as their decimal text): those of a 64-bit
#: integer column, the widest integer id a table keyed by numbers holds.
ENTITY_ID_INTEGER_RANGE = (-(2**63), 2**63 - 1)


def parse_number_text(value: str) -> float | None:
    """The number that ``value`` writes (see :data:`DECIMAL_TEXT_PATTERN`), or None.

    >>> parse_number_text(" 29.85"), parse_number_text("1_000"), parse_number_text("nan")
    (29.85, None, None)
    """
    if _NUMBER_TEXT.fullmatch(value) is None:
        return None
    return float(value)


class PredictionRequest(BaseModel):
    """Base of every request model that :func:`build_request_model` builds.

    Subclasses carry one field per feature, aliased to the column name, so request bodies and
    validation errors use the column names even where those are not Python identifiers.
    """

    model_config = ConfigDict(extra="forbid")

    request_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        pattern=ANY_TEXT_BUT_NUL_PATTERN,
        description="Client-chosen id, unique per prediction: a retry with the same id is "
        f"never logged twice. It may not end with {_SHADOW_SUFFIX!r}.",
        json_schema_extra={"not": {"type": "string", "pattern": f"{_SHADOW_SUFFIX}$"}},
    )

    @field_validator("request_id")
    @classmethod
    def _not_a_shadow_id(cls, value: str | None) -> str | None:
        # Such an id would collide with the shadow row of another request.
        if value is not None and value.endswith(_SHADOW_SUFFIX):
            raise PydanticCustomError(
                "request_id_reserved",
                "expected an id that does not end with {suffix} (the server logs shadow "
                "scores under such ids), got {value}; choose another id",
                {"suffix": repr(_SHADOW_SUFFIX), "value": repr(value)},
            )
        return value

    # Column name -> attribute name, filled in by build_request_model.
    feature_attributes: ClassVar[Mapping[str, str]] = MappingProxyType({})
    entity_attribute: ClassVar[str | None] = None

    def feature_values(self) -> dict[str, Any]:
        """Return ``{column: value}`` for every feature, in model order (``None`` if missing)."""
        return {column: getattr(self, attr) for column, attr in self.feature_attributes.items()}

    def entity_value(self) -> str | None:
        """Return the entity id sent with the request, or ``None``."""
        if self.entity_attribute is None:
            return None
        value: str | None = getattr(self, self.entity_attribute)
        return value


def _number_to_label(value: Any) -> Any:
    """Accept numbers (and booleans) for categorical fields, written as the schema writes them.

    JSON clients naturally send ``"SeniorCitizen": 0``; the category is ``"0"``, and ``1.0``
    must land on ``"1"`` as it does in training frames.
    """
    if isinstance(value, bool | np.bool_) or (
        isinstance(value, numbers.Real) and math.isfinite(value)
    ):
        return category_label(value)
    # NaN, infinity and non-numbers go on to string validation, which names the field.
    return value


def _number_input(value: Any) -> Any:
    """Refuse ``true``/``false`` for a numeric field, which float parsing would make 1.0/0.0,
    and read text by :data:`DECIMAL_TEXT_PATTERN` only: pydantic's own parsing of text also
    takes digit separators and Unicode spaces, which the published document cannot describe."""
    if isinstance(value, bool | np.bool_):
        raise PydanticCustomError(
            "float_type",
            "expected a number (or a number as text), got the boolean {value}; "
            "send 1 or 0 if that is what it means",
            {"value": str(bool(value)).lower()},
        )
    if isinstance(value, str):
        number = parse_number_text(value)
        if number is None:
            raise PydanticCustomError(
                "float_parsing",
                "Input should be a valid number: expected a number, or one written as text "
                "such as '29.85', got {value}",
                {"value": repr(value)},
            )
        return number
    return value


def _entity_input(value: Any) -> Any:
    """An entity id is text, or an integer written as its decimal text (``42`` is ``"42"``);
    a boolean, a fraction or anything else is refused, naming the field."""
    if isinstance(value, str) or value is None:
        return value
    low, high = ENTITY_ID_INTEGER_RANGE
    integral = (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and value.is_integer()
    )
    if integral and low <= value <= high:
        return category_label(value)
    raise PydanticCustomError(
        "entity_id_type",
        "expected the entity id as a string (or an integer), got {value}",
        {"value": repr(value)},
    )


def _require_text(value: str) -> str:
    """Refuse a blank category for a required feature: blank text means missing."""
    if not value.strip():
        raise PydanticCustomError(
            "string_blank",
            "expected a category, got the blank string {value}; this feature may not be "
            "missing, send its value",
            {"value": repr(value)},
        )
    return value


def _blank_to_none(value: Any) -> Any:
    """Read a blank category of a nullable feature as missing, as in training frames."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


_Label = Annotated[str, BeforeValidator(_number_to_label)]
_Category = Annotated[_Label, AfterValidator(_require_text)]
_OptionalCategory = Annotated[_Label | None, BeforeValidator(_blank_to_none)]
_NUMBER_JSON: list[dict[str, Any]] = [
    {"type": "number"},
    {"type": "string", "pattern": DECIMAL_TEXT_PATTERN},
]
_Number = Annotated[
    float,
    BeforeValidator(_number_input),
    Field(allow_inf_nan=False),
    WithJsonSchema({"anyOf": _NUMBER_JSON}),
]
_OptionalNumber = Annotated[
    _Number | None, WithJsonSchema({"anyOf": [*_NUMBER_JSON, {"type": "null"}]})
]
# The length limit sits inside the conversion of numbers, so that it checks the text.
_EntityId = Annotated[
    Annotated[str, Field(max_length=_ENTITY_ID_MAX_LENGTH, pattern=ANY_TEXT_BUT_NUL_PATTERN)]
    | None,
    BeforeValidator(_entity_input),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "maxLength": _ENTITY_ID_MAX_LENGTH},
                {
                    "type": "integer",
                    "minimum": ENTITY_ID_INTEGER_RANGE[0],
                    "maximum": ENTITY_ID_INTEGER_RANGE[1],
                },
                {"type": "null"},
            ]
        }
    ),
]


def _category_json(spec: FeatureSpec) -> dict[str, Any]:
    """What a categorical field accepts, as JSON Schema: the known categories first (so that
    generated examples use them), then any other text (non-blank unless nullable), numbers and
    booleans (written as labels), and null when nullable."""
    known = [{"enum": list(spec.categories)}] if spec.categories else []
    text: dict[str, Any] = {"type": "string"}
    if not spec.nullable:
        text["pattern"] = NON_BLANK_PATTERN
    nothing = [{"type": "null"}] if spec.nullable else []
    return {"anyOf": [*known, text, {"type": "number"}, {"type": "boolean"}, *nothing]}


def _attribute_name(column: str, index: int, taken: set[str]) -> str:
    """A safe Python attribute for ``column``: the name itself when possible."""
    if (
        column.isidentifier()
        and not keyword.iskeyword(column)
        and not column.startswith(("_", "model_"))
        and not hasattr(PredictionRequest, column)
        and column not in taken
    ):
        return column
    candidate = f"feature_{index}"
    while candidate in taken:
        candidate += "_"
    return candidate


def _describe(spec: FeatureSpec) -> tuple[str, list[Any]]:
    """Return the description and examples of one feature's field."""
    if spec.kind == "numeric":
        text = "Numeric"
        if spec.min is not None and spec.max is not None:
            text += f"; seen in training from {spec.min:g} to {spec.max:g}"
        text += ". Values outside that range are accepted and measured as drift."
        examples: list[Any] = [spec.min] if spec.min is not None else []
    else:
        shown = ", ".join(repr(c) for c in spec.categories[:_CATEGORIES_SHOWN])
        more = len(spec.categories) - _CATEGORIES_SHOWN
        if more > 0:
            shown += f" and {more} more"
        text = f"Categorical; known categories: {shown or 'none'}."
        text += (
            " Any other string is accepted and counted as an unseen category; numbers and "
            "booleans are read as labels (0 is '0')."
        )
        examples = list(spec.categories[:_CATEGORIES_SHOWN])
    if spec.nullable:
        text += " Send null when the value is missing."
    elif spec.kind == "numeric":
        text += " Required; NaN and infinity are rejected."
    else:
        text += " Required."
    return text, examples


def build_request_model(
    schema: FeatureSchema, *, name: str = "PredictionRequestBody"
) -> type[PredictionRequest]:
    """Build the pydantic model of one prediction request.

    Fields, named by column:

    * one per feature: numeric features are finite floats (NaN, infinity and booleans
      rejected, numbers as text accepted), categorical features are strings (numbers accepted
      and written as the schema writes categories; unseen values accepted, since they are
      drift, not errors). Nullable features accept ``null`` and default to it, and read a
      blank category as ``null``; others are required, and refuse a blank category;
    * ``request_id``: optional client id, for idempotent retries; it may not end with
      ``:shadow``, which the server keeps for shadow scores;
    * the entity id column, when the schema has one: optional string of at most 256
      characters, the most the prediction store holds, or an integer (stored as its decimal
      text); booleans, fractions and other types are refused.

    The model's JSON schema says exactly what validates: numbers as text follow
    :data:`DECIMAL_TEXT_PATTERN`, a required category is a non-blank string
    (:data:`NON_BLANK_PATTERN`), a number or a boolean, and known categories are listed as an
    enum beside the other accepted values.

    Unknown fields are rejected, so a misspelled column is a 422 that names it. Observed
    ranges and known categories appear in each field's description and examples, and the
    model's example is a complete valid body.

    Parameters
    ----------
    schema : FeatureSchema
        The schema of the model being served.
    name : str, optional
        The model's name in the OpenAPI document.

    Returns
    -------
    type[PredictionRequest]
        A subclass whose :meth:`~PredictionRequest.feature_values` returns the features by
        column name.

    Raises
    ------
    SchemaMismatchError
        If a feature or the entity id column is called ``request_id``.

    Examples
    --------
    >>> from driftwarden.schema.features import FeatureSpec
    >>> schema = FeatureSchema(features=[
    ...     FeatureSpec(name="tenure", kind="numeric", min=0, max=72),
    ...     FeatureSpec(name="SeniorCitizen", kind="categorical", categories=["0", "1"]),
    ... ])
    >>> Request = build_request_model(schema)
    >>> Request.model_validate({"tenure": 12, "SeniorCitizen": 1}).feature_values()
    {'tenure': 12.0, 'SeniorCitizen': '1'}
    """
    reserved = {_REQUEST_ID}
    for column in [*schema.feature_names, schema.entity_id]:
        if column in reserved:
            raise SchemaMismatchError(
                f"column {column!r} collides with the request's own {_REQUEST_ID!r} field; "
                "rename the column in the training data",
                column=column,
            )
    taken = set(reserved)
    fields: dict[str, Any] = {}
    attributes: dict[str, str] = {}
    example: dict[str, Any] = {}
    for index, spec in enumerate(schema.features):
        attr = _attribute_name(spec.name, index, taken)
        taken.add(attr)
        attributes[spec.name] = attr
        description, examples = _describe(spec)
        annotation: Any
        if spec.kind == "numeric":
            annotation = _OptionalNumber if spec.nullable else _Number
        else:
            category = _OptionalCategory if spec.nullable else _Category
            annotation = Annotated[category, WithJsonSchema(_category_json(spec))]
        fields[attr] = (
            annotation,
            Field(
                default=None if spec.nullable else ...,
                alias=spec.name,
                title=spec.name,
                description=description,
                examples=examples or None,
            ),
        )
        example[spec.name] = examples[0] if examples else (0.0 if spec.kind == "numeric" else "a")
    entity_attr: str | None = None
    if schema.entity_id is not None:
        entity_attr = _attribute_name(schema.entity_id, len(schema.features), taken)
        fields[entity_attr] = (
            _EntityId,
            Field(
                default=None,
                alias=schema.entity_id,
                title=schema.entity_id,
                description="Entity id, stored with the prediction so that labels arriving "
                f"later through /feedback can be joined to it: a string of at most "
                f"{_ENTITY_ID_MAX_LENGTH} characters, or an integer (stored as its decimal "
                "text, so 42 and '42' are the same entity). Other types are refused, and so "
                "is text with a NUL character.",
                json_schema_extra={"not": {"type": "string", "pattern": "\\u0000"}},
            ),
        )
    model = create_model(
        name,
        __base__=PredictionRequest,
        __doc__=f"One row to score: {len(schema.features)} features"
        + (f" and the entity id {schema.entity_id!r}" if schema.entity_id else "")
        + ".",
        __module__=__name__,
        # A complete valid body, so that "Try it out" in /docs works as shown.
        __cls_kwargs__={"json_schema_extra": {"examples": [example]}},
        **fields,
    )
    model.feature_attributes = MappingProxyType(attributes)
    model.entity_attribute = entity_attr
    return model
