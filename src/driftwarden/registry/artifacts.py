"""What a model version carries besides the model: files written to its run, tags on the version."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from driftwarden.training import TrainingResult

__all__ = [
    "IMPORTANCES_FILE",
    "METRICS_FILE",
    "PROFILE_FILE",
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
TAG_PREFIX = "driftwarden."


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
    """Write schema, reference profile, metrics and importances as JSON files into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SCHEMA_FILE).write_text(result.schema.to_json(), encoding="utf-8")
    (folder / PROFILE_FILE).write_text(result.profile.to_json(), encoding="utf-8")
    metrics = {"holdout": result.metrics.to_dict(), "train": result.train_metrics.to_dict()}
    (folder / METRICS_FILE).write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    (folder / IMPORTANCES_FILE).write_text(json.dumps(result.importances, indent=2), "utf-8")
    return folder


def version_tags(result: TrainingResult, *, commit: str | None, trained_at: str) -> dict[str, str]:
    """Tags stored on the registered version, so ``models list`` needs no artifact download."""
    tags: dict[str, Any] = {
        "data_hash": result.data_hash,
        "n_rows": result.n_rows,
        "n_train": result.n_train,
        "n_holdout": result.n_holdout,
        "holdout": result.holdout,
        "trained_at": trained_at,
        "git_commit": commit or "unknown",
        "target": result.schema.target,
        "task": result.schema.task,
    }
    for name, value in result.metrics.to_dict().items():
        if isinstance(value, float):
            tags[f"metric.{name}"] = repr(value)
    return {f"{TAG_PREFIX}{key}": str(value) for key, value in tags.items()}
