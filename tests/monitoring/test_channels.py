"""Notification channels against real servers: an HTTP receiver and an aiosmtpd SMTP server."""

from __future__ import annotations

import enum
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import ssl
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import driftwarden
from driftwarden.core.errors import ConfigError, DriftwardenError
from driftwarden.core.settings import AlertSettings, SmtpChannel
from driftwarden.monitoring import channels
from driftwarden.monitoring.channels import (
    SIGNATURE_HEADER,
    DeliveryError,
    DeliveryOutcome,
    LogChannel,
    Notification,
    SmtpSender,
    WebhookSender,
    build_message,
    channels_from_settings,
    deliver,
    redact,
    sign,
)

OPENED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
NOW = datetime(2024, 5, 1, 13, 30, tzinfo=UTC)
TOKEN = "T0AAA/B0BBB/xoxSECRETtoken42"
HOOK_SECRET = "hook-signing-secret-9f8e"


# The same account the SMTP server fixture (conftest) accepts.
SMTP_USER = "alerts"
SMTP_PASSWORD = "pa55-w0rd-never-shown"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_notification(**changes) -> Notification:
    fields: dict[str, Any] = {
        "alert_id": 12,
        "rule": "feature_drift",
        "subject": "tenure",
        "severity": "critical",
        "kind": "opened",
        "title": "feature drift on tenure",
        "message": "PSI 0.41 against 0.25 on 800 rows (version 3)",
        "model_name": "churn",
        "model_version": 3,
        "value": 0.41,
        "threshold": 0.25,
        "opened_at": OPENED,
        "at": NOW,
        "evidence": {"method": "psi", "statistic": 0.41, "bins": [0.1, 0.2]},
    }
    fields.update(changes)
    return Notification(**fields)


class Waits:
    """A `sleep` that records the waits instead of sleeping."""

    def __init__(self):
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def assert_no_secret_logged(caplog, *secrets: str) -> None:
    for record in caplog.records:
        text = record.getMessage() + " " + repr(vars(record))
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked into a log record of {record.name}"
    for secret in secrets:
        assert secret not in caplog.text


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A CA and a server certificate for 127.0.0.1 and localhost, as PEM files."""
    folder = tmp_path_factory.mktemp("tls")
    start = datetime.now(UTC) - timedelta(hours=1)
    end = start + timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "driftwarden test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = {"ca": folder / "ca.pem", "cert": folder / "server.pem", "key": folder / "server.key"}
    paths["ca"].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.fixture
def client_tls(certificates) -> ssl.SSLContext:
    """A client context that trusts the test CA only."""
    return ssl.create_default_context(cafile=str(certificates["ca"]))


@pytest.fixture
def server_tls(certificates) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates["cert"], certificates["key"])
    return context


# -- Notification --------------------------------------------------------------------------------


def test_notification_text_reads_as_one_paragraph():
    text = make_notification().text()
    assert text == (
        "[CRITICAL] feature drift on tenure (model churn v3): PSI 0.41 against 0.25 on 800 rows "
        "(version 3). Alert #12 opened 2024-05-01T12:00:00+00:00."
    )
    assert "\n" not in text


def test_notification_text_of_a_resolution_names_both_times_and_the_link():
    n = make_notification(
        kind="resolved",
        model_version=None,
        message="many features drifted.",
        dashboard_url="https://dw.example.com/alerts/12",
    )
    assert n.label == "RESOLVED"
    assert n.text() == (
        "[RESOLVED] feature drift on tenure (model churn): many features drifted. Alert #12 "
        "opened 2024-05-01T12:00:00+00:00, resolved 2024-05-01T13:30:00+00:00. "
        "Details: https://dw.example.com/alerts/12"
    )


@pytest.mark.parametrize(
    ("severity", "kind", "label"),
    [
        ("critical", "opened", "CRITICAL"),
        ("critical", "escalated", "CRITICAL (escalated)"),
        ("warning", "reminder", "WARNING (reminder)"),
        ("info", "resolved", "RESOLVED"),
    ],
)
def test_notification_label_combines_severity_and_kind(severity, kind, label):
    assert make_notification(severity=severity, kind=kind).label == label


def test_notification_rejects_an_unknown_severity_or_kind():
    with pytest.raises(ValueError, match="severity must be one of info, warning, critical"):
        make_notification(severity="ok")
    with pytest.raises(ValueError, match="kind must be one of opened, escalated"):
        make_notification(kind="closed")


class Colour(enum.Enum):
    RED = "red"


def test_notification_to_dict_holds_json_types_only():
    evidence = {
        "statistic": np.float64(0.41),
        "counts": np.array([1, 2]),
        "nan": float("nan"),
        "inf": np.float64("inf"),
        "when": OPENED,
        "day": date(2024, 5, 1),
        "span": timedelta(minutes=2),
        "tags": {"b"},
        "pair": (1, "x"),
        "colour": Colour.RED,
        "nested": {3: None, "ok": True},
        "other": ipaddress.ip_address("10.0.0.1"),
    }
    data = make_notification(evidence=evidence, value=float("nan")).to_dict()
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert data["opened_at"] == "2024-05-01T12:00:00+00:00"
    assert data["at"] == "2024-05-01T13:30:00+00:00"
    assert data["value"] is None
    assert data["dashboard_url"] is None
    assert data["evidence"] == {
        "statistic": 0.41,
        "counts": [1, 2],
        "nan": None,
        "inf": None,
        "when": "2024-05-01T12:00:00+00:00",
        "day": "2024-05-01",
        "span": 120.0,
        "tags": ["b"],
        "pair": [1, "x"],
        "colour": "red",
        "nested": {"3": None, "ok": True},
        "other": "10.0.0.1",
    }


def test_redact_replaces_longest_secrets_first():
    assert redact("a/b/c and b", ["b", "a/b/c", None, ""]) == "*** and ***"


# -- deliver -------------------------------------------------------------------------------------


class Broken:
    """A channel with a bug: it raises something other than DeliveryError."""

    name = "broken"

    def __init__(self, message: str = "bug in the channel"):
        self.message = message
        self.calls = 0

    def send(self, notification):
        self.calls += 1
        raise RuntimeError(self.message)


def test_deliver_records_a_buggy_channel_and_goes_on(caplog):
    caplog.set_level(logging.DEBUG)
    broken = Broken()
    outcomes = deliver(
        [broken, LogChannel()], make_notification(), attempts=2, backoff_seconds=0, sleep=Waits()
    )
    assert outcomes == [
        DeliveryOutcome("broken", False, 2, "RuntimeError: bug in the channel"),
        DeliveryOutcome("log", delivered=True, attempts=1, error=None),
    ]
    failures = [r for r in caplog.records if r.name == "driftwarden.monitoring.channels.base"]
    assert [r.levelno for r in failures] == [logging.WARNING, logging.WARNING]
    assert all(r.channel == "broken" and r.exc_info for r in failures)
    assert "retrying in 0 s" in failures[0].getMessage()
    assert "giving up" in failures[1].getMessage()


def test_deliver_cuts_long_errors():
    [outcome] = deliver([Broken("x" * 2000)], make_notification(), attempts=1, backoff_seconds=0)
    assert outcome.error is not None
    assert len(outcome.error) == 500
    assert outcome.error.endswith("...")


def test_deliver_rejects_invalid_attempts_and_backoff():
    with pytest.raises(ValueError, match="attempts must be at least 1, got 0"):
        deliver([LogChannel()], make_notification(), attempts=0, backoff_seconds=1)
    with pytest.raises(ValueError, match="backoff_seconds must be >= 0, got -1"):
        deliver([LogChannel()], make_notification(), attempts=1, backoff_seconds=-1)


def test_delivery_error_is_a_driftwarden_error():
    assert issubclass(DeliveryError, DriftwardenError)


# -- log channel ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "kind", "level"),
    [
        ("critical", "opened", logging.WARNING),
        ("warning", "reminder", logging.WARNING),
        ("info", "opened", logging.INFO),
        ("critical", "resolved", logging.INFO),
    ],
)
def test_log_channel_writes_one_record_at_the_severity_level(caplog, severity, kind, level):
    caplog.set_level(logging.DEBUG, logger="driftwarden.alerts")
    notification = make_notification(severity=severity, kind=kind)
    LogChannel().send(notification)
    [record] = [r for r in caplog.records if r.name == "driftwarden.alerts"]
    assert record.levelno == level
    assert record.getMessage() == notification.text()
    assert (record.alert_id, record.rule, record.severity, record.kind) == (
        12, "feature_drift", severity, kind,
    )  # fmt: skip
    assert repr(LogChannel()) == "LogChannel()"


# -- webhook -------------------------------------------------------------------------------------


def test_webhook_posts_a_signed_slack_body(receiver):
    sender = WebhookSender(receiver.url(f"/services/{TOKEN}"), secret=HOOK_SECRET)
    notification = make_notification(dashboard_url="http://dw/alerts/12")
    [outcome] = deliver([sender], notification, attempts=1, backoff_seconds=0)
    port = receiver.server_address[1]
    assert outcome == DeliveryOutcome(f"webhook:127.0.0.1:{port}", True, 1, None)
    [request] = receiver.requests
    assert request["path"] == f"/services/{TOKEN}"
    headers, body = request["headers"], request["body"]
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == f"driftwarden/{driftwarden.__version__}"
    expected = "sha256=" + hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers[SIGNATURE_HEADER], expected)
    assert sign(body, HOOK_SECRET) == expected
    assert json.loads(body) == {"text": notification.text(), "alert": notification.to_dict()}
    assert body == sender.body(notification)


def test_webhook_without_secret_sends_no_signature(receiver):
    WebhookSender(receiver.url("/hook")).send(make_notification())
    [request] = receiver.requests
    assert request["headers"][SIGNATURE_HEADER] is None


def test_webhook_retries_with_doubling_backoff_until_it_succeeds(receiver, caplog):
    caplog.set_level(logging.DEBUG)
    receiver.fail_first = 2
    waits = Waits()
    sender = WebhookSender(receiver.url(f"/services/{TOKEN}"), secret=HOOK_SECRET)
    [outcome] = deliver(
        [sender], make_notification(), attempts=4, backoff_seconds=0.25, sleep=waits
    )
    assert (outcome.delivered, outcome.attempts, outcome.error) == (True, 3, None)
    assert waits.waits == [0.25, 0.5]
    assert len(receiver.requests) == 3
    assert any("delivered through" in r.getMessage() for r in caplog.records)
    assert_no_secret_logged(caplog, TOKEN, "xoxSECRETtoken42", HOOK_SECRET)


def test_webhook_permanent_failure_is_recorded_not_raised(receiver, caplog):
    caplog.set_level(logging.DEBUG)
    receiver.fail_first = 1000
    waits = Waits()
    sender = WebhookSender(receiver.url(f"/services/{TOKEN}?token=q-SECRET"), secret=HOOK_SECRET)
    [outcome] = deliver([sender], make_notification(), attempts=3, backoff_seconds=0.1, sleep=waits)
    assert (outcome.delivered, outcome.attempts) == (False, 3)
    assert waits.waits == [0.1, 0.2]
    assert len(receiver.requests) == 3
    assert outcome.error is not None
    assert sender.name in outcome.error
    assert "HTTP 500 Internal Server Error (boom at ***)" in outcome.error
    for secret in (TOKEN, "xoxSECRETtoken42", "q-SECRET", HOOK_SECRET):
        assert secret not in outcome.error
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert all(r.channel == sender.name and not r.exc_info for r in warnings)
    assert_no_secret_logged(caplog, TOKEN, "xoxSECRETtoken42", "q-SECRET", HOOK_SECRET)


@pytest.mark.parametrize(
    ("answer", "quoted"),
    [(b"", "Error; expected"), (b"<html>\n" + b"x" * 1000, "(<html> " + "x" * 190 + "...);")],
)
def test_webhook_error_quotes_a_short_answer_only(receiver, answer, quoted):
    receiver.fail_first = 1
    receiver.failure_body = answer
    with pytest.raises(DeliveryError, match="answered HTTP 500 Internal Server Error") as caught:
        WebhookSender(receiver.url("/hook")).send(make_notification())
    assert quoted in str(caught.value)


def test_webhook_to_a_closed_port_is_a_failed_delivery(caplog):
    caplog.set_level(logging.DEBUG)
    sender = WebhookSender(f"http://127.0.0.1:{free_port()}/services/{TOKEN}")
    [outcome] = deliver([sender], make_notification(), attempts=2, backoff_seconds=0, sleep=Waits())
    assert (outcome.delivered, outcome.attempts) == (False, 2)
    assert outcome.error is not None
    assert "ConnectError" in outcome.error
    assert sender.name in outcome.error
    assert_no_secret_logged(caplog, TOKEN)
    with pytest.raises(DeliveryError, match=r"POST failed \(ConnectError"):
        sender.send(make_notification())


def test_webhook_that_answers_too_late_times_out(receiver):
    receiver.hold.clear()
    sender = WebhookSender(receiver.url("/slow"), timeout_seconds=0.2)
    with pytest.raises(DeliveryError, match=r"ReadTimeout.*within 0.2 s"):
        sender.send(make_notification())


@pytest.mark.parametrize(
    ("url", "name"),
    [
        (f"https://hooks.slack.com/services/{TOKEN}", "webhook:hooks.slack.com"),
        ("https://user:pw-SECRET@example.com:8443/x?sig=abc", "webhook:example.com:8443"),
        ("http://[::1]:8080/hook", "webhook:[::1]:8080"),
    ],
)
def test_webhook_name_shows_host_and_port_only(url, name):
    sender = WebhookSender(url, secret=HOOK_SECRET)
    assert sender.name == name
    assert repr(sender) == f"WebhookSender(name={name!r}, signed=True)"


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("http://[::1/hook-SECRET", "cannot be parsed"),
        ("ftp://example.com/hook-SECRET", "scheme 'ftp' and host 'example.com'"),
        ("hooks.example.com/hook-SECRET", r"scheme '\(none\)'"),
    ],
)
def test_webhook_rejects_a_bad_url_without_quoting_it(url, match):
    with pytest.raises(ConfigError, match=match) as caught:
        WebhookSender(url)
    assert "SECRET" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.key == "alerts.webhooks"


def test_webhook_rejects_a_non_positive_timeout():
    with pytest.raises(ConfigError, match="webhook timeout must be positive, got 0"):
        WebhookSender("https://example.com/", timeout_seconds=0)


# -- SMTP ----------------------------------------------------------------------------------------


def test_smtp_sends_a_plain_message(smtp_server):
    inbox, port = smtp_server()
    sender = SmtpSender(
        "127.0.0.1",
        port,
        sender="driftwarden@example.com",
        recipients=["ops@example.com", "oncall@example.com"],
        starttls=False,
    )
    notification = make_notification(title="feature drift\non  tenure")
    [outcome] = deliver([sender], notification, attempts=1, backoff_seconds=0)
    assert outcome == DeliveryOutcome(f"smtp:127.0.0.1:{port}", True, 1, None)
    [received] = inbox.messages
    assert received["from"] == "driftwarden@example.com"
    assert received["to"] == ["ops@example.com", "oncall@example.com"]
    assert not received["tls"]
    message = received["message"]
    assert message["Subject"] == "[driftwarden] CRITICAL: feature drift on tenure"
    assert message["From"] == "driftwarden@example.com"
    assert message["To"] == "ops@example.com, oncall@example.com"
    assert message["Message-ID"].endswith("@example.com>")
    body = message.get_content().replace("\r\n", "\n")
    assert body.startswith(notification.text())
    for line in ("alert_id       12", "model_version  3", "dashboard_url  \n", "evidence:"):
        assert line in body
    assert '\n  {\n    "bins": [\n      0.1,' in body
    assert '    "method": "psi",' in body


def test_smtp_starttls_and_auth_login(smtp_server, server_tls, client_tls, caplog):
    caplog.set_level(logging.DEBUG)
    inbox, port = smtp_server(tls=server_tls)
    sender = SmtpSender(
        "127.0.0.1",
        port,
        sender="driftwarden@example.com",
        recipients=["ops@example.com"],
        username=SMTP_USER,
        password=SMTP_PASSWORD,
        ssl_context=client_tls,
    )
    sender.send(make_notification())
    [received] = inbox.messages
    assert received["tls"]
    assert received["login"] == SMTP_USER
    assert SMTP_PASSWORD not in repr(sender)
    assert_no_secret_logged(caplog, SMTP_PASSWORD)


def test_smtp_wrong_password_fails_without_showing_it(smtp_server, server_tls, client_tls, caplog):
    caplog.set_level(logging.DEBUG)
    inbox, port = smtp_server(tls=server_tls)
    wrong = "wr0ng-" + SMTP_PASSWORD
    sender = SmtpSender(
        "127.0.0.1",
        port,
        sender="driftwarden@example.com",
        recipients=["ops@example.com"],
        username=SMTP_USER,
        password=wrong,
        ssl_context=client_tls,
    )
    [outcome] = deliver([sender], make_notification(), attempts=2, backoff_seconds=0, sleep=Waits())
    assert (outcome.delivered, outcome.attempts) == (False, 2)
    assert outcome.error is not None
    assert "SMTPAuthenticationError" in outcome.error
    assert "535" in outcome.error
    assert wrong not in outcome.error
    assert inbox.messages == []
    assert_no_secret_logged(caplog, wrong, SMTP_PASSWORD)


def test_smtp_starttls_refuses_an_untrusted_certificate(smtp_server, server_tls):
    inbox, port = smtp_server(tls=server_tls)
    sender = SmtpSender("127.0.0.1", port, sender="dw@example.com", recipients=["ops@example.com"])
    with pytest.raises(DeliveryError, match="SSLCertVerificationError"):
        sender.send(make_notification())
    assert inbox.messages == []


def test_smtp_partly_refused_recipients_count_as_delivered(smtp_server, caplog):
    inbox, port = smtp_server()
    sender = SmtpSender(
        "127.0.0.1",
        port,
        sender="dw@example.com",
        recipients=["ops@example.com", "nobody@example.com"],
        starttls=False,
    )
    sender.send(make_notification())
    assert inbox.messages[0]["to"] == ["ops@example.com"]
    [warning] = [r for r in caplog.records if r.name == "driftwarden.monitoring.channels.smtp"]
    assert "refused for nobody@example.com" in warning.getMessage()
    only_nobody = SmtpSender(
        "127.0.0.1",
        port,
        sender="dw@example.com",
        recipients=["nobody@example.org"],
        starttls=False,
    )
    with pytest.raises(DeliveryError, match="SMTPRecipientsRefused"):
        only_nobody.send(make_notification())


def test_smtp_to_a_closed_port_is_a_failed_delivery():
    sender = SmtpSender(
        "127.0.0.1", free_port(), sender="dw@example.com", recipients=["ops@example.com"]
    )
    [outcome] = deliver([sender], make_notification(), attempts=1, backoff_seconds=0)
    assert not outcome.delivered
    assert outcome.error is not None
    assert "ConnectionRefusedError" in outcome.error


def test_smtp_rejects_no_recipients_and_a_bad_timeout():
    with pytest.raises(ConfigError, match="at least one recipient, got none"):
        SmtpSender("mail.example.com", sender="dw@example.com", recipients=[])
    with pytest.raises(ConfigError, match="smtp timeout must be positive, got -1"):
        SmtpSender("mail.example.com", sender="a@b", recipients=["c@d"], timeout_seconds=-1)


def test_build_message_keeps_the_subject_on_one_line():
    message = build_message(
        make_notification(kind="escalated", title="a\r\nb"), sender="dw", recipients=["x@y"]
    )
    assert message["Subject"] == "[driftwarden] CRITICAL (escalated): a b"
    assert message["Message-ID"].endswith("@dw>")


# -- from settings -------------------------------------------------------------------------------


def test_channels_from_settings_builds_and_delivers_through_every_channel(
    receiver, smtp_server, server_tls, client_tls, caplog
):
    caplog.set_level(logging.DEBUG)
    inbox, port = smtp_server(tls=server_tls)
    # As read from driftwarden.toml.
    alerts = AlertSettings.model_validate(
        {
            "webhooks": [{"url": receiver.url(f"/services/{TOKEN}"), "secret": HOOK_SECRET}],
            "smtp": {
                "host": "127.0.0.1",
                "port": port,
                "sender": "dw@example.com",
                "recipients": ["ops@example.com"],
                "username": SMTP_USER,
                "password": SMTP_PASSWORD,
            },
        }
    )
    built = channels_from_settings(alerts, ssl_context=client_tls)
    web_port = receiver.server_address[1]
    assert [c.name for c in built] == [
        "log",
        f"webhook:127.0.0.1:{web_port}",
        f"smtp:127.0.0.1:{port}",
    ]
    outcomes = deliver(built, make_notification(), attempts=1, backoff_seconds=0)
    assert all(o.delivered for o in outcomes)
    [request] = receiver.requests
    assert request["headers"][SIGNATURE_HEADER] == sign(request["body"], HOOK_SECRET)
    assert len(inbox.messages) == 1
    for channel in built:
        assert TOKEN not in repr(channel)
        assert SMTP_PASSWORD not in repr(channel)
    assert_no_secret_logged(caplog, TOKEN, HOOK_SECRET, SMTP_PASSWORD)


def test_channels_from_settings_without_channels_is_empty():
    assert channels_from_settings(AlertSettings(log=False)) == []
    only_smtp = AlertSettings(
        log=False,
        smtp=SmtpChannel(host="mail.example.com", sender="a@b", recipients=["c@d"]),
    )
    [smtp] = channels_from_settings(only_smtp)
    assert repr(smtp) == (
        "SmtpSender(name='smtp:mail.example.com:587', recipients=1, starttls=True, login=False)"
    )


def test_channels_all_is_sorted_and_importable():
    names = channels.__all__
    # ruff's RUF022 order: constants first, then the rest alphabetically.
    assert names == sorted(names, key=lambda name: (not name.isupper(), name))
    for name in names:
        assert getattr(channels, name) is not None
