"""Settings: one :class:`Settings` object, read from ``driftwarden.toml`` and the environment.

Sources, highest priority first:

1. keyword arguments (``load_settings(serving={"port": 9000})``),
2. ``DRIFTWARDEN_*`` environment variables, nested with ``__``
   (``DRIFTWARDEN_SERVING__PORT=9000``),
3. the TOML file (``driftwarden.toml`` in the working directory, or the path given to
   :func:`load_settings`),
4. the defaults below, which run everything embedded on one machine under ``.driftwarden/``.

Entry points (the CLI, ``create_app``) call :func:`load_settings` once and pass the result down;
there is no module-level instance.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from driftwarden.core.errors import ConfigError

__all__ = [
    "ABTestSettings",
    "AlertRules",
    "AlertSettings",
    "DashboardSettings",
    "DriftThresholds",
    "ExplanationSettings",
    "JensenShannonThresholds",
    "LevelRule",
    "MonitorSettings",
    "MultivariateSettings",
    "NoTrafficRule",
    "PerformanceDropRule",
    "PerformanceMetric",
    "PsiThresholds",
    "RegistrySettings",
    "RetrainPolicySettings",
    "RetrainingSettings",
    "ServingSettings",
    "Settings",
    "SmtpChannel",
    "StoreSettings",
    "Thresholds",
    "WassersteinThresholds",
    "WebhookChannel",
    "load_settings",
]

DEFAULT_HOME = Path(".driftwarden")
TOML_FILE = "driftwarden.toml"

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

# settings_customise_sources is a classmethod with a fixed signature, so the file chosen by one
# load_settings() call reaches it through a context variable (safe across threads and tasks).
_toml_file: ContextVar[Path | None] = ContextVar("driftwarden_toml_file", default=None)

# Parts of a setting's name that mark a secret: its value never appears in an error message.
_SECRET_MARKERS = ("key", "password", "secret", "token")


class _Section(BaseModel):
    """Base of the settings sections: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class ServingSettings(_Section):
    """The HTTP API (``driftwarden serve``)."""

    host: str = Field(default="127.0.0.1", description="Interface to bind.")
    port: int = Field(default=8000, ge=1, le=65535, description="TCP port to listen on.")
    api_key: SecretStr | None = Field(
        default=None, description="Key that clients send to predict and read; None disables it."
    )
    admin_api_key: SecretStr | None = Field(
        default=None,
        description="Key for actions (retrain, promote, roll back, acknowledge); None disables "
        "those routes.",
    )
    max_request_rows: int = Field(
        default=1000, ge=1, description="Most rows one /v1/predict request may carry."
    )
    max_request_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        description="Largest request body, in bytes; a larger one is refused with 413 from its "
        "Content-Length, or as soon as that many bytes have arrived, before any of it is parsed.",
    )
    max_batch_size: int = Field(
        default=64, ge=1, description="Most rows the model scores in one micro-batch."
    )
    max_batch_wait_ms: float = Field(
        default=0.0,
        ge=0,
        description="Longest a request waits for its micro-batch to fill. 0: batches are what "
        "queues up while the previous batch is scored.",
    )
    log_predictions: bool = Field(
        default=True,
        description="Log every prediction before answering it. Off only to measure what logging "
        "costs: unlogged predictions cannot be monitored, joined to labels or used to retrain.",
    )
    alias_poll_interval: timedelta = Field(
        default=timedelta(seconds=10),
        description="How often a replica checks the registry aliases for a new champion.",
    )
    routing_poll_interval: timedelta = Field(
        default=timedelta(seconds=10),
        gt=timedelta(0),
        description="How often a replica re-reads the champion/challenger experiment from the "
        "store, so a change made through another replica applies here within this time "
        "(POST /v1/admin/reload applies it at once). One indexed read of one row.",
    )
    workers: int | None = Field(
        default=None,
        ge=1,
        description="Worker processes behind the one port of `driftwarden serve` (`--workers`). "
        "Unset: one per core. The workers share the store; SQLite takes their commits in turn, "
        "PostgreSQL is the store for replicas on several machines (see the README's numbers).",
    )
    run_monitor: bool = Field(
        default=True,
        description="Run the monitor loop inside the API process (the embedded default). With "
        "several processes, only the one holding the store's monitor lease runs each pass.",
    )


class StoreSettings(_Section):
    """The prediction store (SQL)."""

    url: str = Field(
        default=f"sqlite:///{DEFAULT_HOME.as_posix()}/driftwarden.db",
        description="SQLAlchemy URL; derived from `home` unless set.",
    )
    echo: bool = Field(default=False, description="Log every SQL statement (debugging only).")
    group_commit_max_rows: int = Field(
        default=256, ge=1, description="Most predictions written in one transaction."
    )
    group_commit_max_wait_ms: float = Field(
        default=0.0,
        ge=0,
        description="Longest a prediction waits for its group to fill. 0: a group is what "
        "queues up while the previous one commits.",
    )
    spool_dir: Path = Field(
        default=DEFAULT_HOME / "spool",
        description="Where rows wait while the database is unreachable; derived from `home`.",
    )
    spool_max_bytes: int = Field(
        default=1 << 30,
        gt=0,
        description="Most bytes each server process's spool file may hold (default 1 GiB). "
        "Past it, a prediction that cannot be logged is answered 503 `spool_full` with "
        "Retry-After instead of filling the disk; nothing acknowledged is dropped.",
    )
    connect_timeout_seconds: float = Field(default=5.0, gt=0)


class _Levels(_Section):
    """A warning and a critical level, the warning not above the critical."""

    warning: float
    critical: float

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.warning > self.critical:
            raise ValueError(
                f"warning ({self.warning}) must not exceed critical ({self.critical}); "
                "swap them or raise critical"
            )
        return self


class Thresholds(_Levels):
    """Warning and critical levels of one drift statistic (an effect size)."""

    warning: float = Field(gt=0)
    critical: float = Field(gt=0)


# One class per method, so that setting one level (DRIFTWARDEN_MONITOR__DRIFT__PSI__CRITICAL)
# keeps the method's default for the other.


class PsiThresholds(Thresholds):
    """Population stability index: 0.1 and 0.25 are the customary levels."""

    warning: float = Field(default=0.1, gt=0)
    critical: float = Field(default=0.25, gt=0)


class JensenShannonThresholds(Thresholds):
    """Jensen-Shannon distance (base 2): changes of 4-7 points in category shares read ~0.05."""

    warning: float = Field(default=0.1, gt=0)
    critical: float = Field(default=0.2, gt=0)


class KsThresholds(Thresholds):
    """Kolmogorov-Smirnov statistic D, the largest gap between the two CDFs."""

    warning: float = Field(default=0.1, gt=0)
    critical: float = Field(default=0.2, gt=0)


class WassersteinThresholds(Thresholds):
    """Wasserstein distance divided by the reference standard deviation (0.2 sigma reads ~0.2)."""

    warning: float = Field(default=0.1, gt=0)
    critical: float = Field(default=0.25, gt=0)


class DriftThresholds(_Section):
    """Per-method drift thresholds: one threshold does not fit every statistic."""

    psi: PsiThresholds = Field(default_factory=PsiThresholds)
    jensen_shannon: JensenShannonThresholds = Field(default_factory=JensenShannonThresholds)
    ks: KsThresholds = Field(default_factory=KsThresholds)
    wasserstein: WassersteinThresholds = Field(default_factory=WassersteinThresholds)


class MultivariateSettings(_Levels):
    """Adversarial validation of windows against the version's training sample: drift that no
    single feature shows (a changed correlation), with where it is. Bounded cost: fixed
    samples, whatever the window's size (about 0.4 s a version at the defaults here)."""

    enabled: bool = Field(default=True, description="Measure multivariate drift.")
    every: timedelta = Field(
        default=timedelta(hours=1),
        ge=timedelta(0),
        description="At most once per this much time per version (0: every run).",
    )
    sample_size: int = Field(
        default=2000, ge=50, description="Rows of the reference and of the window, each."
    )
    folds: int = Field(default=3, ge=2, le=20, description="Cross-validation folds.")
    permutations: int = Field(
        default=200, ge=19, description="Permutations behind the p-value (its floor is 1/(n+1))."
    )
    warning: float = Field(default=0.55, gt=0.5, lt=1, description="AUC of a warning.")
    critical: float = Field(default=0.65, gt=0.5, lt=1, description="AUC of a critical verdict.")


class ExplanationSettings(_Section):
    """Explanation drift: each feature's attributions on a window sample against the version's
    holdout attributions (needs ``driftwarden[explain]`` for models shap explains)."""

    enabled: bool = Field(default=True, description="Measure explanation drift.")
    every: timedelta = Field(
        default=timedelta(hours=1),
        ge=timedelta(0),
        description="At most once per this much time per version (0: every run).",
    )
    sample_size: int = Field(default=500, ge=20, description="Window rows explained.")
    share_threshold: float = Field(
        default=0.05,
        gt=0,
        lt=1,
        description="A change of a feature's share of total attribution this large (absolute) "
        "is a moved influence.",
    )


class MonitorSettings(_Section):
    """The monitor: how windows are cut, when a verdict is drift, and how runs are scheduled."""

    window: timedelta = Field(
        default=timedelta(hours=1),
        gt=timedelta(0),
        description="Length of one monitoring window (the window ends when the run starts).",
    )
    window_rows: int | None = Field(
        default=None,
        ge=1,
        description="Cut windows by count instead: the latest this many predictions. Unset "
        "(the default) cuts them by time (`window`).",
    )
    interval: timedelta = Field(
        default=timedelta(minutes=5),
        gt=timedelta(0),
        description="How often the monitor loop runs.",
    )
    retry_after: timedelta = Field(
        default=timedelta(seconds=30),
        gt=timedelta(0),
        description="How soon a failed monitor run is tried again (doubling up to `interval`).",
    )
    min_samples: int = Field(
        default=200, ge=1, description="Fewer predictions in a window give no drift verdict."
    )
    p_value_alpha: float = Field(
        default=0.05, gt=0, lt=1, description="Significance level of the small-sample gate."
    )
    label_lookback: timedelta = Field(
        default=timedelta(days=30),
        ge=timedelta(0),
        description="Labels that arrive for windows up to this old recompute those windows' "
        "performance.",
    )
    min_labelled: int = Field(
        default=100,
        ge=1,
        description="Fewer labelled predictions give no realised performance for a window.",
    )
    adwin_delta: float = Field(
        default=0.002,
        gt=0,
        lt=1,
        description="Confidence of the ADWIN detectors on the error and score streams; smaller "
        "raises fewer false alarms and detects later.",
    )
    drift: DriftThresholds = Field(default_factory=DriftThresholds)
    multivariate: MultivariateSettings = Field(default_factory=MultivariateSettings)
    explanation: ExplanationSettings = Field(default_factory=ExplanationSettings)


class LevelRule(_Levels):
    """A rule that fires at a warning and a critical level of one figure (inclusive)."""

    enabled: bool = True
    warning: float = Field(ge=0)
    critical: float = Field(ge=0)


class ShareDriftedRule(LevelRule):
    """Share of the features whose drift verdict is warning or critical."""

    warning: float = Field(default=0.3, ge=0, le=1)
    critical: float = Field(default=0.5, ge=0, le=1)


PerformanceMetric = Literal["roc_auc", "accuracy", "f1", "precision", "recall", "rmse", "mae"]
"""A metric a performance rule can watch: the first five for a classifier, the errors ``rmse``
and ``mae`` for a regression model."""


class PerformanceDropRule(LevelRule):
    """Relative worsening of a metric against the version's holdout figure: a drop of a score
    (0.05 = 5 % lower ROC AUC) or a rise of an error (0.05 = 5 % higher RMSE).

    ``metric`` unset watches ``roc_auc`` of a classifier and ``rmse`` of a regression model.
    """

    metric: PerformanceMetric | None = None
    warning: float = Field(default=0.05, ge=0, le=1)
    critical: float = Field(default=0.10, ge=0, le=1)


class QualityRule(LevelRule):
    """Increase of a data-quality rate (missing, invalid, out of range, unseen) over the
    reference's, in any feature."""

    warning: float = Field(default=0.05, ge=0, le=1)
    critical: float = Field(default=0.20, ge=0, le=1)


class LatencyRule(LevelRule):
    """p99 latency of the window's predictions, in milliseconds."""

    warning: float = Field(default=250.0, ge=0)
    critical: float = Field(default=1000.0, ge=0)


class ErrorRateRule(LevelRule):
    """Share of prediction requests the server answered with a 5xx status since the last run."""

    warning: float = Field(default=0.01, ge=0, le=1)
    critical: float = Field(default=0.05, ge=0, le=1)


class NoTrafficRule(_Section):
    """A window in which the champion answered fewer predictions than this."""

    enabled: bool = True
    min_rows: int = Field(default=1, ge=1)
    severity: Literal["info", "warning", "critical"] = "warning"


class AlertRules(_Section):
    """When the monitor raises an alert. Feature and prediction drift use the per-method drift
    thresholds of ``[monitor.drift]``; the others have their own levels here."""

    feature_drift: bool = Field(default=True, description="An alert per drifted feature.")
    prediction_drift: bool = Field(default=True, description="An alert for drifted scores.")
    concept_drift: bool = Field(
        default=True,
        description="An alert when ADWIN finds a change in the labelled error stream (critical) "
        "or the score stream (warning).",
    )
    multivariate_drift: bool = Field(
        default=True,
        description="An alert when adversarial validation tells the window from the reference "
        "(its levels are [monitor.multivariate]'s).",
    )
    explanation_drift: bool = Field(
        default=True,
        description="An alert per feature whose influence on the model moved (warning; critical "
        "when its attributions drifted critically).",
    )
    share_drifted: ShareDriftedRule = Field(default_factory=ShareDriftedRule)
    performance_drop: PerformanceDropRule = Field(default_factory=PerformanceDropRule)
    data_quality: QualityRule = Field(default_factory=QualityRule)
    latency_p99_ms: LatencyRule = Field(default_factory=LatencyRule)
    error_rate: ErrorRateRule = Field(default_factory=ErrorRateRule)
    no_traffic: NoTrafficRule = Field(default_factory=NoTrafficRule)


class TrainingSettings(_Section):
    """How `driftwarden train` gets its data and validates a model."""

    data: Path | None = Field(
        default=None,
        description="CSV or Parquet file to train on; unset trains on the bundled Telco dataset.",
    )
    holdout: Literal["stratified", "time"] = Field(
        default="stratified",
        description="A stratified random holdout, or the latest rows by the schema's time column.",
    )
    test_size: float = Field(default=0.2, gt=0, lt=1, description="Share of rows held out.")
    seed: int = Field(default=0, description="Seed of the split and the model.")
    min_roc_auc: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Validation gate: a model with a lower holdout ROC AUC is not registered.",
    )


class RetrainPolicySettings(_Section):
    """When the monitor asks for a retraining by itself."""

    enabled: bool = Field(
        default=True,
        description="Let the monitor trigger retraining; off leaves only manual "
        "requests and the schedule.",
    )
    drift_runs: int = Field(
        default=3,
        ge=1,
        description="Critical drift of the champion in this many monitor runs in a row triggers "
        "a retraining.",
    )
    performance_drop: float | None = Field(
        default=0.10,
        ge=0,
        le=1,
        description="A realised worsening of `metric` this far from the champion's holdout "
        "figure (relative: 0.10 = 10 % lower AUC, or 10 % higher RMSE) triggers a retraining; "
        "unset disables it.",
    )
    metric: PerformanceMetric | None = Field(
        default=None,
        description="The metric `performance_drop` watches; unset: roc_auc for a classifier, "
        "rmse for a regression model.",
    )
    concept_drift: bool = Field(
        default=True,
        description="A change ADWIN finds in the champion's labelled error stream triggers a "
        "retraining.",
    )


class RetrainingSettings(_Section):
    """Automated retraining: what data a new version learns from, the gates it must pass, and
    how often it may run."""

    policy: RetrainPolicySettings = Field(default_factory=RetrainPolicySettings)
    schedule: timedelta | None = Field(
        default=None,
        gt=timedelta(0),
        description="Also retrain this long after the last retraining started (or the first "
        "monitor run); unset: no schedule.",
    )
    cooldown: timedelta = Field(
        default=timedelta(hours=6),
        ge=timedelta(0),
        description="No automatic retraining sooner than this after the last one finished "
        "(manual requests ignore it).",
    )
    lookback: timedelta = Field(
        default=timedelta(days=30),
        gt=timedelta(0),
        description="Labelled production rows up to this old join the training data.",
    )
    include_training_data: bool = Field(
        default=True,
        description="Train on the champion's training data (`training.data`) as well as on "
        "the production rows.",
    )
    concept_lookback: timedelta = Field(
        default=timedelta(days=1),
        gt=timedelta(0),
        description="When the trigger is concept drift or a performance drop, train only on "
        "the labelled production rows of this period before the newest labelled one, without "
        "the training data: once labels change meaning, older labels mislead.",
    )
    max_production_rows: int | None = Field(
        default=None, ge=1, description="Use at most this many of the newest production rows."
    )
    holdout_fraction: float = Field(
        default=0.2,
        gt=0,
        lt=1,
        description="The most recent share of labelled production rows, held out to validate "
        "the candidate and the champion on the same rows.",
    )
    min_new_rows: int = Field(
        default=500,
        ge=10,
        description="Fewer labelled production rows in `lookback` and the retraining is skipped.",
    )
    metric: PerformanceMetric | None = Field(
        default=None,
        description="The metric of the validation gates: roc_auc, accuracy, f1, precision or "
        "recall for a classifier (scores: higher is better), rmse or mae for a regression model "
        "(errors: lower is better); unset: roc_auc for a classifier, rmse for a regression "
        "model. A metric of the other task fails the retraining with an error naming this key.",
    )
    tolerance: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="Gate: how much worse than the champion the candidate may be on the "
        "holdout. For a score, absolute in `metric` (at least the champion's minus this); for "
        "an error, relative (at most the champion's times 1 + this: 0.01 = 1 % more error).",
    )
    min_score: float = Field(
        default=0.6,
        ge=0,
        le=1,
        description="Gate for a score (roc_auc, accuracy...): the candidate's holdout `metric` "
        "must reach this floor. Not used for an error: see `max_error`.",
    )
    max_error: float | None = Field(
        default=None,
        gt=0,
        description="Gate for an error (rmse, mae): the candidate's holdout `metric` must not "
        "exceed this ceiling, in the target's units; unset: no ceiling. Not used for a score: "
        "see `min_score`.",
    )
    start_ab_test: bool = Field(
        default=True,
        description="Start a champion/challenger A/B test with a candidate that passed the "
        "gates; off leaves it registered as challenger only.",
    )
    deployment: str | None = Field(
        default=None,
        description="Run retraining as this Prefect deployment (`flow/deployment`) on a work "
        "pool, through the server of PREFECT_API_URL; unset runs the flow in this process.",
    )
    stale_after: timedelta = Field(
        default=timedelta(hours=2),
        gt=timedelta(0),
        description="A running retraining with no progress for this long is marked failed (its "
        "process died), so the next one can start.",
    )


class ABTestSettings(_Section):
    """The champion/challenger test a new version must win on live traffic."""

    mode: Literal["split", "shadow"] = Field(
        default="split",
        description="split: the challenger answers `share` of the entities; shadow: the "
        "champion answers everything and the challenger scores the same rows off the response "
        "path (paired tests).",
    )
    share: float = Field(
        default=0.1, gt=0, le=1, description="The challenger's share of entities in split mode."
    )
    metric: Literal["accuracy", "roc_auc", "mse", "mae"] | None = Field(
        default=None,
        description="What decides. A classifier: accuracy (two-proportion z test on split "
        "traffic, McNemar in shadow mode) or roc_auc (bootstrap interval on split traffic, "
        "DeLong in shadow). A regression model: mse or mae, the mean squared or absolute error "
        "(Welch's t test on split traffic, a paired t test in shadow). Unset: accuracy for a "
        "classifier, mse for a regression model. A metric of the other task is refused when a "
        "test starts.",
    )
    min_effect: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="Promote only when the challenger is better by at least this much: "
        "absolute for a score (0.02 = 2 points of accuracy), relative to the champion's error "
        "for an error (0.02 = a 2 % lower MSE).",
    )
    alpha: float = Field(default=0.05, gt=0, lt=1, description="Significance level.")
    min_labelled: int = Field(
        default=200, ge=10, description="Labelled predictions each arm needs before a decision."
    )
    min_duration: timedelta = Field(
        default=timedelta(days=3),
        ge=timedelta(0),
        description="No promotion before the test has run this long.",
    )
    max_duration: timedelta = Field(
        default=timedelta(days=14),
        gt=timedelta(0),
        description="End the test without promotion when it has run this long undecided.",
    )
    max_latency_ratio: float = Field(
        default=1.5,
        gt=0,
        description="Guardrail: stop and reject when the challenger's p99 latency exceeds the "
        "champion's by this factor and by `latency_slack_ms`.",
    )
    latency_slack_ms: float = Field(
        default=25.0,
        ge=0,
        description="A p99 within this many milliseconds of the champion's never trips the "
        "latency guardrail: at a few milliseconds, a ratio measures noise.",
    )
    latency_min_rows: int = Field(
        default=100,
        ge=1,
        description="The latency guardrail compares p99s only of windows where each arm "
        "scored this many rows: the p99 of fewer is their slowest single call.",
    )
    max_error_rate: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="Guardrail: stop and reject when more than this share of the challenger's "
        "scoring calls fail.",
    )
    auto_promote: bool = Field(
        default=True,
        description="Move the champion alias when the challenger wins; off records the "
        "decision and leaves the promotion to a person.",
    )
    bootstrap_resamples: int = Field(default=1000, ge=100, le=100_000)

    @model_validator(mode="after")
    def _durations(self) -> Self:
        if self.max_duration < self.min_duration:
            raise ValueError(
                f"max_duration ({self.max_duration}) must not be shorter than min_duration "
                f"({self.min_duration})"
            )
        return self


class DashboardSettings(_Section):
    """The live dashboard (``driftwarden dashboard``): a Streamlit app that reads the API only.

    It reads with ``serving.api_key``; actions ask for the admin key in the page, once per
    browser session.
    """

    host: str = Field(default="127.0.0.1", description="Interface the dashboard binds.")
    port: int = Field(default=8501, ge=1, le=65535, description="TCP port of the dashboard.")
    api_url: str | None = Field(
        default=None,
        description="Base URL of the API the dashboard reads. None: this machine's "
        "serving.port (http://127.0.0.1:<port>).",
    )
    refresh: timedelta = Field(
        default=timedelta(seconds=15),
        gt=timedelta(0),
        description="How often each view reloads its data in place.",
    )
    cache_ttl: timedelta = Field(
        default=timedelta(seconds=5),
        ge=timedelta(0),
        description="How long an API answer is reused by every browser session.",
    )
    timeout: timedelta = Field(
        default=timedelta(seconds=10),
        gt=timedelta(0),
        description="Longest the dashboard waits for one API answer.",
    )


class RegistrySettings(_Section):
    """The MLflow model registry."""

    tracking_uri: str = Field(
        default=f"sqlite:///{DEFAULT_HOME.as_posix()}/mlflow.db",
        description="MLflow tracking URI; derived from `home` unless set.",
    )
    artifact_location: Path = Field(
        default=DEFAULT_HOME / "mlartifacts",
        description="Where MLflow keeps model files; derived from `home` unless set.",
    )
    model_name: str = Field(default="driftwarden", min_length=1)
    champion_alias: str = Field(default="champion", min_length=1)
    challenger_alias: str = Field(default="challenger", min_length=1)
    token: SecretStr | None = Field(
        default=None, description="Bearer token of a remote tracking server."
    )


class WebhookChannel(_Section):
    """A notification channel that POSTs alerts as JSON (a Slack-compatible body: ``text`` for
    people, ``alert`` with every field for programs)."""

    url: str = Field(min_length=1)
    secret: SecretStr | None = Field(
        default=None,
        description="Signs each body with HMAC-SHA256, sent as X-Driftwarden-Signature.",
    )
    timeout_seconds: float = Field(default=10.0, gt=0)


class SmtpChannel(_Section):
    """A notification channel that sends alerts by e-mail."""

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    sender: str = Field(min_length=1)
    recipients: list[str] = Field(min_length=1)
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = True
    timeout_seconds: float = Field(default=10.0, gt=0)


class AlertSettings(_Section):
    """Alert rules, their lifecycle, and where alerts go. Alerts are always stored and shown;
    the log channel is on by default, webhooks and e-mail when configured."""

    rules: AlertRules = Field(default_factory=AlertRules)
    log: bool = Field(default=True, description="Write every notification to the log.")
    webhooks: list[WebhookChannel] = Field(default_factory=list)
    smtp: SmtpChannel | None = None
    repeat_after: timedelta = Field(
        default=timedelta(hours=1),
        ge=timedelta(0),
        description="An open alert that keeps firing at the same severity is re-sent this often "
        "(the cooldown); an escalation is sent at once.",
    )
    resolve_after_runs: int = Field(
        default=2,
        ge=1,
        description="An alert is resolved by itself after this many monitor runs in a row "
        "without its condition.",
    )
    delivery_attempts: int = Field(
        default=3, ge=1, description="Tries per channel before a delivery is recorded as failed."
    )
    delivery_backoff: timedelta = Field(
        default=timedelta(seconds=1),
        ge=timedelta(0),
        description="Wait before the second try; doubled before each further one.",
    )


class _CanonicalAliasKeys(PydanticBaseSettingsSource):
    """Rename field names to their aliases in another source's output.

    With ``validate_by_name`` the environment source reports a value found only through nested
    variables (``DRIFTWARDEN_SCHEMA__TARGET``) under the field name, while the TOML and init
    sources report the alias (``schema``). Both keys would then reach validation and the lower
    priority one would win or be rejected as extra; one key per field keeps priorities intact.
    """

    def __init__(self, settings_cls: type[BaseSettings], inner: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self._inner = inner

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._inner.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        data = self._inner()
        for name, field in self.settings_cls.model_fields.items():
            if field.alias and name in data:
                # The two keys are never both present: the source stops at the first name found.
                data.setdefault(field.alias, data.pop(name))
        return data


class Settings(BaseSettings):
    """Every setting of driftwarden.

    Parameters
    ----------
    home : Path
        Working state of the embedded default (database, MLflow store, Prefect home, spool).
        The store and registry locations are derived from it unless set explicitly.
    log_level, log_json
        Passed to :func:`driftwarden.core.logging.configure_logging` by the entry points.
    serving, store, monitor, registry, training, alerts, retraining, ab_test, dashboard
        The sections; see their classes.
    feature_schema : dict
        The ``[schema]`` table of ``driftwarden.toml`` (alias ``schema``), kept opaque here and
        validated by :mod:`driftwarden.schema` as overrides of the inferred feature schema.

    Examples
    --------
    >>> s = Settings(serving={"port": 9000}, schema={"target": "Churn"})
    >>> s.serving.port, s.feature_schema
    (9000, {'target': 'Churn'})
    """

    model_config = SettingsConfigDict(
        env_prefix="DRIFTWARDEN_",
        env_nested_delimiter="__",
        # The prefix applies to aliases too, so `schema` is read from DRIFTWARDEN_SCHEMA.
        env_prefix_target="all",
        toml_file=TOML_FILE,
        extra="forbid",
        validate_by_name=True,
        validate_by_alias=True,
    )

    home: Path = DEFAULT_HOME
    log_level: LogLevel = "INFO"
    log_json: bool = False
    serving: ServingSettings = Field(default_factory=ServingSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    training: TrainingSettings = Field(default_factory=TrainingSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    retraining: RetrainingSettings = Field(default_factory=RetrainingSettings)
    ab_test: ABTestSettings = Field(default_factory=ABTestSettings)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)
    # `schema` itself would shadow the deprecated BaseModel.schema(); the alias keeps the
    # TOML table and the environment variable named `schema`.
    feature_schema: dict[str, Any] = Field(default_factory=dict, alias="schema")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        # Environment variables are often written in lower case (DRIFTWARDEN_LOG_LEVEL=debug).
        return value.upper() if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        # pydantic-settings passes every source by keyword; dotenv and secret files are unused.
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Order the sources: init beats the environment, which beats the TOML file."""
        toml_file = _toml_file.get()
        toml = (
            TomlConfigSettingsSource(settings_cls)
            if toml_file is None
            else TomlConfigSettingsSource(settings_cls, toml_file=toml_file)
        )
        return (init_settings, _CanonicalAliasKeys(settings_cls, env_settings), toml)

    @model_validator(mode="after")
    def _derive_locations_from_home(self) -> Self:
        # Locations left unset follow `home`, so DRIFTWARDEN_HOME alone moves all state. The
        # sections are copied, never changed in place: a caller may share them between objects.
        home = self.home.as_posix()
        derived_store = {
            "url": f"sqlite:///{home}/driftwarden.db",
            "spool_dir": self.home / "spool",
        }
        derived_registry = {
            "tracking_uri": f"sqlite:///{home}/mlflow.db",
            "artifact_location": self.home / "mlartifacts",
        }
        self.store = self.store.model_copy(
            update={k: v for k, v in derived_store.items() if k not in self.store.model_fields_set}
        )
        self.registry = self.registry.model_copy(
            update={
                k: v for k, v in derived_registry.items() if k not in self.registry.model_fields_set
            }
        )
        return self

    @property
    def dashboard_api_url(self) -> str:
        """The API the dashboard reads: ``dashboard.api_url``, else this machine's serving port
        (on 127.0.0.1 when the API binds every interface)."""
        if self.dashboard.api_url:
            return self.dashboard.api_url.rstrip("/")
        host = self.serving.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.serving.port}"


def _describe_errors(exc: ValidationError, source: str) -> tuple[str, str | None]:
    """Turn a ValidationError into one readable message and the first offending key."""
    lines = []
    first_key: str | None = None
    for error in exc.errors(include_url=False):
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        first_key = first_key or key
        if error["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown setting; remove it or check its spelling")
            continue
        value = error.get("input")
        shown = "'***'" if any(m in key.lower() for m in _SECRET_MARKERS) else repr(value)
        where = source
        # Items of lists (alerts.webhooks.0.url) have no environment variable of their own.
        if not any(isinstance(part, int) for part in error["loc"]):
            where += " or DRIFTWARDEN_" + key.upper().replace(".", "__")
        lines.append(f"  {key} = {shown}: {error['msg']}; fix it in {where}")
    return "invalid settings:\n" + "\n".join(lines), first_key


@contextmanager
def _reading(path: Path | None) -> Iterator[None]:
    token = _toml_file.set(path)
    try:
        yield
    finally:
        _toml_file.reset(token)


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Read the settings from a TOML file, the environment and ``overrides``.

    Parameters
    ----------
    path : Path or None, optional
        The TOML file to read. ``None`` reads ``driftwarden.toml`` in the working directory if
        there is one, and nothing otherwise.
    **overrides
        Settings that beat both the environment and the file, e.g. ``serving={"port": 9000}``.

    Returns
    -------
    Settings

    Raises
    ------
    ConfigError
        If ``path`` does not exist or cannot be read, the TOML is malformed, or a value is
        invalid or unknown. The message names the file and the offending key.

    Examples
    --------
    >>> settings = load_settings(monitor={"min_samples": 50})
    >>> settings.monitor.min_samples
    50
    """
    if path is not None and not Path(path).is_file():
        raise ConfigError(
            f"settings file {path} does not exist or is not a file; expected a TOML file such "
            f"as {TOML_FILE}, check the path"
        )
    source = str(path) if path is not None else TOML_FILE
    try:
        with _reading(None if path is None else Path(path)):
            return Settings(**overrides)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}; fix the syntax there") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source} is not UTF-8 text ({exc}); save it as UTF-8") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {source}: {exc}; check its permissions") from exc
    except ValidationError as exc:
        message, key = _describe_errors(exc, source)
        raise ConfigError(message, key=key) from exc
