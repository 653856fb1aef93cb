"""The prediction store: tables, migrations, engines, the group-commit writer, queries, and
the shared champion/challenger experiment.

Imports only :mod:`driftwarden.core` from driftwarden.
"""

from driftwarden.store.engine import check_reachable, create_store_engine
from driftwarden.store.inserts import InlineSqlite, LockBusyError, insert_rows, select_logged
from driftwarden.store.migrate import alembic_config, downgrade, upgrade
from driftwarden.store.queries import (
    LabelledPrediction,
    LabelOutcome,
    StoredPrediction,
    count_predictions,
    labelled_predictions,
    predictions_between,
    record_labels,
)
from driftwarden.store.routing import (
    ROUTING_MODES,
    StoredRouting,
    current_routing,
    record_routing,
    routing_history,
)
from driftwarden.store.rows import VARIANTS, PredictionRow
from driftwarden.store.spool import Spool
from driftwarden.store.tables import Base, Label, Prediction, RoutingChange, UtcDateTime, metadata
from driftwarden.store.writer import PredictionWriter

__all__ = [
    "ROUTING_MODES",
    "VARIANTS",
    "Base",
    "InlineSqlite",
    "Label",
    "LabelOutcome",
    "LabelledPrediction",
    "LockBusyError",
    "Prediction",
    "PredictionRow",
    "PredictionWriter",
    "RoutingChange",
    "Spool",
    "StoredPrediction",
    "StoredRouting",
    "UtcDateTime",
    "alembic_config",
    "check_reachable",
    "count_predictions",
    "create_store_engine",
    "current_routing",
    "downgrade",
    "insert_rows",
    "labelled_predictions",
    "metadata",
    "predictions_between",
    "record_labels",
    "record_routing",
    "routing_history",
    "select_logged",
    "upgrade",
]
