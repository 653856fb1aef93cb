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
    ANY_TEXT_BUT_NUL_PATTERN,
    DECIMAL_TEXT_PATTERN,
    PredictionRequest,
    build_request_model,
    parse_number_text,
)
from driftwarden.schema.times import parse_times
from driftwarden.schema.widen import SchemaChange, SchemaChangeKind, widen_schema

__all__ = [
    "ANY_TEXT_BUT_NUL_PATTERN",
    "DECIMAL_TEXT_PATTERN",
    "DEFAULT_CATEGORICAL_MAX_LEVELS",
    "DISTINCT_REGRESSION_VALUES",
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
