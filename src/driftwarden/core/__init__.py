"""The base layer: clocks, settings, errors and logging setup.

Everything else in driftwarden may import this package; it imports only the standard library
and pydantic.
"""

from driftwarden.core.clock import Clock, SimulatedClock, SystemClock
from driftwarden.core.errors import (
    ClockError,
    ConfigError,
    ConflictError,
    DataError,
    DriftwardenError,
    NotFoundError,
    RegistryError,
    SchemaMismatchError,
    StoreUnavailableError,
)
from driftwarden.core.ids import new_request_id
from driftwarden.core.logging import JsonFormatter, configure_logging
from driftwarden.core.offline import apply_offline_defaults, offline_defaults
from driftwarden.core.settings import (
    ABTestSettings,
    AlertRules,
    AlertSettings,
    DriftThresholds,
    JensenShannonThresholds,
    KsThresholds,
    LevelRule,
    MonitorSettings,
    NoTrafficRule,
    PerformanceDropRule,
    PsiThresholds,
    RegistrySettings,
    RetrainingSettings,
    RetrainPolicySettings,
    ServingSettings,
    Settings,
    SmtpChannel,
    StoreSettings,
    Thresholds,
    TrainingSettings,
    WassersteinThresholds,
    WebhookChannel,
    load_settings,
)

__all__ = [
    "ABTestSettings",
    "AlertRules",
    "AlertSettings",
    "Clock",
    "ClockError",
    "ConfigError",
    "ConflictError",
    "DataError",
    "DriftThresholds",
    "DriftwardenError",
    "JensenShannonThresholds",
    "JsonFormatter",
    "KsThresholds",
    "LevelRule",
    "MonitorSettings",
    "NoTrafficRule",
    "NotFoundError",
    "PerformanceDropRule",
    "PsiThresholds",
    "RegistryError",
    "RegistrySettings",
    "RetrainPolicySettings",
    "RetrainingSettings",
    "SchemaMismatchError",
    "ServingSettings",
    "Settings",
    "SimulatedClock",
    "SmtpChannel",
    "StoreSettings",
    "StoreUnavailableError",
    "SystemClock",
    "Thresholds",
    "TrainingSettings",
    "WassersteinThresholds",
    "WebhookChannel",
    "apply_offline_defaults",
    "configure_logging",
    "load_settings",
    "new_request_id",
    "offline_defaults",
]
