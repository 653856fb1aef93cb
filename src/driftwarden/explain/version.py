"""What a model version carries for explanation drift: its holdout's attribution profile.

:func:`with_explanations` is called where a version is made (``driftwarden train`` and the
retraining flow), before it is registered: the registry stores the profile beside the version's
reference profile, and the monitor compares each window's attributions with it.
"""

from __future__ import annotations

import dataclasses
import logging

from driftwarden.core.errors import DriftwardenError
from driftwarden.explain.attributions import attribution_profile
from driftwarden.training import TrainingResult

__all__ = ["with_explanations"]

logger = logging.getLogger(__name__)


def with_explanations(result: TrainingResult, *, seed: int = 0) -> TrainingResult:
    """``result`` with the attribution profile of its holdout sample, when one can be made.

    A result without a holdout sample, a model the attributions cannot explain, or a missing
    ``shap`` (the ``explain`` extra) gives ``result`` unchanged and a log line saying why: the
    version is registered all the same, and its windows get no explanation drift.

    Parameters
    ----------
    result : TrainingResult
        A fitted version, with ``holdout_sample`` (every result of ``train`` has one).
    seed : int, default=0
        Seeds the rows explained when the sample is larger than the profile's.
    """
    if result.holdout_sample is None or result.holdout_sample.empty:
        logger.info("no holdout sample: the version gets no attribution profile")
        return result
    try:
        profile = attribution_profile(result.model, result.holdout_sample, result.schema, seed=seed)
    except (ModuleNotFoundError, DriftwardenError) as exc:
        logger.warning("no attribution profile for explanation drift: %s", exc)
        return result
    return dataclasses.replace(result, attributions=profile.to_dict())
