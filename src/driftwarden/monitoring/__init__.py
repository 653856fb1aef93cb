"""The monitor: runs over windows of logged predictions, alert rules and their lifecycle, the
notification channels, the retrain policy, and the champion/challenger A/B test with its
promotion policy.

Imports :mod:`driftwarden.stats`, :mod:`driftwarden.store` and :mod:`driftwarden.registry`.
"""

from driftwarden.monitoring.abtest import (
    ABDecision,
    ABTestManager,
    ArmData,
    Guardrails,
    compare_arms,
    decide,
)
from driftwarden.monitoring.alerts import AlertManager, AlertSummary
from driftwarden.monitoring.monitor import Monitor, MonitorReport
from driftwarden.monitoring.performance import check_task_settings, watched_metric, worsening
from driftwarden.monitoring.references import References
from driftwarden.monitoring.retrain_policy import RetrainPolicy, RetrainRequest
from driftwarden.monitoring.rules import SEVERITIES, Check, evaluate
from driftwarden.monitoring.run import (
    DetectorChange,
    RunOutcome,
    VersionResult,
    WindowRunner,
    drift_config,
)
from driftwarden.monitoring.window import WindowFrame, assemble

__all__ = [
    "SEVERITIES",
    "ABDecision",
    "ABTestManager",
    "AlertManager",
    "AlertSummary",
    "ArmData",
    "Check",
    "DetectorChange",
    "Guardrails",
    "Monitor",
    "MonitorReport",
    "References",
    "RetrainPolicy",
    "RetrainRequest",
    "RunOutcome",
    "VersionResult",
    "WindowFrame",
    "WindowRunner",
    "assemble",
    "check_task_settings",
    "compare_arms",
    "decide",
    "drift_config",
    "evaluate",
    "watched_metric",
    "worsening",
]
