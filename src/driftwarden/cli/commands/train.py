"""``driftwarden train``: train on the configured data and register a new model version."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from driftwarden.cli.commands._shared import Progress, training_data
from driftwarden.core import Settings
from driftwarden.core.errors import ConfigError, DataError
from driftwarden.explain import with_explanations
from driftwarden.registry import ModelRegistry
from driftwarden.stats.metrics import ClassificationMetrics, RegressionMetrics
from driftwarden.training import TrainingResult, task_metrics, train

__all__ = ["add_parser", "run"]


def add_parser(verbs: Any) -> None:
    """Register the verb."""
    parser = verbs.add_parser(
        "train",
        help="train a model and register it as a new version",
        description="Train on [training] data (default: the bundled Telco dataset), validate on "
        "a holdout and register the model with its schema and reference profile in MLflow. The "
        "first version becomes the champion; later ones the challenger, unless --alias says "
        "otherwise.",
    )
    parser.add_argument("--data", type=Path, help="train on this file instead of [training] data")
    parser.add_argument(
        "--alias",
        choices=("auto", "champion", "challenger", "none"),
        default="auto",
        help="alias of the new version (auto: champion if there is none, else challenger)",
    )
    parser.add_argument("--seed", type=int, help="seed of the split and model")
    parser.add_argument(
        "--unless-champion",
        action="store_true",
        help="train nothing when the registry has a champion already (for a deployment's first "
        "start, run at every start)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Train, gate, register."""
    registry = ModelRegistry(settings.registry, home=settings.home)
    if args.unless_champion:
        version = registry.alias_version(registry.champion)
        if version is not None:
            print(f"{registry.name!r} has a champion already (version {version}): trained nothing")
            return 0
    progress = Progress()
    updates: dict[str, Any] = {}
    if args.data is not None:
        updates["data"] = args.data
    if args.seed is not None:
        updates["seed"] = args.seed
    options = settings.training.model_copy(update=updates)
    frame, schema = training_data(settings.model_copy(update={"training": options}), progress)
    if schema.is_regression and options.min_roc_auc is not None:
        # Refused before training: the gate could never be measured.
        raise ConfigError(
            f"training.min_roc_auc = {options.min_roc_auc} gates on ROC AUC, which a regression "
            f"model does not have (its holdout metrics are {', '.join(task_metrics('regression'))}"
            f"); the target {schema.target!r} is a regression target, so remove "
            "training.min_roc_auc from driftwarden.toml",
            key="training.min_roc_auc",
        )
    result = train(
        frame,
        schema,
        holdout=options.holdout,
        test_size=options.test_size,
        seed=options.seed,
        progress=progress,
    )
    auc = result.metrics.roc_auc if isinstance(result.metrics, ClassificationMetrics) else None
    if options.min_roc_auc is not None and (auc is None or auc < options.min_roc_auc):
        raise DataError(
            f"holdout ROC AUC {auc} is below the gate training.min_roc_auc = "
            f"{options.min_roc_auc}; nothing was registered"
        )
    progress("explaining the holdout (the reference of explanation drift)")
    result = with_explanations(result, seed=options.seed)
    alias = None if args.alias == "none" else args.alias
    if alias in ("champion", "challenger"):
        alias = (
            settings.registry.champion_alias
            if alias == "champion"
            else settings.registry.challenger_alias
        )
    info = registry.register(result, alias=alias, progress=progress)
    aliases = f" as {', '.join(info.aliases)}" if info.aliases else ""
    print(
        f"registered {registry.name!r} version {info.version}{aliases}: holdout "
        f"{_summary(result)} on {result.n_holdout:,} rows (trained on {result.n_train:,})"
    )
    return 0


def _summary(result: TrainingResult) -> str:
    """The headline holdout metrics: ROC AUC, accuracy and F1, or RMSE, MAE, R² and MAPE."""
    metrics = result.metrics
    if isinstance(metrics, RegressionMetrics):
        r2 = "n/a" if metrics.r2 is None else f"{metrics.r2:.4f}"
        mape = "n/a" if metrics.mape is None else f"{metrics.mape:.2%}"
        return (
            f"RMSE {metrics.rmse:.6g}, MAE {metrics.mae:.6g}, R\N{SUPERSCRIPT TWO} {r2}, "
            f"MAPE {mape}"
        )
    auc = "n/a" if metrics.roc_auc is None else f"{metrics.roc_auc:.4f}"
    return f"ROC AUC {auc}, accuracy {metrics.accuracy:.4f}, F1 {metrics.f1:.4f}"
