"""Prometheus metrics of one server, in their own registry (so several apps can share a process).

Names follow Prometheus conventions: a ``driftwarden_`` prefix, base units (seconds), ``_total``
on counters.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest

__all__ = ["ServerMetrics"]

# Latency buckets for a fast scoring endpoint: 0.5 ms to 2.5 s.
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ServerMetrics:
    """Every metric ``/metrics`` exposes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "driftwarden_requests_total",
            "Requests answered, by endpoint and HTTP status.",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.predict_requests = Counter(
            "driftwarden_predict_requests_total",
            "Prediction requests answered, by the model version and variant that answered them "
            "and HTTP status. A batch answered by both arms counts once as variant 'mixed' "
            "(version 'mixed'); a request no model answered counts as 'none'.",
            ["version", "variant", "status"],
            registry=self.registry,
        )
        self.predictions = Counter(
            "driftwarden_predictions_total",
            "Rows scored, by model version and variant (champion, challenger, shadow).",
            ["version", "variant"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "driftwarden_request_duration_seconds",
            "Time from receiving a request to answering it, by endpoint.",
            ["endpoint"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "driftwarden_requests_in_flight",
            "Requests being handled now.",
            registry=self.registry,
        )
        self.unseen_categories = Counter(
            "driftwarden_unseen_categories_total",
            "Categorical values never seen in the training data, by feature.",
            ["feature"],
            registry=self.registry,
        )
        self.log_queue_depth = Gauge(
            "driftwarden_log_queue_depth",
            "Predictions waiting to be committed to the prediction log.",
            registry=self.registry,
        )
        self.spool_rows = Gauge(
            "driftwarden_log_spool_rows",
            "Predictions held in the local spool while the database is unreachable.",
            registry=self.registry,
        )
        self.model = Info(
            "driftwarden_model",
            "The model versions loaded, by alias.",
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
