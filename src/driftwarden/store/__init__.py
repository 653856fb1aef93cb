"""The prediction store: tables, migrations, engines, the group-commit writer, queries, and
the shared champion/challenger experiment, and what the monitor stores (runs, results, alerts).

Imports only :mod:`driftwarden.core` from driftwarden.
"""

from driftwarden.store.alerts import (
    ALERT_STATUSES,
    active_alerts,
    add_alert_events,
    alert_events,
    get_alert,
    insert_alert,
    list_alerts,
    update_alert,
)
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
from driftwarden.store.results import (
    feature_history,
    list_runs,
    load_state,
    results_overlapping,
    save_run,
    save_state,
    update_performance,
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
from driftwarden.store.tables import (
    Alert,
    AlertEvent,
    Base,
    FeatureResult,
    Label,
    MonitorResult,
    MonitorRun,
    MonitorState,
    Prediction,
    RoutingChange,
    UtcDateTime,
    metadata,
)
from driftwarden.store.windows import (
    LabelledScores,
    WindowChunk,
    WindowColumns,
    count_between,
    labelled_scores,
    newly_labelled,
    read_window,
    scores_between,
    versions_between,
    window_bounds_by_count,
)
from driftwarden.store.writer import PredictionWriter

__all__ = [
    "ALERT_STATUSES",
    "ROUTING_MODES",
    "VARIANTS",
    "Alert",
    "AlertEvent",
    "Base",
    "FeatureResult",
    "InlineSqlite",
    "Label",
    "LabelOutcome",
    "LabelledPrediction",
    "LabelledScores",
    "LockBusyError",
    "MonitorResult",
    "MonitorRun",
    "MonitorState",
    "Prediction",
    "PredictionRow",
    "PredictionWriter",
    "RoutingChange",
    "Spool",
    "StoredPrediction",
    "StoredRouting",
    "UtcDateTime",
    "WindowChunk",
    "WindowColumns",
    "active_alerts",
    "add_alert_events",
    "alembic_config",
    "alert_events",
    "check_reachable",
    "count_between",
    "count_predictions",
    "create_store_engine",
    "current_routing",
    "downgrade",
    "feature_history",
    "get_alert",
    "insert_alert",
    "insert_rows",
    "labelled_predictions",
    "labelled_scores",
    "list_alerts",
    "list_runs",
    "load_state",
    "metadata",
    "newly_labelled",
    "predictions_between",
    "read_window",
    "record_labels",
    "record_routing",
    "results_overlapping",
    "routing_history",
    "save_run",
    "save_state",
    "scores_between",
    "select_logged",
    "update_alert",
    "update_performance",
    "upgrade",
    "versions_between",
    "window_bounds_by_count",
]
