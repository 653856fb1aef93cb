"""The monitor: runs over windows of logged predictions, alert rules and their lifecycle, and the
notification channels.

Imports :mod:`driftwarden.stats`, :mod:`driftwarden.store` and :mod:`driftwarden.registry`.
"""

from driftwarden.monitoring.alerts import AlertManager, AlertSummary
from driftwarden.monitoring.monitor import Monitor, MonitorReport
from driftwarden.monitoring.references import References
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
    "AlertManager",
    "AlertSummary",
    "Check",
    "DetectorChange",
    "Monitor",
    "MonitorReport",
    "References",
    "RunOutcome",
    "VersionResult",
    "WindowFrame",
    "WindowRunner",
    "assemble",
    "drift_config",
    "evaluate",
]
