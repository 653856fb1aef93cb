"""Retraining: every run with its trigger, steps, validation gates and outcome; start one."""

from __future__ import annotations

from typing import Any

import streamlit as st

from driftwarden.dashboard.api import act, read
from driftwarden.dashboard.common import empty, live, table, when

SHOWN_IN_DETAIL = 10


def _detail(run: dict[str, Any]) -> None:
    st.markdown(f"**Reason:** {run.get('reason') or '—'}")
    if run.get("error"):
        st.markdown(f"**Outcome:** {run['error']}")
    steps = run.get("steps") or []
    if steps:
        table(steps, ["step", "status", "seconds", "at"], key=f"retrain_steps_{run['id']}")
    for step in steps:
        result = step.get("result") or {}
        if step["step"] == "validate" and result.get("gates"):
            st.markdown("**Validation gates**")
            table(
                result["gates"],
                ["name", "passed", "value", "threshold", "detail"],
                key=f"retrain_gates_{run['id']}",
            )


def _trigger() -> None:
    with st.form("retrain_form", clear_on_submit=True):
        reason = st.text_input("Reason", placeholder="why retrain now")
        if st.form_submit_button("Retrain now", type="primary"):
            act(
                "Retraining requested",
                lambda c: c.retrain(reason=reason or "from the dashboard"),
                lambda run: f"Run {run['id']} is {run['status']}.",
            )


def body() -> None:
    runs = read("retraining_runs", limit=100)
    if not runs:
        empty(
            "No retraining has run yet. One starts when the retrain policy sees sustained "
            "drift or a performance drop, on schedule, or from the button above."
        )
        return
    table(
        [{**r, "requested_at": when(r["requested_at"])} for r in runs],
        [
            "id",
            "status",
            "trigger",
            "requested_at",
            "champion_version",
            "candidate_version",
            "ab_test_id",
            "reason",
        ],
        key="retrain_runs",
    )
    for run in runs[:SHOWN_IN_DETAIL]:
        label = f"Run {run['id']}: {run['status']} ({run['trigger']}, {when(run['requested_at'])})"
        with st.expander(label):
            _detail(run)


st.title("Retraining")
_trigger()
live(body)
