"""What a model version carries besides the model: files written to its run, tags on the version."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

from driftwarden.training import TrainingResult

__all__ = [
    "ATTRIBUTIONS_FILE",
    "HOLDOUT_SAMPLE_FILE",
    "IMPORTANCES_FILE",
    "METRICS_FILE",
    "PROFILE_FILE",
    "REFERENCE_SAMPLE_FILE",
    "SCHEMA_FILE",
    "TAG_PREFIX",
    "git_commit",
    "version_tags",
    "write_artifacts",
]

ARTIFACT_DIR = "driftwarden"
SCHEMA_FILE = "schema.json"
PROFILE_FILE = "profile.json"
METRICS_FILE = "metrics.json"
IMPORTANCES_FILE = "importances.json"
# Samples of the training and holdout features, for multivariate and explanation drift; and
# the holdout's attribution profile, when one was computed (driftwarden.explain).
REFERENCE_SAMPLE_FILE = "reference_sample.parquet"
HOLDOUT_SAMPLE_FILE = "holdout_sample.parquet"
ATTRIBUTIONS_FILE = "attributions.json"
TAG_PREFIX = "driftwarden."
# Feature importances carried as a tag (all of them are in IMPORTANCES_FILE and the run metrics).
_TOP_IMPORTANCES = 5


def git_commit(cwd: Path | None = None) -> str | None:
    """The commit checked out in ``cwd`` (or the working directory), if it is a git work tree."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None


def write_artifacts(result: TrainingResult, folder: Path) -> Path:
    """Write schema, reference profile, metrics and importances as JSON files into ``folder``,
    the samples of training and holdout features as Parquet, and the attribution profile if
    the result has one."""
    folder.mkdir(parents=True, exist_ok=True)
    # Bytes, not text: written exactly as version_tags hashes them, on every platform.
    (folder / SCHEMA_FILE).write_bytes(_schema_bytes(result))
    (folder / PROFILE_FILE).write_bytes(_profile_bytes(result))
    metrics = {"holdout": result.metrics.to_dict(), "train": result.train_metrics.to_dict()}
    (folder / METRICS_FILE).write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    (folder / IMPORTANCES_FILE).write_text(json.dumps(result.importances, indent=2), "utf-8")
    for name, sample in (
        (REFERENCE_SAMPLE_FILE, result.reference_sample),
        (HOLDOUT_SAMPLE_FILE, result.holdout_sample),
    ):
        if sample is not None:
            sample.to_parquet(folder / name, index=False)
    if result.attributions is not None:
        (folder / ATTRIBUTIONS_FILE).write_text(json.dumps(result.attributions), "utf-8")
    return folder


def _schema_bytes(result: TrainingResult) -> bytes:
    return result.schema.to_json().encode("utf-8")


def _profile_bytes(result: TrainingResult) -> bytes:
    return result.profile.to_json().encode("utf-8")


def version_tags(result: TrainingResult, *, commit: str | None, trained_at: str) -> dict[str, str]:
    """Tags stored on the registered version, so ``models list`` needs no artifact download.

    Every key starts with :data:`TAG_PREFIX`. Besides the data (hash, row counts), the task
    (``binary_classification`` or ``regression``), the training time and the commit of the
    working directory, they hold:

    * ``metric.<name>``: each holdout metric that is a number (a float) on this holdout. For a
      classifier ``roc_auc``, ``accuracy``, ``precision``, ``recall``, ``f1``, ``log_loss``,
      ``brier`` and more (:class:`~driftwarden.stats.metrics.ClassificationMetrics`); for a
      regressor ``rmse``, ``mae``, ``r2``, ``mape``, ``mean_target`` and ``mean_prediction``
      (:class:`~driftwarden.stats.metrics.RegressionMetrics`). An undefined metric (ROC AUC of
      one class, R² of a constant target, MAPE with a zero target) has no tag;
    * ``metric.estimated_<name>``: a classifier's holdout metrics estimated from the scores
      alone (CBPE); a regressor has none;
    * ``param.<name>``: each model parameter (:class:`~driftwarden.training.ModelParams`);
    * ``top_importances``: the five most important features and their importance, as compact
      JSON (``{"Contract":0.0712,...}``), rounded to four significant digits;
    * ``schema.path`` and ``schema.sha256``, ``profile.path`` and ``profile.sha256``: where the
      schema and the reference profile are in the version's run, and the SHA-256 of those
      files, so a copy can be checked against the version it claims to belong to.

    Values are strings, as MLflow stores them.
    """
    top = list(result.importances.items())[:_TOP_IMPORTANCES]
    tags: dict[str, Any] = {
        "data_hash": result.data_hash,
        "n_rows": result.n_rows,
        "n_train": result.n_train,
        "n_holdout": result.n_holdout,
        "holdout": result.holdout,
        "trained_at": trained_at,
        "git_commit": commit or "unknown",
        "target": result.schema.target,
        "task": result.task,
        "top_importances": json.dumps(
            {name: float(f"{value:.4g}") for name, value in top}, separators=(",", ":")
        ),
        "schema.path": f"{ARTIFACT_DIR}/{SCHEMA_FILE}",
        "schema.sha256": hashlib.sha256(_schema_bytes(result)).hexdigest(),
        "profile.path": f"{ARTIFACT_DIR}/{PROFILE_FILE}",
        "profile.sha256": hashlib.sha256(_profile_bytes(result)).hexdigest(),
    }
    for name, value in result.params.to_dict().items():
        tags[f"param.{name}"] = value
    for name, value in result.metrics.to_dict().items():
        if isinstance(value, float):
            tags[f"metric.{name}"] = repr(value)
    # The same metrics estimated from the holdout scores alone: the baseline of the monitor's
    # label-free estimate.
    estimated = {} if result.estimated is None else result.estimated.to_dict()
    for name, value in estimated.items():
        if isinstance(value, float) and name != "threshold":
            tags[f"metric.estimated_{name}"] = repr(value)
    return {f"{TAG_PREFIX}{key}": str(value) for key, value in tags.items()}
