"""The MLflow model registry: versions with their schema and reference profile, aliases, history."""

from driftwarden.registry.aliases import PromotionEvent, lineage
from driftwarden.registry.mlflow_registry import LoadedModel, ModelRegistry, ModelVersionInfo

__all__ = ["LoadedModel", "ModelRegistry", "ModelVersionInfo", "PromotionEvent", "lineage"]
