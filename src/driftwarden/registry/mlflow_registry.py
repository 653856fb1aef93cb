"""The model registry on MLflow: runs, versions, the champion/challenger aliases, history.

This is the only module that imports MLflow. MLflow exceptions are translated here into
:class:`~driftwarden.core.errors.RegistryError` (or ``NotFoundError``), so nothing above the
registry depends on MLflow's error types.

The embedded default keeps everything under ``.driftwarden/``: an SQLite tracking store and a
folder of artifacts. Pointing ``registry.tracking_uri`` at an MLflow tracking server is all it
takes to share one registry between machines: model files then go where the server keeps
artifacts (its ``--artifacts-destination`` or ``--default-artifact-root``), so every machine can
load them, unless ``registry.artifact_location`` is set explicitly (a folder every machine
mounts, say).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

import mlflow
import mlflow.sklearn
import pandas as pd
import sklearn
import skops.io as skops_io
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.pipeline import Pipeline

from driftwarden.core.clock import Clock, SystemClock
from driftwarden.core.errors import ConfigError, NotFoundError, RegistryError
from driftwarden.core.settings import RegistrySettings
from driftwarden.registry.aliases import PromotionEvent, lineage
from driftwarden.registry.artifacts import (
    ARTIFACT_DIR,
    ATTRIBUTIONS_FILE,
    HOLDOUT_SAMPLE_FILE,
    PROFILE_FILE,
    REFERENCE_SAMPLE_FILE,
    SCHEMA_FILE,
    TAG_PREFIX,
    git_commit,
    version_tags,
    write_artifacts,
)
from driftwarden.schema import FeatureSchema, Task
from driftwarden.stats import ReferenceProfile
from driftwarden.training import TrainingResult, is_regression_model

__all__ = ["LoadedModel", "ModelRegistry", "ModelVersionInfo"]

logger = logging.getLogger(__name__)

_HISTORY_TAG = f"{TAG_PREFIX}history."
_MODEL_ARTIFACT = "model"
Progress = Callable[[str], None]
# Tracking URIs of a server, which keeps the artifacts itself; any other URI (sqlite:, file:, a
# path, a database) is a store this process writes to directly, artifacts included.
_SERVER_SCHEMES = frozenset({"http", "https", "databricks"})


@dataclass(frozen=True, slots=True)
class ModelVersionInfo:
    """A registered version as ``models list`` shows it."""

    version: int
    aliases: tuple[str, ...]
    run_id: str
    created_at: datetime
    metrics: dict[str, float]
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def task(self) -> str:
        """The version's learning task, from its ``task`` tag (``"binary_classification"`` for
        a version registered before tasks were tagged)."""
        return self.tags.get("task", "binary_classification")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "version": self.version,
            "aliases": list(self.aliases),
            "run_id": self.run_id,
            "created_at": self.created_at.isoformat(),
            "metrics": dict(self.metrics),
            "tags": dict(self.tags),
        }


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """A model version ready to score, with the schema and reference profile it was trained with."""

    version: int
    model: Pipeline
    schema: FeatureSchema
    profile: ReferenceProfile
    run_id: str
    aliases: tuple[str, ...]

    @property
    def task(self) -> Task:
        """The learning task: ``"binary_classification"`` or ``"regression"`` (the schema's)."""
        return self.schema.task


# MLflow's error codes for an alias or a registered model that does not exist.
_ABSENT = frozenset({"INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"})


@contextlib.contextmanager
def _translate(action: str) -> Iterator[None]:
    """Turn MLflow's exceptions into ours, keeping the original as the cause."""
    try:
        yield
    except MlflowException as exc:
        code = getattr(exc, "error_code", "")
        if code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
            raise NotFoundError(f"{action}: {exc.message}") from exc
        raise RegistryError(f"{action} failed: {exc.message}") from exc
    except OSError as exc:
        raise RegistryError(f"{action} failed: {exc}") from exc


def _quiet_mlflow() -> None:
    # MLflow announces every registration on INFO; our CLI reports progress itself.
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


class ModelRegistry:
    """Versions of one registered model, and its champion and challenger.

    Parameters
    ----------
    settings : RegistrySettings
        Tracking URI, artifact folder, model name and alias names.
    clock : Clock, optional
        Timestamps of promotion events (simulated time in simulations).
    home : Path, optional
        The settings' ``home``. An ``artifact_location`` equal to the one derived from it counts
        as not set, so that with a tracking server the server decides where model files go.
        Defaults to the default home (``.driftwarden``).
    """

    def __init__(
        self, settings: RegistrySettings, *, clock: Clock | None = None, home: Path | None = None
    ) -> None:
        _quiet_mlflow()
        self.settings = settings
        self._artifact_location = _artifact_location(settings, home)
        self.name = settings.model_name
        self.champion = settings.champion_alias
        self.challenger = settings.challenger_alias
        self._clock = clock or SystemClock()
        uri = settings.tracking_uri
        if uri.startswith("sqlite:///"):
            # Absolute, because MLflow caches its store per URI string: a relative path would
            # keep pointing at the database of the directory it was first opened from.
            database = Path(uri.removeprefix("sqlite:///")).resolve()
            database.parent.mkdir(parents=True, exist_ok=True)
            uri = f"sqlite:///{database.as_posix()}"
        if settings.token is not None:
            os.environ.setdefault("MLFLOW_TRACKING_TOKEN", settings.token.get_secret_value())
        # With a tracking server, MLflow prints each finished run's address to standard output,
        # where the CLI writes its results (to be piped); setdefault leaves a user's choice alone.
        os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
        self._uri = uri
        with _translate(f"connecting to the MLflow tracking store at {uri}"):
            self._client = MlflowClient(tracking_uri=uri, registry_uri=uri)

    # -- registering ---------------------------------------------------------------------

    def _experiment_id(self) -> str:
        experiment = self._client.get_experiment_by_name(self.name)
        if experiment is not None:
            return str(experiment.experiment_id)
        if self._artifact_location is None:
            return str(self._client.create_experiment(self.name))
        location = self._artifact_location.resolve()
        location.mkdir(parents=True, exist_ok=True)
        return str(self._client.create_experiment(self.name, artifact_location=location.as_uri()))

    def register(
        self,
        result: TrainingResult,
        *,
        alias: str | None = "auto",
        trigger: str = "manual",
        extra_tags: Mapping[str, str] | None = None,
        progress: Progress | None = None,
    ) -> ModelVersionInfo:
        """Log ``result`` as an MLflow run and register it as a new version.

        Parameters
        ----------
        result : TrainingResult
        alias : {"auto", "champion", "challenger", None}
            ``"auto"``: champion when there is none yet, otherwise challenger. ``None``: no alias.
        trigger : str
            Why this training ran (``manual``, ``drift``, ``schedule``...), stored as a tag.
        extra_tags : mapping, optional
            More tags of the version (a retraining's run and schema changes), stored with the
            ``driftwarden.`` prefix like the others.
        progress : callable, optional
            Called with a short message as each step starts.

        Raises
        ------
        RegistryError
            MLflow failed; the run is marked failed and no version is left registered.
        """
        say = progress or (lambda message: logger.info(message))
        if alias not in ("auto", self.champion, self.challenger, None):
            raise ConfigError(
                f"alias must be 'auto', {self.champion!r}, {self.challenger!r} or None, "
                f"got {alias!r}"
            )
        trained_at = self._clock.now().isoformat()
        commit = git_commit()
        tags = version_tags(result, commit=commit, trained_at=trained_at)
        tags[f"{TAG_PREFIX}trigger"] = trigger
        tags.update({f"{TAG_PREFIX}{key}": value for key, value in (extra_tags or {}).items()})
        with _translate("logging the training run"):
            experiment_id = self._experiment_id()
            run = self._client.create_run(
                experiment_id,
                tags={**tags, **({"mlflow.source.git.commit": commit} if commit else {})},
                run_name=f"train-{trained_at[:19]}",
            )
        run_id = run.info.run_id
        version: str | None = None
        try:
            with _translate("logging the training run"):
                say("logging parameters, metrics and artifacts to MLflow")
                params = {**result.params.to_dict(), "holdout": result.holdout,
                          "n_train": result.n_train, "n_holdout": result.n_holdout}  # fmt: skip
                for key, value in params.items():
                    self._client.log_param(run_id, key, value)
                metrics = _numbers(result.metrics.to_dict())
                train = {
                    f"train_{k}": v for k, v in _numbers(result.train_metrics.to_dict()).items()
                }
                for key, value in {**metrics, **train}.items():
                    self._client.log_metric(run_id, key, float(value))
                for feature, importance in result.importances.items():
                    self._client.log_metric(run_id, f"importance.{feature}", importance)
                with tempfile.TemporaryDirectory() as folder:
                    write_artifacts(result, Path(folder))
                    self._client.log_artifacts(run_id, folder, ARTIFACT_DIR)
                say("saving the model")
                # Saved locally and uploaded through the client: MLflow's fluent log_model works
                # on process-global tracking state, which a library must not change.
                with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
                    # MLflow remarks on its own pyfunc wrapper's type hints; nothing to act on.
                    warnings.filterwarnings("ignore", ".*Any type hint is inferred", UserWarning)
                    local = Path(folder, _MODEL_ARTIFACT)
                    mlflow.sklearn.save_model(
                        result.model,
                        local,
                        # Given explicitly: inferring requirements costs seconds per model.
                        pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
                        serialization_format="skops",
                        skops_trusted_types=_trusted_types(result.model),
                    )
                    self._client.log_artifacts(run_id, str(local), _MODEL_ARTIFACT)
                say(f"registering a new version of {self.name!r}")
                self._ensure_registered_model()
                source = f"{run.info.artifact_uri}/{_MODEL_ARTIFACT}"
                created = self._client.create_model_version(
                    self.name, source, run_id=run_id, tags=tags
                )
                version = str(created.version)
                chosen = self._choose_alias(alias)
                if chosen == self.champion:
                    self._move_champion(
                        int(version), "promote", reason="first version", actor="train"
                    )
                elif chosen is not None:
                    self._client.set_registered_model_alias(self.name, chosen, version)
                self._client.set_terminated(run_id, "FINISHED")
        except BaseException:
            self._abandon(run_id, version)
            raise
        return self.get_version(int(version))

    def _abandon(self, run_id: str, version: str | None) -> None:
        """Undo a half-done registration: nothing registered, the run marked failed."""
        with contextlib.suppress(MlflowException, OSError):
            if version is not None:
                self._client.delete_model_version(self.name, version)
        with contextlib.suppress(MlflowException, OSError):
            self._client.set_terminated(run_id, "FAILED")

    def _ensure_registered_model(self) -> None:
        try:
            self._client.get_registered_model(self.name)
        except MlflowException:
            self._client.create_registered_model(self.name)

    def _choose_alias(self, alias: str | None) -> str | None:
        if alias != "auto":
            return alias
        return self.challenger if self.alias_version(self.champion) is not None else self.champion

    # -- reading ---------------------------------------------------------------------------

    def alias_version(self, alias: str) -> int | None:
        """The version an alias points to, or ``None`` when the alias (or the model) does not
        exist.

        Raises
        ------
        RegistryError
            If the registry cannot answer (a tracking server that is down): "no alias" would
            make every server unload the model it serves.
        """
        try:
            return int(self._client.get_model_version_by_alias(self.name, alias).version)
        except MlflowException as exc:
            # A missing alias is an invalid parameter to MLflow; a missing model does not exist.
            if getattr(exc, "error_code", "") in _ABSENT:
                return None
            raise RegistryError(
                f"reading alias {alias!r} of {self.name!r} failed: {exc.message}"
            ) from exc

    def _aliases(self) -> dict[int, tuple[str, ...]]:
        try:
            model = self._client.get_registered_model(self.name)
        except MlflowException:
            return {}
        by_version: dict[int, list[str]] = {}
        for alias, version in (model.aliases or {}).items():
            by_version.setdefault(int(version), []).append(alias)
        return {version: tuple(sorted(names)) for version, names in by_version.items()}

    def list_versions(self) -> list[ModelVersionInfo]:
        """Every version, newest first, with aliases, holdout metrics and training dates."""
        with _translate("listing model versions"):
            found = self._client.search_model_versions(f"name='{self.name}'")
            aliases = self._aliases()
        versions = [_info(v, aliases.get(int(v.version), ())) for v in found]
        return sorted(versions, key=lambda info: -info.version)

    def get_version(self, version: int) -> ModelVersionInfo:
        """One version.

        Raises
        ------
        NotFoundError
            The version does not exist.
        """
        try:
            found = self._client.get_model_version(self.name, str(version))
        except MlflowException as exc:
            known = [v.version for v in self.list_versions()]
            raise NotFoundError(
                f"model {self.name!r} has no version {version} (versions: "
                f"{', '.join(map(str, known)) or 'none yet; run driftwarden train'})"
            ) from exc
        return _info(found, self._aliases().get(int(found.version), ()))

    def load(self, ref: str | int | None = None) -> LoadedModel:
        """Load a version (by number or alias; default the champion) with schema and profile.

        Raises
        ------
        NotFoundError
            No such version, or the alias points nowhere.
        RegistryError
            The version was trained for a task this driftwarden does not know (its ``task``
            tag), its task tag, schema and model disagree on the task (a classifier tagged or
            described as a regression, say), or its files cannot be read.
        """
        ref = self.champion if ref is None else ref
        if isinstance(ref, int) or str(ref).isdigit():
            info = self.get_version(int(ref))
        else:
            version = self.alias_version(str(ref))
            if version is None:
                raise NotFoundError(
                    f"alias {ref!r} of model {self.name!r} points to no version; "
                    "train one (driftwarden train) or promote a version"
                )
            info = self.get_version(version)
        task = info.tags.get("task")
        # Refused before anything is downloaded: a model of another task would be scored, and
        # monitored, as a binary classifier. A version without the tag was not registered by
        # driftwarden; its artifacts decide whether it loads.
        if task is not None and task not in _TASKS:
            raise RegistryError(
                f"version {info.version} of model {self.name!r} was trained for task {task!r}, "
                f"which this driftwarden does not know (it knows {', '.join(map(repr, _TASKS))}); "
                "upgrade driftwarden, or promote or load another version"
            )
        with _translate(f"loading version {info.version}"), tempfile.TemporaryDirectory() as tmp:
            model_folder = self._client.download_artifacts(info.run_id, _MODEL_ARTIFACT, tmp)
            model = mlflow.sklearn.load_model(model_folder)
            folder = self._client.download_artifacts(info.run_id, ARTIFACT_DIR, tmp)
            schema = FeatureSchema.from_json(Path(folder, SCHEMA_FILE).read_text("utf-8"))
            profile = ReferenceProfile.from_json(Path(folder, PROFILE_FILE).read_text("utf-8"))
        # Scores mean different things by task (a probability or a predicted value), and so do
        # the monitor's metrics: a version whose parts disagree would be served as what it isn't.
        regressor = is_regression_model(model)
        if (task is not None and task != schema.task) or regressor != schema.is_regression:
            tagged = "untagged" if task is None else f"tagged {task!r}"
            raise RegistryError(
                f"version {info.version} of model {self.name!r} disagrees with itself on its "
                f"task: it is {tagged}, its schema is for {schema.task!r} and its model is "
                f"{'a regressor' if regressor else 'a classifier'}, so it was changed outside "
                "driftwarden; register it again (driftwarden train), or promote or load another "
                "version"
            )
        return LoadedModel(info.version, model, schema, profile, info.run_id, info.aliases)

    def load_profile(self, version: int) -> ReferenceProfile:
        """The reference profile of a version, without downloading its model.

        Raises
        ------
        NotFoundError
            No such version.
        RegistryError
            Its files cannot be read.
        """
        info = self.get_version(version)
        path = f"{ARTIFACT_DIR}/{PROFILE_FILE}"
        action = f"loading the profile of version {version}"
        with _translate(action), tempfile.TemporaryDirectory() as tmp:
            local = self._client.download_artifacts(info.run_id, path, tmp)
            return ReferenceProfile.from_json(Path(local).read_text("utf-8"))

    def load_sample(
        self, version: int, which: Literal["reference", "holdout"]
    ) -> pd.DataFrame | None:
        """The sample of training (``reference``) or holdout features kept with a version, or
        None for a version registered without one.

        Raises
        ------
        NotFoundError
            No such version.
        RegistryError
            Its files cannot be read.
        """
        name = REFERENCE_SAMPLE_FILE if which == "reference" else HOLDOUT_SAMPLE_FILE
        found = self._optional_artifact(version, name)
        return None if found is None else pd.read_parquet(io.BytesIO(found))

    def load_attributions(self, version: int) -> dict[str, Any] | None:
        """The holdout's attribution profile kept with a version (the JSON of
        ``driftwarden.explain.AttributionProfile``), or None without one."""
        found = self._optional_artifact(version, ATTRIBUTIONS_FILE)
        return None if found is None else dict(json.loads(found))

    def _optional_artifact(self, version: int, name: str) -> bytes | None:
        info = self.get_version(version)
        with _translate(f"reading {name} of version {version}"):
            listed = {f.path for f in self._client.list_artifacts(info.run_id, ARTIFACT_DIR)}
            path = f"{ARTIFACT_DIR}/{name}"
            if path not in listed:
                return None
            with tempfile.TemporaryDirectory() as tmp:
                return Path(self._client.download_artifacts(info.run_id, path, tmp)).read_bytes()

    # -- promotion -------------------------------------------------------------------------

    def history(self) -> list[PromotionEvent]:
        """Every champion move, oldest first."""
        try:
            model = self._client.get_registered_model(self.name)
        except MlflowException:
            return []
        events = [
            PromotionEvent.from_json(value)
            for key, value in (model.tags or {}).items()
            if key.startswith(_HISTORY_TAG)
        ]
        return sorted(events, key=lambda event: event.sequence)

    def _move_champion(
        self, version: int, action: str, *, reason: str, actor: str
    ) -> PromotionEvent:
        events = self.history()
        event = PromotionEvent(
            sequence=(events[-1].sequence + 1) if events else 1,
            action="promote" if action == "promote" else "rollback",
            alias=self.champion,
            from_version=self.alias_version(self.champion),
            to_version=version,
            at=self._clock.now().astimezone(UTC),
            reason=reason,
            actor=actor,
        )
        # The history entry is written before the alias moves: a crash in between leaves an
        # event for a move that did not happen, which the next promote or rollback repairs,
        # rather than a move nobody recorded.
        self._client.set_registered_model_tag(
            self.name, f"{_HISTORY_TAG}{event.sequence:06d}", event.to_json()
        )
        self._client.set_registered_model_alias(self.name, self.champion, str(version))
        if self.alias_version(self.challenger) == version:
            self._client.delete_registered_model_alias(self.name, self.challenger)
        return event

    def promote(self, version: int, *, reason: str = "", actor: str = "cli") -> PromotionEvent:
        """Make ``version`` the champion (a challenger alias on it is removed).

        Raises
        ------
        NotFoundError
            No such version.
        ConfigError
            It is the champion already.
        """
        self.get_version(version)
        if self.alias_version(self.champion) == version:
            raise ConfigError(f"version {version} is already the {self.champion}")
        with _translate(f"promoting version {version}"):
            return self._move_champion(version, "promote", reason=reason, actor=actor)

    def set_challenger(self, version: int) -> None:
        """Point the challenger alias at ``version``."""
        self.get_version(version)
        with _translate(f"setting the {self.challenger} to version {version}"):
            self._client.set_registered_model_alias(self.name, self.challenger, str(version))

    def clear_challenger(self) -> None:
        """Remove the challenger alias (nothing happens when it points nowhere)."""
        if self.alias_version(self.challenger) is None:
            return
        with _translate(f"removing the {self.challenger} alias"):
            self._client.delete_registered_model_alias(self.name, self.challenger)

    def rollback(self, *, reason: str = "", actor: str = "cli") -> PromotionEvent:
        """Return the champion alias to the champion before the current one.

        Raises
        ------
        NotFoundError
            There is no earlier champion to return to.
        RegistryError
            The alias was moved outside driftwarden, so the history does not say what "before"
            is; promote a version explicitly instead.
        """
        stack = lineage(self.history())
        current = self.alias_version(self.champion)
        if current is None or len(stack) < 2:
            raise NotFoundError(
                f"there is no earlier {self.champion} to roll back to "
                f"(champion history: {stack or 'empty'})"
            )
        if stack[-1] != current:
            raise RegistryError(
                f"the {self.champion} alias points to version {current}, but the promotion "
                f"history ends at version {stack[-1]}: it was moved outside driftwarden. "
                "Promote the version you want explicitly."
            )
        with _translate("rolling back"):
            return self._move_champion(stack[-2], "rollback", reason=reason, actor=actor)


_TASKS: tuple[str, ...] = get_args(Task)


def _artifact_location(settings: RegistrySettings, home: Path | None) -> Path | None:
    """The folder a new experiment keeps its artifacts in, or ``None`` to leave it to the server.

    A store this process writes to directly needs a folder. A tracking server has its own
    artifact store, which every client reaches through it; a local folder given to it instead
    would hold the model files on this machine only, out of reach of every other one. So with a
    server, the folder is passed only if the user set it: a location equal to the one derived
    from ``home`` (the settings fill it in when it is unset) counts as not set.
    """
    if urlsplit(settings.tracking_uri).scheme.lower() not in _SERVER_SCHEMES:
        return Path(settings.artifact_location)
    derived = Path(home) / "mlartifacts" if home is not None else _DEFAULT_ARTIFACT_LOCATION
    if Path(settings.artifact_location) == derived:
        return None
    return Path(settings.artifact_location)


_DEFAULT_ARTIFACT_LOCATION = Path(RegistrySettings.model_fields["artifact_location"].default)


def _trusted_types(model: Pipeline) -> list[str]:
    """The types skops must be told to trust to load ``model``: scikit-learn's own, no others.

    skops (a format that runs no arbitrary code at load, unlike pickle) refuses every type not on
    its default list; a stock scikit-learn pipeline still needs a few of scikit-learn's internals.
    Anything outside scikit-learn is refused here, before a model that could not be loaded safely
    is registered.
    """
    untrusted = skops_io.get_untrusted_types(data=skops_io.dumps(model))
    foreign = [t for t in untrusted if not t.startswith("sklearn.") and t not in _ALSO_TRUSTED]
    if foreign:
        raise RegistryError(
            f"the model holds types outside scikit-learn that would have to be trusted at load "
            f"time: {', '.join(foreign)}; use stock scikit-learn estimators"
        )
    return list(untrusted)


_ALSO_TRUSTED = frozenset({"functools.partial"})


def _numbers(values: dict[str, Any]) -> dict[str, float]:
    """The entries that are numbers (not None, not bools), as floats."""
    return {
        key: float(value)
        for key, value in values.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def _info(version: Any, aliases: tuple[str, ...]) -> ModelVersionInfo:
    tags = {k: v for k, v in (version.tags or {}).items() if k.startswith(TAG_PREFIX)}
    metrics = {
        key.removeprefix(f"{TAG_PREFIX}metric."): float(value)
        for key, value in tags.items()
        if key.startswith(f"{TAG_PREFIX}metric.")
    }
    created = datetime.fromtimestamp(int(version.creation_timestamp) / 1000, tz=UTC)
    return ModelVersionInfo(
        version=int(version.version),
        aliases=aliases,
        run_id=str(version.run_id),
        created_at=created,
        metrics=metrics,
        tags={k.removeprefix(TAG_PREFIX): v for k, v in tags.items()},
    )
