"""The whole system on a simulated clock: ``driftwarden simulate``.

:func:`simulate` runs the real API app in this process (``create_app`` on a
:class:`~driftwarden.core.SimulatedClock`, its store, the MLflow registry, the monitor, the
retraining flow and the promotion policy; nothing is stubbed) and talks to it through the typed
client, as any client would. Each simulated step (an hour by default):

1. customers arrive: ``rate`` a day, drawn by a :class:`~driftwarden.data.RowGenerator` fitted on
   the training data, with the drift scenarios applied at their times;
2. they are scored through ``POST /v1/predict``, in a few requests spread over the step, and the
   same rows by a frozen copy of the first champion, which is never retrained;
3. labels come back ``label_delay`` after their prediction (``POST /v1/feedback``);
4. every ``monitor_every`` the monitor runs (``POST /v1/monitoring/run``): alerts fire, the retrain
   policy may start a retraining, the promotion policy steps the A/B test. The simulation waits
   for a retraining to finish before time moves on, and reloads the server's models and routing
   at once rather than at the next poll, so the run is deterministic under its seed.

At the end the system's own account is read back through the API into a
:class:`~driftwarden.simulation.SimulationResult`.
"""

from __future__ import annotations

import logging
import secrets
import time
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.metrics import roc_auc_score

from driftwarden.client import DriftwardenClient
from driftwarden.core import ConfigError, Settings, SimulatedClock, load_settings
from driftwarden.data import RowGenerator, load_telco, read_table
from driftwarden.data.telco import TELCO_ID, TELCO_TARGET
from driftwarden.explain import with_explanations
from driftwarden.registry import ModelRegistry
from driftwarden.schema import FeatureSchema, infer_schema
from driftwarden.serving.app import create_app
from driftwarden.simulation.result import DayRecord, SimulationResult
from driftwarden.simulation.scenarios import build_scenarios
from driftwarden.training import predict_scores, train

__all__ = ["SimulationOptions", "as_records", "base_data", "simulate", "true_labels"]

logger = logging.getLogger(__name__)

DAY = timedelta(days=1)
#: Requests each simulated step's traffic is sent in (time moves on between them).
_REQUESTS_PER_STEP = 4
_READ_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class SimulationOptions:
    """How the simulated world behaves.

    Attributes
    ----------
    scenarios : sequence of str
        Names from :data:`~driftwarden.simulation.SCENARIOS`, injected in sequence.
    days : int
        Length of the run.
    rate : int
        Predictions per simulated day.
    label_delay : timedelta
        When each prediction's true label arrives.
    seed : int
        Everything random (traffic, labels, training) follows from it.
    start : datetime
        Simulated time of the first prediction.
    step : timedelta
        Traffic is generated step by step.
    monitor_every : timedelta
        How often the monitor runs (a multiple of ``step``).
    window : timedelta
        What each monitor run covers.
    """

    scenarios: Sequence[str] = ("concept",)
    days: int = 30
    rate: int = 2000
    label_delay: timedelta = DAY
    seed: int = 0
    start: datetime = datetime(2024, 1, 1, tzinfo=UTC)
    step: timedelta = timedelta(hours=1)
    monitor_every: timedelta = timedelta(hours=6)
    window: timedelta = DAY

    def check(self) -> None:
        """Raise :class:`ConfigError` naming the first option that cannot work."""
        if self.days < 1:
            raise ConfigError(f"days must be at least 1, got {self.days}", key="days")
        if self.rate < 1:
            raise ConfigError(f"rate must be at least 1 a day, got {self.rate}", key="rate")
        if self.label_delay < timedelta(0):
            raise ConfigError("label_delay must not be negative", key="label_delay")
        if self.step <= timedelta(0) or DAY % self.step:
            raise ConfigError("step must divide a day", key="step")
        if self.monitor_every < self.step or self.monitor_every % self.step:
            raise ConfigError(
                f"monitor_every ({self.monitor_every}) must be a multiple of the step "
                f"({self.step})",
                key="monitor_every",
            )
        if self.start.utcoffset() is None:
            raise ConfigError("start must carry a time zone", key="start")


@dataclass(slots=True)
class _Served:
    """What the simulation knows of each prediction: the truth, and both models' answers."""

    day: list[int] = field(default_factory=list)
    truth: list[NDArray[np.int64]] = field(default_factory=list)
    live: list[NDArray[np.float64]] = field(default_factory=list)
    frozen: list[NDArray[np.float64]] = field(default_factory=list)


def as_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows as JSON-ready dicts, missing values as None."""
    plain = frame.astype(object).where(frame.notna(), None)
    return [{str(k): v for k, v in row.items()} for row in plain.to_dict(orient="records")]


def true_labels(rows: pd.DataFrame, schema: FeatureSchema) -> NDArray[np.int64]:
    """The rows' targets as 0/1 (1 for the schema's positive label); any number of rows, of
    one class or two."""
    assert schema.target is not None
    positive = str(schema.positive_label)
    labels: NDArray[np.int64] = (
        (rows[schema.target].astype(str) == positive).to_numpy().astype(np.int64)
    )
    return labels


def base_data(settings: Settings) -> tuple[pd.DataFrame, FeatureSchema]:
    overrides = settings.feature_schema or None
    if settings.training.data is None:
        frame = load_telco()
        target = None if overrides and "target" in overrides else TELCO_TARGET
        entity = None if overrides and "entity_id" in overrides else TELCO_ID
        return frame, infer_schema(frame, target=target, entity_id=entity, overrides=overrides)
    frame = read_table(settings.training.data)
    schema = infer_schema(frame, overrides=overrides)
    if schema.target is None:
        raise ConfigError("the settings name no target column; set [schema] target", key="schema")
    if schema.is_regression:
        # The row generator draws each row's label from a label model of a binary target.
        raise ConfigError(
            f"the target {schema.target!r} is a regression target, and simulate and traffic "
            "generate labels for binary targets only. To watch a regression model under drift, "
            "serve it and send its rows and true values to /v1/predict and /v1/feedback; "
            "`driftwarden example houses --scenario market_shift` writes drifted houses to send",
            key="schema.target",
        )
    return frame, schema


def simulation_settings(settings: Settings, folder: Path, options: SimulationOptions) -> Settings:
    """The user's settings, with every piece of state moved into ``folder`` (a simulation never
    touches the real store or registry), the monitor on the simulation's schedule, and no A/B
    latency guardrail (the latencies of a simulation are the machine's, not the models')."""
    folder = folder.resolve()
    return load_settings(
        None,
        **{
            **settings.model_dump(mode="python", by_alias=True, exclude_unset=True),
            "home": folder,
            "store": {"url": f"sqlite:///{(folder / 'driftwarden.db').as_posix()}",
                      "spool_dir": folder / "spool"},
            "registry": {
                "tracking_uri": f"sqlite:///{(folder / 'mlflow.db').as_posix()}",
                "artifact_location": folder / "mlartifacts",
                "model_name": settings.registry.model_name,
            },
            "serving": {
                "run_monitor": False,
                "admin_api_key": secrets.token_hex(16),
                "api_key": None,
            },
            "monitor": {
                **settings.monitor.model_dump(mode="python", exclude_unset=True),
                "window": options.window,
                "interval": options.monitor_every,
            },
            # The latency guardrail compares wall-clock p99s, which in a simulation measure the
            # machine (every arm answers in this one process, at whatever else runs beside it),
            # not the models: on a busy machine one slow turn of the challenger's arm rejected a
            # better model, and the same seed gave another run. No arm reaches this many rows.
            "ab_test": {
                **settings.ab_test.model_dump(mode="python", exclude_unset=True),
                "latency_min_rows": options.days * options.rate + 1,
            },
        },
    )  # fmt: skip


def simulate(
    settings: Settings,
    options: SimulationOptions,
    folder: Path,
    *,
    progress: Callable[[str], None] | None = None,
) -> SimulationResult:
    """Run the system for ``options.days`` simulated days; state goes under ``folder``.

    Raises
    ------
    ConfigError
        Options that cannot work, an unknown scenario, or data it cannot generate (a
        regression target).
    """
    options.check()
    say = progress or (lambda message: logger.info(message))
    started = time.perf_counter()
    frame, schema = base_data(settings)  # refused data leaves no folder behind
    folder.mkdir(parents=True, exist_ok=True)
    settings = simulation_settings(settings, folder, options)
    clock = SimulatedClock(options.start - DAY)
    assert schema.target is not None
    say(f"training the first champion on {len(frame):,} rows")
    registry = ModelRegistry(settings.registry, clock=clock, home=settings.home)
    first = with_explanations(train(frame, schema, seed=options.seed), seed=options.seed)
    registry.register(first, alias="champion", trigger="simulation")
    frozen = first.model
    generator = RowGenerator.fit(
        frame, target=schema.target, entity_id=schema.entity_id, seed=options.seed,
        positive=schema.positive_label,
    )  # fmt: skip
    scenario = build_scenarios(
        list(options.scenarios), generator, frame, start=options.start,
        length=options.days * DAY,
    )  # fmt: skip
    clock.set(options.start)
    app = create_app(settings, registry=registry, clock=clock)
    admin = settings.serving.admin_api_key
    assert admin is not None
    with warnings.catch_warnings():
        # Starlette suggests its own fork of httpx for TestClient; httpx is what we ship.
        warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient
    with TestClient(app) as http:
        client = DriftwardenClient(http=http, admin_key=admin.get_secret_value())
        served = _run(app, client, clock, generator, scenario, schema, frozen, options, say)
        result = _collect(client, served, options, scenario)
    result.seconds = time.perf_counter() - started
    return result


def _run(
    app: Any,
    client: DriftwardenClient,
    clock: SimulatedClock,
    generator: RowGenerator,
    scenario: Any,
    schema: FeatureSchema,
    frozen: Any,
    options: SimulationOptions,
    say: Callable[[str], None],
) -> _Served:
    state = app.state.serving
    served = _Served()
    pending: deque[tuple[datetime, str, int]] = deque()
    per_day = int(DAY / options.step)
    steps = options.days * per_day
    monitor_every = int(options.monitor_every / options.step)
    target = schema.target
    assert target is not None
    day_rows, day_times = pd.DataFrame(), pd.Series(dtype="datetime64[ns, UTC]")
    day_frozen = np.empty(0)
    for index in range(steps):
        step_start = options.start + index * options.step
        day, within = divmod(index, per_day)
        if within == 0:
            # A day's traffic is drawn, timed and drifted at once: a scenario that reweights
            # the classes needs both in the rows it is given, which an hour of a small rate
            # may not have.
            day_rows, day_times = _day_of_traffic(generator, scenario, options, day)
            # The frozen model never changes: its scores of the whole day, in one call.
            day_frozen = predict_scores(
                frozen, schema.coerce_frame(day_rows[list(schema.feature_names)])
            )
        # Exactly `rate` a day, spread as evenly as whole rows allow.
        first = within * options.rate // per_day
        n = (within + 1) * options.rate // per_day - first
        if n:
            rows = day_rows.iloc[first : first + n]
            times = pd.DatetimeIndex(day_times.iloc[first : first + n])
            truth = true_labels(rows, schema)
            features = rows.drop(columns=[target])
            _score(client, clock, features, truth, times, day, served, pending, options)
            served.frozen.append(day_frozen[first : first + n])
        clock.set(step_start + options.step)
        _send_labels(client, pending, clock.now())
        if (index + 1) % monitor_every == 0:
            client.run_monitor()
            state.retrainer.join()
            client.reload()
        if (index + 1) % per_day == 0:
            say(f"day {(index + 1) * options.step // DAY}/{options.days}")
    return served


def _day_of_traffic(
    generator: RowGenerator, scenario: Any, options: SimulationOptions, day: int
) -> tuple[pd.DataFrame, pd.Series[Any]]:
    """One simulated day of customers in time order, with the scenarios applied."""
    rows = generator.generate(options.rate, seed=options.seed * 1_000_003 + day)
    per_day = int(DAY / options.step)
    start = options.start + day * DAY
    # Each step's share of the day arrives within that step, at random instants.
    rng = np.random.default_rng([options.seed, day, 1])
    slots = np.array(
        [(i + 1) * options.rate // per_day - i * options.rate // per_day for i in range(per_day)]
    )
    steps = np.repeat(np.arange(per_day), slots)
    offsets = np.sort(steps + rng.random(options.rate)) / per_day
    times = pd.Series(pd.to_datetime([start + DAY * float(o) for o in offsets], utc=True))
    if scenario is not None:
        drift_rng = np.random.default_rng([options.seed, day])
        rows = scenario.apply(rows, times.dt.tz_localize(None).to_numpy(), drift_rng)
    return rows.reset_index(drop=True), times


def _score(
    client: DriftwardenClient,
    clock: SimulatedClock,
    features: pd.DataFrame,
    truth: NDArray[np.int64],
    times: pd.DatetimeIndex,
    day: int,
    served: _Served,
    pending: deque[tuple[datetime, str, int]],
    options: SimulationOptions,
) -> None:
    records = as_records(features)
    scores = np.empty(len(records))
    for part in np.array_split(np.arange(len(records)), _REQUESTS_PER_STEP):
        if not len(part):
            continue
        clock.set(max(clock.now(), times[part[0]].to_pydatetime()))
        answers = client.predict_batch([records[i] for i in part])
        for i, answer in zip(part, answers, strict=True):
            scores[i] = answer.probability
            pending.append((times[i].to_pydatetime() + options.label_delay, answer.request_id,
                            int(truth[i])))  # fmt: skip
    served.day.append(day)
    served.truth.append(truth)
    served.live.append(scores)


def _send_labels(
    client: DriftwardenClient, pending: deque[tuple[datetime, str, int]], now: datetime
) -> None:
    due: list[tuple[str, int]] = []
    while pending and pending[0][0] <= now:
        _, request_id, label = pending.popleft()
        due.append((request_id, label))
    if due:
        client.feedback(due)


def _auc(truth: NDArray[np.int64], scores: NDArray[np.float64]) -> float | None:
    if len(np.unique(truth)) < 2:
        return None
    return float(roc_auc_score(truth, scores))


def _days(served: _Served, options: SimulationOptions, champions: list[int]) -> list[DayRecord]:
    pairs = zip(served.day, served.truth, strict=True)
    day = np.concatenate([np.full(len(t), d) for d, t in pairs])
    truth = np.concatenate(served.truth)
    live = np.concatenate(served.live)
    frozen = np.concatenate(served.frozen)
    records = []
    for d in range(options.days):
        mask = day == d
        if not mask.any():
            continue
        y, a, b = truth[mask], live[mask], frozen[mask]
        records.append(
            DayRecord(
                day=d,
                start=(options.start + d * DAY).isoformat(),
                n=int(mask.sum()),
                live_accuracy=float(((a >= 0.5) == y).mean()),
                frozen_accuracy=float(((b >= 0.5) == y).mean()),
                live_roc_auc=_auc(y, a),
                frozen_roc_auc=_auc(y, b),
                champion_version=champions[d] if d < len(champions) else champions[-1],
            )
        )
    return records


def _champion_by_day(history: list[dict[str, Any]], options: SimulationOptions) -> list[int]:
    """The champion serving at the end of each simulated day, from the promotion history."""
    events = sorted(history, key=lambda event: event["sequence"])
    champions = []
    for d in range(options.days):
        end = options.start + (d + 1) * DAY
        current = 1
        for event in events:
            if datetime.fromisoformat(str(event["at"])) <= end:
                current = int(event["to_version"])
        champions.append(current)
    return champions


def _collect(
    client: DriftwardenClient, served: _Served, options: SimulationOptions, scenario: Any
) -> SimulationResult:
    history = client.model_history()
    injections = [] if scenario is None else [
        {
            "kind": i.kind,
            "start": i.start.isoformat(),
            "end": None if i.end is None else i.end.isoformat(),
            "columns": list(i.columns),
            "magnitude": float(i.magnitude),
            "description": i.description,
        }
        for i in scenario.injections
    ]  # fmt: skip
    return SimulationResult(
        config={
            "scenarios": list(options.scenarios),
            "days": options.days,
            "rate": options.rate,
            "label_delay": str(options.label_delay),
            "seed": options.seed,
            "start": options.start.isoformat(),
            "end": (options.start + options.days * DAY).isoformat(),
            "monitor_interval": str(options.monitor_every),
            "window": str(options.window),
        },
        injections=injections,
        days=_days(served, options, _champion_by_day(history, options)),
        drift=client.drift(limit=_READ_LIMIT),
        performance=client.performance(limit=_READ_LIMIT),
        alerts=client.alerts(limit=_READ_LIMIT),
        retraining_runs=client.retraining_runs(limit=_READ_LIMIT),
        ab_tests=client.ab_tests(limit=_READ_LIMIT),
        history=history,
    )
