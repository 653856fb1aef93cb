"""Models and A/B: versions, aliases and metrics, the champion's history, the running A/B test
with its statistics and the policy's verdict, and the admin actions on them."""

from __future__ import annotations

from typing import Any

import streamlit as st

from driftwarden.client import RoutingMode
from driftwarden.dashboard import charts
from driftwarden.dashboard.api import act, read
from driftwarden.dashboard.common import chart, empty, live, table, when


def _versions(versions: list[dict[str, Any]]) -> None:
    rows = [
        {
            "version": v["version"],
            "aliases": ", ".join(v.get("aliases", [])),
            "registered": when(v.get("created_at")),
            "trained on rows": v.get("tags", {}).get("n_rows"),
            **{m: v.get("metrics", {}).get(m) for m in ("accuracy", "roc_auc", "f1")},
        }
        for v in sorted(versions, key=lambda v: -v["version"])
    ]
    table(rows, list(rows[0]), key="models_versions")


def _test(test: dict[str, Any]) -> None:
    ended = (
        "running"
        if test["status"] == "running"
        else f"{test['status']} at {when(test['ended_at'])}: {test.get('reason') or ''}"
    )
    st.markdown(
        f"**Test {test['id']}**: version {test['challenger_version']} (challenger) against "
        f"version {test['champion_version']} (champion), {test['mode']} traffic, "
        f"{test['share']:.0%} to the challenger, on {test['metric']}, since "
        f"{when(test['started_at'])}; {ended}"
    )
    snapshots = test.get("snapshots") or []
    if not snapshots:
        empty("The promotion policy has not looked at this test yet; it does at each monitor run.")
        return
    last = snapshots[-1]
    stats = last.get("statistics") or {}
    st.markdown(f"Verdict at {when(last['at'])}: **{last['action']}**: {stats.get('reason', '')}")
    comparison = stats.get("comparison")
    if comparison:
        a, b, c, d = st.columns(4)
        # An error (mse, mae) is better lower: a fall is shown green.
        error = comparison["metric"] in ("mse", "mae")
        spec = ",.4g" if error else ".4f"  # an MSE of house prices runs to billions
        a.metric(
            f"Champion {comparison['metric']}",
            format(comparison["champion"], spec),
            help=f"{comparison['n_champion']:,} labelled rows",
        )
        b.metric(
            f"Challenger {comparison['metric']}",
            format(comparison["challenger"], spec),
            delta=format(comparison["difference"], "+" + spec),
            delta_color="inverse" if error else "normal",
            help=f"{comparison['n_challenger']:,} labelled rows",
        )
        c.metric(
            "p-value",
            "—" if comparison["p_value"] is None else f"{comparison['p_value']:.4g}",
            help=f"{comparison['method']}, alpha {comparison['alpha']}",
        )
        d.metric(
            "Interval of the difference",
            f"[{format(comparison['ci_low'], '+' + spec)}, "
            f"{format(comparison['ci_high'], '+' + spec)}]",
        )
        chart(charts.ab_test_chart(test), "models_ab_chart")
    guardrails = stats.get("guardrails") or {}
    if guardrails:
        st.caption(
            " · ".join(
                f"{k.replace('_', ' ')}: {v:.4g}"
                for k, v in guardrails.items()
                if isinstance(v, int | float)
            )
        )


def _actions(versions: list[dict[str, Any]], routing: dict[str, Any], running: Any) -> None:
    st.subheader("Actions")
    promote, rollback, split = st.columns(3)
    with promote, st.form("promote_form"):
        version = st.selectbox("Version", [v["version"] for v in versions], key="promote_version")
        reason = st.text_input("Reason", key="promote_reason")
        if st.form_submit_button("Promote to champion"):
            act(
                f"Promote version {version}",
                lambda c: c.promote(int(version), reason=reason or "from the dashboard"),
            )
    with rollback, st.form("rollback_form"):
        st.caption("Make the previous champion the champion again.")
        reason = st.text_input("Reason", key="rollback_reason")
        if st.form_submit_button("Roll back"):
            act("Roll back", lambda c: c.rollback(reason=reason or "from the dashboard"))
    with split, st.form("routing_form"):
        modes: list[RoutingMode] = ["off", "split", "shadow"]
        mode = st.selectbox(
            "Challenger traffic", modes, index=modes.index(routing["mode"]), key="routing_mode"
        )
        share = st.slider(
            "Share to the challenger", 0.0, 1.0, float(routing["share"]), 0.05, key="routing_share"
        )
        if st.form_submit_button("Change the split"):
            act("Change the split", lambda c: c.set_routing(mode=mode, share=share))
    if running is not None and st.button(f"Stop A/B test {running['id']}", key="stop_test"):
        act(
            f"Stop A/B test {running['id']}",
            lambda c: c.stop_ab_test(running["id"], reason="stopped from the dashboard"),
        )


def body() -> None:
    models = read("models")
    versions = models.get("versions", [])
    if not versions:
        empty(
            "No model is registered yet. Train one with `driftwarden train`; its versions, "
            "aliases and metrics appear here."
        )
        return
    st.subheader("Versions")
    _versions(versions)
    tests = read("ab_tests", limit=20)
    running = next((t for t in tests if t["status"] == "running"), None)
    st.subheader("A/B test")
    if running is None:
        empty(
            "No A/B test is running. One starts when a retraining registers a challenger, or "
            "from `driftwarden ab-tests start`."
        )
    if tests:
        # The running test first, then the newest: any of them can be opened.
        ids = [t["id"] for t in sorted(tests, key=lambda t: (t["status"] != "running", -t["id"]))]
        chosen = st.selectbox("Test", ids, format_func=lambda i: f"test {i}", key="ab_test_id")
        _test(read("ab_test", chosen))
        table(
            [{**t, "decision": (t.get("decision") or {}).get("action")} for t in tests],
            [
                "id",
                "challenger_version",
                "champion_version",
                "mode",
                "status",
                "started_at",
                "ended_at",
                "decision",
                "reason",
            ],
            key="models_tests",
        )
    history = read("model_history")
    if history:
        st.subheader("Champion history")
        table(
            list(reversed(history)),
            ["at", "action", "from_version", "to_version", "actor", "reason"],
            key="models_history",
        )
    _actions(versions, models.get("routing", {"mode": "off", "share": 0.0}), running)


st.title("Models and A/B")
live(body)
