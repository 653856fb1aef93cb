"""Alerts: their history with filters, and acknowledging or muting one."""

from __future__ import annotations

import streamlit as st

from driftwarden.dashboard.api import act, read
from driftwarden.dashboard.common import empty, live, table

STATUSES = ("open", "acknowledged", "resolved")
SEVERITIES = ("critical", "warning", "info")


def body() -> None:
    a, b, c = st.columns(3)
    status = a.selectbox(
        "Status", [None, *STATUSES], format_func=lambda s: s or "any", key="alerts_status"
    )
    severity = b.selectbox(
        "Severity", [None, *SEVERITIES], format_func=lambda s: s or "any", key="alerts_severity"
    )
    rule = c.text_input("Rule", key="alerts_rule", placeholder="feature_drift, data_quality...")
    found = read("alerts", status=status, severity=severity, rule=rule.strip() or None, limit=500)
    if not found:
        empty(
            "No alert matches. Alerts appear here when a monitor run finds a condition of "
            "[alerts.rules] (drift, quality, performance, latency, errors, no traffic)."
        )
        return
    table(
        found,
        [
            "id",
            "severity",
            "status",
            "rule",
            "subject",
            "title",
            "message",
            "model_version",
            "opened_at",
            "last_seen_at",
            "acknowledged_by",
            "muted_until",
        ],
        key="alerts_table",
    )
    st.subheader("Act on an alert")
    with st.form("alert_action"):
        choices = [x["id"] for x in found if x["status"] != "resolved"] or [x["id"] for x in found]
        alert = st.selectbox("Alert", choices, key="alert_id")
        minutes = st.number_input("Mute for minutes", min_value=1.0, value=60.0, step=15.0)
        ack, mute = st.columns(2)
        if ack.form_submit_button("Acknowledge"):
            act(f"Acknowledge alert {alert}", lambda c: c.acknowledge(int(alert)))
        if mute.form_submit_button("Mute"):
            act(f"Mute alert {alert}", lambda c: c.mute(int(alert), minutes=float(minutes)))


st.title("Alerts")
live(body)
