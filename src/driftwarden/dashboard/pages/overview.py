"""Overview: which versions serve, how much traffic at what latency, what is wrong right now."""

from __future__ import annotations

from collections import Counter
from typing import Any

import streamlit as st

from driftwarden.dashboard import charts
from driftwarden.dashboard.api import connection, read
from driftwarden.dashboard.common import empty, live, side_by_side, when

#: The alert rules of each area, for its verdict.
AREAS = {
    "Drift": ("feature_drift", "prediction_drift", "share_drifted", "concept_drift"),
    "Data quality": ("data_quality",),
    "Performance": ("performance_drop",),
    "Service": ("latency_p99_ms", "error_rate", "no_traffic"),
}
_ICONS = {
    "ok": ":material/check_circle:",
    "info": ":material/info:",
    "warning": ":material/warning:",
    "critical": ":material/error:",
}
_RANK = {"info": 1, "warning": 2, "critical": 3}


def _alias(versions: list[dict[str, Any]], alias: str) -> str:
    found = [v["version"] for v in versions if alias in v.get("aliases", [])]
    return f"v{found[0]}" if found else "none"


def _verdict(area: str, open_alerts: list[dict[str, Any]]) -> tuple[str, str]:
    mine = [a for a in open_alerts if a["rule"] in AREAS[area]]
    if not mine:
        return "ok", "no open alert"
    worst = max(mine, key=lambda a: _RANK.get(a["severity"], 0))
    more = f" (+{len(mine) - 1} more)" if len(mine) > 1 else ""
    return worst["severity"], f"{worst['title']}{more}"


def _ab_verdict(tests: list[dict[str, Any]]) -> tuple[str, str]:
    running = [t for t in tests if t["status"] == "running"]
    if running:
        test = read("ab_test", running[0]["id"])
        snapshots = test.get("snapshots") or []
        last = snapshots[-1]["statistics"].get("reason") if snapshots else None
        return "info", f"v{test['challenger_version']} against v{test['champion_version']}: " + (
            last or "no decision yet"
        )
    if tests:
        t = tests[0]
        return "ok", f"last test {t['status']}: {t.get('reason') or t.get('decision') or ''}"
    return "ok", "no test yet"


def body() -> None:
    conn = connection()
    models = read("models")
    runs = read("monitoring_runs", limit=200)
    open_alerts = read("alerts", status="open", limit=500)
    retrains = read("retraining_runs", limit=1)
    tests = read("ab_tests", limit=5)

    versions = models.get("versions", [])
    counts = Counter(a["severity"] for a in open_alerts)
    c1, c2, c3, c4, c5 = st.columns(5)
    c1.metric("Champion", _alias(versions, "champion"))
    c2.metric("Challenger", _alias(versions, "challenger"))
    c3.metric(
        "Open alerts",
        len(open_alerts),
        help=f"critical {counts['critical']}, warning {counts['warning']}, info {counts['info']}",
    )
    c3.caption(
        f":red[critical {counts['critical']}] · :orange[warning {counts['warning']}] · "
        f"info {counts['info']}"
    )
    if runs:
        c4.metric("Last monitor run", runs[0]["status"])
        c4.caption(f"window ending {when(runs[0]['window_end'])}")
    else:
        c4.metric("Last monitor run", "none yet")
    if retrains:
        c5.metric("Last retraining", retrains[0]["status"])
        c5.caption(f"{retrains[0]['trigger']} · {when(retrains[0]['requested_at'])}")
    else:
        c5.metric("Last retraining", "none yet")

    st.subheader("Latest verdicts")
    verdicts = [(area, *_verdict(area, open_alerts)) for area in AREAS]
    verdicts.append(("A/B test", *_ab_verdict(tests)))
    for column, (area, severity, text) in zip(st.columns(len(verdicts)), verdicts, strict=True):
        column.markdown(f"**{area}** {_ICONS.get(severity, '')} {severity}")
        column.caption(text)

    if not versions:
        empty(
            "No model is registered yet. Train one (`driftwarden train`) and serve it; its "
            "version and aliases appear here."
        )
    if not runs:
        empty(
            f"No monitor run yet. The monitor runs every {conn.monitor_interval} over the last "
            f"{conn.monitor_window} of predictions; traffic and latency appear here after its "
            "first run."
        )
        return
    side_by_side(
        (charts.volume_chart(runs), "overview_volume"),
        (charts.latency_chart(runs), "overview_latency"),
    )


st.title("Overview")
live(body)
