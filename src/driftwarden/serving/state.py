"""Everything one server holds: settings, clock, store, writer, models, router, metrics."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from driftwarden.core import Clock, Settings
from driftwarden.monitoring import Monitor
from driftwarden.retraining import Retrainer
from driftwarden.schema import FeatureSchema, PredictionRequest
from driftwarden.serving.metrics import ServerMetrics
from driftwarden.serving.model_router import ModelRouter
from driftwarden.serving.models import ModelSet
from driftwarden.serving.shared_routing import SharedRouting
from driftwarden.store import PredictionWriter

__all__ = ["ServingState"]


@dataclass(slots=True)
class ServingState:
    """The state of one server; routes reach it through ``request.app.state.serving``."""

    settings: Settings
    clock: Clock
    engine: Engine
    writer: PredictionWriter
    models: ModelSet
    schema: FeatureSchema | None
    request_model: type[PredictionRequest] | None
    metrics: ServerMetrics
    monitor: Monitor
    retrainer: Retrainer
    router: ModelRouter = field(default_factory=ModelRouter)
    known_categories: dict[str, frozenset[str]] = field(init=False)
    routing: SharedRouting = field(init=False)

    @property
    def model_name(self) -> str:
        """The registered model this server serves and monitors."""
        return self.models.registry.name

    def __post_init__(self) -> None:
        self.routing = SharedRouting(
            self.router, self.engine, self.models.registry.name, self.clock
        )
        # Looked up for every categorical value of every request, to count unseen categories.
        features = [] if self.schema is None else self.schema.features
        self.known_categories = {
            f.name: frozenset(f.categories)
            for f in features
            if f.kind == "categorical" and f.categories
        }
