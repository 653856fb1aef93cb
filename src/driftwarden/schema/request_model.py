"""Build the API's request model from a feature schema, so ``/docs`` shows the real fields."""

from __future__ import annotations

import keyword
import math
import numbers
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model

from driftwarden.core.errors import SchemaMismatchError
from driftwarden.schema._coerce import category_label
from driftwarden.schema.features import FeatureSchema, FeatureSpec

__all__ = ["PredictionRequest", "build_request_model"]

# Categories listed in a field's description and examples; the rest are summarised.
_CATEGORIES_SHOWN = 20

_REQUEST_ID = "request_id"


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
        description="Client-chosen id, unique per prediction: a retry with the same id is "
        "never logged twice.",
    )

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


_Label = Annotated[str, BeforeValidator(_number_to_label)]
_Number = Annotated[float, Field(allow_inf_nan=False)]


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
        text += " Any other string is accepted and counted as an unseen category."
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

    * one per feature: numeric features are finite floats (NaN and infinity rejected, numbers
      as text accepted), categorical features are strings (numbers accepted and written as the
      schema writes categories; unseen values accepted, since they are drift, not errors).
      Nullable features accept ``null`` and default to it; others are required;
    * ``request_id``: optional client id, for idempotent retries;
    * the entity id column, when the schema has one: optional string.

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
        annotation: Any = _Number if spec.kind == "numeric" else _Label
        if spec.nullable:
            annotation = annotation | None
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
        example[spec.name] = examples[0] if examples else (0.0 if spec.kind == "numeric" else "")
    entity_attr: str | None = None
    if schema.entity_id is not None:
        entity_attr = _attribute_name(schema.entity_id, len(schema.features), taken)
        fields[entity_attr] = (
            _Label | None,
            Field(
                default=None,
                alias=schema.entity_id,
                title=schema.entity_id,
                description="Entity id, stored with the prediction so that labels arriving "
                "later through /feedback can be joined to it.",
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
