"""The webhook channel: POST each notification as JSON, optionally signed.

The body suits Slack's incoming webhooks and programs alike::

    {"text": "<Notification.text()>", "alert": {<Notification.to_dict()>}}

With a secret, ``X-Driftwarden-Signature: sha256=<hex>`` carries the HMAC-SHA256 of the exact
body bytes under that secret, so the receiver can check that the body came from driftwarden
and was not altered (compare with :func:`hmac.compare_digest`).

The URL of an incoming webhook is itself a credential (Slack's path holds the token), so the
channel is named by host and port only, and neither the URL nor the secret appears in an error
or a log record.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
from typing import TYPE_CHECKING

import httpx

from driftwarden import __version__
from driftwarden.core.errors import ConfigError
from driftwarden.monitoring.channels.base import DeliveryError, Notification, redact

if TYPE_CHECKING:
    from driftwarden.core.settings import WebhookChannel

__all__ = ["SIGNATURE_HEADER", "WebhookSender", "sign"]

SIGNATURE_HEADER = "X-Driftwarden-Signature"

# Part of a refusal's body quoted in the error: Slack explains itself in a word or two
# ("invalid_token", "no_service"), a proxy in an HTML page we do not want whole.
_MAX_BODY_CHARS = 200


def sign(body: bytes, secret: str) -> str:
    """The signature header value of ``body`` under ``secret``.

    Parameters
    ----------
    body : bytes
        The exact bytes sent.
    secret : str
        The shared secret (UTF-8 encoded for the HMAC key).

    Returns
    -------
    str
        ``"sha256="`` followed by the hex HMAC-SHA256.

    Examples
    --------
    >>> sign(b'{"text":"hi"}', "s3cret")[:15]
    'sha256=033b6215'
    """
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _channel_name(url: httpx.URL) -> str:
    host = f"[{url.host}]" if ":" in url.host else url.host  # IPv6 literals keep brackets
    return f"webhook:{host}" if url.port is None else f"webhook:{host}:{url.port}"


class WebhookSender:
    """POST notifications to one webhook URL.

    Parameters
    ----------
    url : str
        Absolute ``http`` or ``https`` URL.
    secret : str or None, optional
        Signs each body (header ``X-Driftwarden-Signature``); ``None`` sends unsigned bodies.
    timeout_seconds : float, optional
        Limit on connecting, sending and reading the answer (each).
    ssl_context : ssl.SSLContext or None, optional
        Trust store for ``https``; ``None`` uses httpx's default (certifi).

    Raises
    ------
    ConfigError
        If ``url`` is not an absolute http(s) URL, or ``timeout_seconds`` is not positive.

    Notes
    -----
    Requests go straight to an :class:`httpx.HTTPTransport`, not through an
    :class:`httpx.Client`: the client logs every request's full URL at INFO, which would put
    the webhook's token in the logs. Proxy variables of the environment are therefore not
    used. Redirects are not followed: a 3xx answer is a failed delivery.

    Examples
    --------
    >>> WebhookSender("https://hooks.slack.com/services/T0/B0/XXXX").name
    'webhook:hooks.slack.com'
    """

    def __init__(
        self,
        url: str,
        *,
        secret: str | None = None,
        timeout_seconds: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL:
            # The parser's message may quote the URL, so it is not passed on.
            raise ConfigError(
                "webhook URL cannot be parsed; expected an absolute http(s) URL such as "
                "https://hooks.slack.com/services/..., check alerts.webhooks",
                key="alerts.webhooks",
            ) from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ConfigError(
                f"webhook URL must be an absolute http(s) URL, got one with scheme "
                f"{parsed.scheme or '(none)'!r} and host {parsed.host or '(none)'!r}; "
                "check alerts.webhooks",
                key="alerts.webhooks",
            )
        if not timeout_seconds > 0:
            raise ConfigError(
                f"webhook timeout must be positive, got {timeout_seconds}; check "
                "alerts.webhooks timeout_seconds",
                key="alerts.webhooks",
            )
        self.name = _channel_name(parsed)
        self.timeout_seconds = timeout_seconds
        self._url = parsed
        self._secret = secret
        self._ssl_context = ssl_context
        # Everything in the URL past the host may be a token; so may the secret.
        target = parsed.raw_path.decode("ascii", errors="replace")
        userinfo = parsed.userinfo.decode("ascii", errors="replace")
        self._secrets = [url, str(parsed), target if target != "/" else None, userinfo, secret]

    @classmethod
    def from_settings(
        cls, settings: WebhookChannel, *, ssl_context: ssl.SSLContext | None = None
    ) -> WebhookSender:
        """Build the sender of one ``[[alerts.webhooks]]`` entry.

        Parameters
        ----------
        settings : WebhookChannel
        ssl_context : ssl.SSLContext or None, optional

        Returns
        -------
        WebhookSender
        """
        secret = None if settings.secret is None else settings.secret.get_secret_value()
        return cls(
            settings.url,
            secret=secret,
            timeout_seconds=settings.timeout_seconds,
            ssl_context=ssl_context,
        )

    def __repr__(self) -> str:
        return f"WebhookSender(name={self.name!r}, signed={self._secret is not None})"

    def body(self, notification: Notification) -> bytes:
        """The exact bytes POSTed for ``notification`` (UTF-8 JSON).

        Parameters
        ----------
        notification : Notification

        Returns
        -------
        bytes
        """
        payload = {"text": notification.text(), "alert": notification.to_dict()}
        return json.dumps(payload, ensure_ascii=False, allow_nan=False).encode("utf-8")

    def send(self, notification: Notification) -> None:
        """POST ``notification`` once.

        Parameters
        ----------
        notification : Notification

        Raises
        ------
        DeliveryError
            On a transport error (refused, unreachable, timed out, TLS) or an answer outside
            2xx. The message names the channel, never the URL.
        """
        body = self.body(notification)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"driftwarden/{__version__}",
        }
        if self._secret is not None:
            headers[SIGNATURE_HEADER] = sign(body, self._secret)
        request = httpx.Request(
            "POST",
            self._url,
            headers=headers,
            content=body,
            extensions={"timeout": httpx.Timeout(self.timeout_seconds).as_dict()},
        )
        verify: ssl.SSLContext | bool = True if self._ssl_context is None else self._ssl_context
        try:
            with httpx.HTTPTransport(verify=verify) as transport:
                response = transport.handle_request(request)
                try:
                    answer = response.read()
                finally:
                    response.close()
        except httpx.HTTPError as exc:
            detail = redact(f"{type(exc).__name__}: {exc}", self._secrets)
            raise DeliveryError(
                f"{self.name}: POST failed ({detail}) within {self.timeout_seconds:g} s; "
                "check that the receiver is up and reachable from here"
            ) from None
        if not 200 <= response.status_code < 300:
            quoted = " ".join(answer.decode("utf-8", errors="replace").split())
            if len(quoted) > _MAX_BODY_CHARS:
                quoted = quoted[: _MAX_BODY_CHARS - 3] + "..."
            reason = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
            raise DeliveryError(
                f"{self.name}: answered {reason}"
                + (f" ({redact(quoted, self._secrets)})" if quoted else "")
                + "; expected a 2xx status, check the webhook URL and the receiving service"
            )
