"""The log channel: every notification as one record of the ``driftwarden.alerts`` logger.

On by default (``alerts.log``), so alerts are visible wherever the logs go even before a webhook
or e-mail is configured. Warning and critical alerts are logged at WARNING; info alerts and
resolutions at INFO.
"""

from __future__ import annotations

import logging

from driftwarden.monitoring.channels.base import Notification

__all__ = ["ALERTS_LOGGER", "LogChannel"]

ALERTS_LOGGER = "driftwarden.alerts"


class LogChannel:
    """Write each notification to the ``driftwarden.alerts`` logger.

    The record's message is :meth:`Notification.text`; its ``extra=`` context holds
    ``alert_id``, ``rule``, ``subject``, ``severity``, ``kind``, ``model_name`` and
    ``model_version``, so a JSON log shipper can filter on them.

    Examples
    --------
    >>> LogChannel().name
    'log'
    """

    name = "log"

    def __init__(self) -> None:
        self._logger = logging.getLogger(ALERTS_LOGGER)

    def __repr__(self) -> str:
        return "LogChannel()"

    def send(self, notification: Notification) -> None:
        """Log ``notification``; never raises :class:`DeliveryError`.

        Parameters
        ----------
        notification : Notification
        """
        quiet = notification.kind == "resolved" or notification.severity == "info"
        self._logger.log(
            logging.INFO if quiet else logging.WARNING,
            "%s",
            notification.text(),
            extra={
                "alert_id": notification.alert_id,
                "rule": notification.rule,
                "subject": notification.subject,
                "severity": notification.severity,
                "kind": notification.kind,
                "model_name": notification.model_name,
                "model_version": notification.model_version,
            },
        )
