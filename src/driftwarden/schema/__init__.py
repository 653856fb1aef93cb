"""The feature schema: what a model reads, inferred from data and overridable in config.

Builds the request model of the API and validates frames against the schema.
"""

from driftwarden.schema.features import (
    FeatureKind,
    FeatureSchema,
    FeatureSpec,
    Label,
    Task,
    UnlistedColumns,
)
from driftwarden.schema.infer import (
    DEFAULT_CATEGORICAL_MAX_LEVELS,
    DISTINCT_REGRESSION_VALUES,
    infer_schema,
)
from driftwarden.schema.request_model import (
    ENTITY_ID_INTEGER_RANGE,
    NO_NUL_PATTERN,
    NON_BLANK_PATTERN,
    NUMBER_TEXT_PATTERN,
    PredictionRequest,
    build_request_model,
    parse_number_text,
)
from driftwarden.schema.times import parse_times
from driftwarden.schema.widen import SchemaChange, SchemaChangeKind, widen_schema

__all__ = [
    "DEFAULT_CATEGORICAL_MAX_LEVELS",
    "DISTINCT_REGRESSION_VALUES",
    "ENTITY_ID_INTEGER_RANGE",
    "NON_BLANK_PATTERN",
    "NO_NUL_PATTERN",
    "NUMBER_TEXT_PATTERN",
    "FeatureKind",
    "FeatureSchema",
    "FeatureSpec",
    "Label",
    "PredictionRequest",
    "SchemaChange",
    "SchemaChangeKind",
    "Task",
    "UnlistedColumns",
    "build_request_model",
    "infer_schema",
    "parse_number_text",
    "parse_times",
    "widen_schema",
]
