"""The e-mail channel: one plain-text message per notification, through an SMTP server.

The subject reads ``[driftwarden] CRITICAL: feature drift on tenure``; the body starts with
:meth:`Notification.text`, lists every field, and ends with the evidence as indented JSON.
The connection is upgraded with STARTTLS (on by default) before logging in, so the password
never crosses the network in clear; it never appears in an error or a log record either.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING

from driftwarden.core.errors import ConfigError
from driftwarden.monitoring.channels.base import DeliveryError, Notification, redact

if TYPE_CHECKING:
    from collections.abc import Sequence

    from driftwarden.core.settings import SmtpChannel

__all__ = ["SmtpSender", "build_message"]

logger = logging.getLogger(__name__)


def _one_line(text: str) -> str:
    # Header values may not hold line breaks (the email package refuses them).
    return " ".join(text.split())


def build_message(
    notification: Notification, *, sender: str, recipients: Sequence[str]
) -> EmailMessage:
    """The e-mail for ``notification``.

    Parameters
    ----------
    notification : Notification
    sender : str
        The ``From`` address.
    recipients : sequence of str
        The ``To`` addresses.

    Returns
    -------
    email.message.EmailMessage
        With ``Subject``, ``From``, ``To``, ``Date``, ``Message-ID`` and a UTF-8 plain-text body.
    """
    message = EmailMessage()
    message["Subject"] = _one_line(f"[driftwarden] {notification.label}: {notification.title}")
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(notification.at)
    # make_msgid() without a domain asks DNS for this host's name, which can take seconds.
    message["Message-ID"] = make_msgid(
        "driftwarden", domain=sender.rpartition("@")[2] or "localhost"
    )
    fields = notification.to_dict()
    evidence = json.dumps(fields.pop("evidence"), indent=2, sort_keys=True, ensure_ascii=False)
    width = max(len(key) for key in fields)
    lines = [
        notification.text(),
        "",
        *(f"{key:<{width}}  {'' if value is None else value}" for key, value in fields.items()),
        "",
        "evidence:",
        *("  " + line for line in evidence.splitlines()),
    ]
    message.set_content("\n".join(lines) + "\n")
    return message


class SmtpSender:
    """Send notifications by e-mail.

    Parameters
    ----------
    host : str
        SMTP server (a submission server, usually port 587).
    port : int, optional
    sender : str
        The ``From`` address (and envelope sender).
    recipients : sequence of str
        Who gets the alerts (at least one).
    username, password : str or None, optional
        Log in when ``username`` is set (after STARTTLS when that is on).
    starttls : bool, optional
        Upgrade the connection with STARTTLS before anything else; a server that does not
        offer it fails the delivery rather than receive the message in clear.
    timeout_seconds : float, optional
        Limit on connecting and on each exchange with the server.
    ssl_context : ssl.SSLContext or None, optional
        For STARTTLS; ``None`` uses :func:`ssl.create_default_context` (system trust store,
        host name checked).

    Raises
    ------
    ConfigError
        If ``recipients`` is empty or ``timeout_seconds`` is not positive.

    Examples
    --------
    >>> SmtpSender("mail.example.com", sender="dw@example.com", recipients=["ops@example.com"])
    SmtpSender(name='smtp:mail.example.com:587', recipients=1, starttls=True, login=False)
    """

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        sender: str,
        recipients: Sequence[str],
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        timeout_seconds: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not recipients:
            raise ConfigError(
                "smtp channel needs at least one recipient, got none; set alerts.smtp.recipients",
                key="alerts.smtp.recipients",
            )
        if not timeout_seconds > 0:
            raise ConfigError(
                f"smtp timeout must be positive, got {timeout_seconds}; set "
                "alerts.smtp.timeout_seconds",
                key="alerts.smtp.timeout_seconds",
            )
        self.name = f"smtp:{host}:{port}"
        self.host = host
        self.port = port
        self.sender = sender
        self.recipients = list(recipients)
        self.username = username
        self.starttls = starttls
        self.timeout_seconds = timeout_seconds
        self._password = password
        self._ssl_context = ssl_context

    @classmethod
    def from_settings(
        cls, settings: SmtpChannel, *, ssl_context: ssl.SSLContext | None = None
    ) -> SmtpSender:
        """Build the sender of the ``[alerts.smtp]`` section.

        Parameters
        ----------
        settings : SmtpChannel
        ssl_context : ssl.SSLContext or None, optional

        Returns
        -------
        SmtpSender
        """
        password = None if settings.password is None else settings.password.get_secret_value()
        return cls(
            settings.host,
            settings.port,
            sender=settings.sender,
            recipients=settings.recipients,
            username=settings.username,
            password=password,
            starttls=settings.starttls,
            timeout_seconds=settings.timeout_seconds,
            ssl_context=ssl_context,
        )

    def __repr__(self) -> str:
        return (
            f"SmtpSender(name={self.name!r}, recipients={len(self.recipients)}, "
            f"starttls={self.starttls}, login={self.username is not None})"
        )

    def send(self, notification: Notification) -> None:
        """Send ``notification`` as one e-mail to every recipient.

        Parameters
        ----------
        notification : Notification

        Raises
        ------
        DeliveryError
            If the server cannot be reached, refuses STARTTLS, the login, the sender or every
            recipient, or the connection breaks. A message refused for some recipients only
            counts as delivered; the refused ones are logged at WARNING.
        """
        message = build_message(notification, sender=self.sender, recipients=self.recipients)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds) as smtp:
                if self.starttls:
                    context = self._ssl_context or ssl.create_default_context()
                    smtp.starttls(context=context)
                if self.username is not None:
                    smtp.login(self.username, self._password or "")
                refused = smtp.send_message(
                    message, from_addr=self.sender, to_addrs=self.recipients
                )
        except (smtplib.SMTPException, OSError) as exc:
            detail = redact(f"{type(exc).__name__}: {exc}", [self._password])
            raise DeliveryError(
                f"{self.name}: sending failed ({detail}); check alerts.smtp (host, port, "
                "starttls, username and password) and that the server accepts the sender "
                "and recipients"
            ) from None
        if refused:
            logger.warning(
                "alert %d e-mailed through %s, but refused for %s",
                notification.alert_id, self.name, ", ".join(sorted(refused)),
                extra={"channel": self.name, "alert_id": notification.alert_id},
            )  # fmt: skip
