"""What every notification channel shares: the notification, the protocol, and delivery.

A channel sends one :class:`Notification` or raises :class:`DeliveryError`. :func:`deliver`
tries each channel a few times with exponential backoff and never raises: a channel that is
down must not break the monitor, so its failure is logged and returned as a
:class:`DeliveryOutcome` for the alert's history.

Channel names and error texts are shown to people and stored; they never carry a secret (a
webhook URL's path often holds a token, so a webhook is named by its host only).
"""

from __future__ import annotations

import logging
import math
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

from driftwarden.core.errors import DriftwardenError

if TYPE_CHECKING:
    from driftwarden.core.settings import AlertSettings

__all__ = [
    "Channel",
    "DeliveryError",
    "DeliveryOutcome",
    "Notification",
    "NotificationKind",
    "NotificationSeverity",
    "channels_from_settings",
    "deliver",
    "jsonable",
    "redact",
]

logger = logging.getLogger(__name__)

NotificationSeverity = Literal["info", "warning", "critical"]
NotificationKind = Literal["opened", "escalated", "reminder", "resolved"]

_SEVERITIES: tuple[str, ...] = get_args(NotificationSeverity)
_KINDS: tuple[str, ...] = get_args(NotificationKind)

# Longest error text kept in an outcome: enough for a status line, not a whole HTML page.
_MAX_ERROR_CHARS = 500


class DeliveryError(DriftwardenError):
    """A channel could not deliver a notification (refused, unreachable, timed out).

    The message names the channel and the cause, never a secret.
    """


def jsonable(value: Any) -> Any:
    """Turn ``value`` into JSON types (NaN and infinity become ``None``, datetimes ISO 8601
    text); what JSON cannot hold becomes its ``str()``."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        # JSON has no NaN or infinity; receivers such as Slack reject the body outright.
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date | time_of_day):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    tolist = getattr(value, "tolist", None)
    if callable(tolist):  # NumPy scalars and arrays
        return jsonable(tolist())
    return str(value)


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each non-empty secret in ``text`` with ``***``.

    Parameters
    ----------
    text : str
        An error message or log text.
    secrets : iterable of str or None
        Values that must not appear; ``None`` and empty strings are ignored.

    Returns
    -------
    str

    Examples
    --------
    >>> redact("POST /hooks/T0KEN failed", ["/hooks/T0KEN", None])
    'POST *** failed'
    """
    # Longest first, so a secret that contains another is replaced whole.
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


@dataclass(frozen=True, slots=True)
class Notification:
    """One message about one alert: it opened, escalated, is still open, or resolved.

    Parameters
    ----------
    alert_id : int
        The alert's id in the store.
    rule : str
        The rule that fired (``"feature_drift"``).
    subject : str
        What the rule fired on (a feature name), ``""`` when none.
    severity : {"info", "warning", "critical"}
        The alert's severity (for a resolution: the last one).
    kind : {"opened", "escalated", "reminder", "resolved"}
        Why this notification is sent.
    title : str
        Short human title (``"feature drift on tenure"``).
    message : str
        One sentence with the figures (``"PSI 0.41 against 0.25 on 800 rows"``).
    model_name : str
        Registered model name.
    model_version : int or None
        The model version, ``None`` for conditions of the model as a whole.
    value, threshold : float or None
        The measured value and the threshold it crossed.
    opened_at : datetime
        When the alert opened.
    at : datetime
        When this notification was made.
    evidence : dict, optional
        Figures behind the alert (the drift verdict, quality rates...).
    dashboard_url : str or None, optional
        Where a person can look at the alert.

    Raises
    ------
    ValueError
        If ``severity`` or ``kind`` is not one of the values above.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    >>> n = Notification(
    ...     alert_id=7, rule="feature_drift", subject="tenure", severity="critical",
    ...     kind="opened", title="feature drift on tenure",
    ...     message="PSI 0.41 against 0.25 on 800 rows", model_name="churn", model_version=3,
    ...     value=0.41, threshold=0.25, opened_at=when, at=when,
    ... )
    >>> n.text()
    '[CRITICAL] feature drift on tenure (model churn v3): PSI 0.41 against 0.25 on 800 rows. \
Alert #7 opened 2024-05-01T12:00:00+00:00.'
    >>> n.to_dict()["opened_at"]
    '2024-05-01T12:00:00+00:00'
    """

    alert_id: int
    rule: str
    subject: str
    severity: NotificationSeverity
    kind: NotificationKind
    title: str
    message: str
    model_name: str
    model_version: int | None
    value: float | None
    threshold: float | None
    opened_at: datetime
    at: datetime
    evidence: dict[str, Any] = field(default_factory=dict)
    dashboard_url: str | None = None

    def __post_init__(self) -> None:
        if self.severity not in _SEVERITIES:
            raise ValueError(
                f"notification severity must be one of {', '.join(_SEVERITIES)}, got "
                f"{self.severity!r}; conditions at 'ok' are not notified"
            )
        if self.kind not in _KINDS:
            raise ValueError(
                f"notification kind must be one of {', '.join(_KINDS)}, got {self.kind!r}"
            )

    @property
    def label(self) -> str:
        """``CRITICAL``, ``CRITICAL (escalated)``, ``WARNING (reminder)`` or ``RESOLVED``."""
        if self.kind == "resolved":
            return "RESOLVED"
        level = self.severity.upper()
        return level if self.kind == "opened" else f"{level} ({self.kind})"

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON types: datetimes in ISO 8601, non-finite floats as ``None``.

        Returns
        -------
        dict
            Ready for :func:`json.dumps` (with ``allow_nan=False``).
        """
        return {f.name: jsonable(getattr(self, f.name)) for f in fields(self)}

    def text(self) -> str:
        """One paragraph for people: label, title, model, message, when, and the link.

        Runs of whitespace, line breaks included, become single spaces.

        Returns
        -------
        str
        """
        model = f"model {self.model_name}"
        if self.model_version is not None:
            model += f" v{self.model_version}"
        when = f"Alert #{self.alert_id} opened {self.opened_at.isoformat(timespec='seconds')}"
        if self.kind == "resolved":
            when += f", resolved {self.at.isoformat(timespec='seconds')}"
        paragraph = f"[{self.label}] {self.title} ({model}): {self.message.rstrip('. ')}. {when}."
        if self.dashboard_url:
            paragraph += f" Details: {self.dashboard_url}"
        # Line breaks inside a title or message would split the paragraph in chat and mail.
        return " ".join(paragraph.split())


class Channel(Protocol):
    """Somewhere notifications go.

    Attributes
    ----------
    name : str
        Shown in logs and in the alert's history (``"log"``, ``"webhook:hooks.slack.com"``,
        ``"smtp:mail.example.com:587"``); never contains a secret.
    """

    name: str

    def send(self, notification: Notification) -> None:
        """Deliver ``notification`` once, or raise :class:`DeliveryError`."""


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """How the delivery of one notification through one channel ended.

    Parameters
    ----------
    channel : str
        The channel's name.
    delivered : bool
        Whether one of the attempts succeeded.
    attempts : int
        Attempts made (the successful one included).
    error : str or None
        The last attempt's error when not delivered, else ``None``; never holds a secret.
    """

    channel: str
    delivered: bool
    attempts: int
    error: str | None


def _describe(exc: Exception) -> str:
    text = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 3] + "..."


def _deliver_one(
    channel: Channel,
    notification: Notification,
    attempts: int,
    backoff_seconds: float,
    sleep: Callable[[float], None],
) -> DeliveryOutcome:
    context = {"channel": channel.name, "alert_id": notification.alert_id}
    error = ""
    for attempt in range(1, attempts + 1):
        try:
            channel.send(notification)
        except Exception as exc:
            error = _describe(exc)
            wait = backoff_seconds * 2 ** (attempt - 1)
            then = f"retrying in {wait:g} s" if attempt < attempts else "giving up"
            logger.warning(
                "delivery of alert %d through %s failed (attempt %d of %d), %s: %s",
                notification.alert_id, channel.name, attempt, attempts, then, error,
                # A DeliveryError is expected and explains itself; anything else is a bug in
                # the channel, whose traceback is needed to fix it.
                exc_info=not isinstance(exc, DeliveryError),
                extra={**context, "attempt": attempt},
            )  # fmt: skip
            if attempt < attempts:
                sleep(wait)
            continue
        if attempt > 1:
            logger.info(
                "alert %d delivered through %s at attempt %d",
                notification.alert_id, channel.name, attempt,
                extra={**context, "attempt": attempt},
            )  # fmt: skip
        return DeliveryOutcome(channel.name, delivered=True, attempts=attempt, error=None)
    return DeliveryOutcome(channel.name, delivered=False, attempts=attempts, error=error)


def deliver(
    channels: Iterable[Channel],
    notification: Notification,
    *,
    attempts: int,
    backoff_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> list[DeliveryOutcome]:
    """Send ``notification`` through each channel, retrying failures with backoff.

    Parameters
    ----------
    channels : iterable of Channel
        Tried one after the other, each independently of the others' outcome.
    notification : Notification
        What to send.
    attempts : int
        Tries per channel (at least 1).
    backoff_seconds : float
        Wait before the second try; doubled before each further one
        (``backoff``, ``2 * backoff``, ``4 * backoff``...).
    sleep : callable, optional
        Waits the given seconds; tests and simulated clocks pass their own.

    Returns
    -------
    list of DeliveryOutcome
        One per channel, in the order of ``channels``.

    Raises
    ------
    ValueError
        If ``attempts < 1`` or ``backoff_seconds < 0`` (never for a failing channel).

    Notes
    -----
    Any :class:`Exception` from a channel is caught, logged at WARNING with the channel's name
    and recorded in the outcome, so one broken channel neither stops the others nor the
    monitor. Channels are tried sequentially: the retries of a slow channel delay the next.
    """
    if attempts < 1:
        raise ValueError(
            f"attempts must be at least 1, got {attempts}; set alerts.delivery_attempts >= 1"
        )
    if not backoff_seconds >= 0:
        raise ValueError(
            f"backoff_seconds must be >= 0, got {backoff_seconds}; use 0 to retry at once"
        )
    return [
        _deliver_one(channel, notification, attempts, backoff_seconds, sleep)
        for channel in channels
    ]


def channels_from_settings(
    alerts: AlertSettings, *, ssl_context: ssl.SSLContext | None = None
) -> list[Channel]:
    """Build the channels that ``alerts`` configures.

    Parameters
    ----------
    alerts : AlertSettings
        ``log`` adds a :class:`~driftwarden.monitoring.channels.log.LogChannel`, each entry of
        ``webhooks`` a :class:`~driftwarden.monitoring.channels.webhook.WebhookSender`, and
        ``smtp`` a :class:`~driftwarden.monitoring.channels.smtp.SmtpSender`.
    ssl_context : ssl.SSLContext or None, optional
        Trust store for TLS (https webhooks and STARTTLS); ``None`` uses the system's.

    Returns
    -------
    list of Channel
        Log first, then the webhooks in order, then e-mail.

    Raises
    ------
    ConfigError
        If a webhook URL is not an absolute http(s) URL.
    """
    # Imported here: the channel modules import this one for Notification and DeliveryError.
    from driftwarden.monitoring.channels.log import LogChannel
    from driftwarden.monitoring.channels.smtp import SmtpSender
    from driftwarden.monitoring.channels.webhook import WebhookSender

    channels: list[Channel] = []
    if alerts.log:
        channels.append(LogChannel())
    channels.extend(
        WebhookSender.from_settings(hook, ssl_context=ssl_context) for hook in alerts.webhooks
    )
    if alerts.smtp is not None:
        channels.append(SmtpSender.from_settings(alerts.smtp, ssl_context=ssl_context))
    return channels
