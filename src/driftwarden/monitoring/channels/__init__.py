"""Where alert notifications go: the log, webhooks (Slack-compatible JSON) and e-mail.

:func:`channels_from_settings` builds the channels that ``[alerts]`` configures, and
:func:`deliver` sends one :class:`Notification` through each of them with retries, recording
failures instead of raising them.
"""

from driftwarden.monitoring.channels.base import (
    Channel,
    DeliveryError,
    DeliveryOutcome,
    Notification,
    NotificationKind,
    NotificationSeverity,
    channels_from_settings,
    deliver,
    jsonable,
    redact,
)
from driftwarden.monitoring.channels.log import ALERTS_LOGGER, LogChannel
from driftwarden.monitoring.channels.smtp import SmtpSender, build_message
from driftwarden.monitoring.channels.webhook import SIGNATURE_HEADER, WebhookSender, sign

__all__ = [
    "ALERTS_LOGGER",
    "SIGNATURE_HEADER",
    "Channel",
    "DeliveryError",
    "DeliveryOutcome",
    "LogChannel",
    "Notification",
    "NotificationKind",
    "NotificationSeverity",
    "SmtpSender",
    "WebhookSender",
    "build_message",
    "channels_from_settings",
    "deliver",
    "jsonable",
    "redact",
    "sign",
]
