"""Automated retraining: the Prefect flow that fetches data, trains, validates, registers a
challenger and starts its A/B test, and the runner that carries out retraining requests; and
the monitor's pass as a Prefect flow, to schedule on a work pool.

Imports :mod:`driftwarden.training`, :mod:`driftwarden.registry`, :mod:`driftwarden.store` and
:mod:`driftwarden.monitoring`. Prefect is imported only when a flow runs or is deployed.
"""

import os
from pathlib import Path

from driftwarden.retraining.runner import Retrainer, build_monitor
from driftwarden.retraining.steps import Gate, RetrainContext, Skip, TrainingData

__all__ = ["Gate", "RetrainContext", "Retrainer", "Skip", "TrainingData", "build_monitor"]

# Read by Prefect when it is first imported, which only the flow and the deployment modules
# do, after this; a user's own configuration wins.
os.environ.setdefault(
    "PREFECT_LOGGING_SETTINGS_PATH", str(Path(__file__).with_name("prefect_logging.yml"))
)
