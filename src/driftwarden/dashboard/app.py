"""The dashboard's entry script: ``streamlit run`` runs it (``driftwarden dashboard`` does that).

It sets up the page, the sidebar (which API, the admin key) and the navigation between the
pages under ``pages/``; each page reads only the API.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from driftwarden.dashboard.api import ADMIN_KEY, connection, has_admin_key

PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="driftwarden", page_icon=":material/monitoring:", layout="wide")

navigation = st.navigation(
    {
        "Watch": [
            st.Page(PAGES / "overview.py", title="Overview", icon=":material/dashboard:",
                    default=True),
            st.Page(PAGES / "drift.py", title="Drift", icon=":material/ssid_chart:"),
            st.Page(PAGES / "performance.py", title="Performance", icon=":material/speed:"),
            st.Page(PAGES / "quality.py", title="Data quality", icon=":material/rule:"),
        ],
        "Act": [
            st.Page(PAGES / "models.py", title="Models and A/B", icon=":material/compare_arrows:"),
            st.Page(PAGES / "alerts.py", title="Alerts", icon=":material/notifications:"),
            st.Page(PAGES / "retraining.py", title="Retraining", icon=":material/model_training:"),
        ],
    }
)  # fmt: skip

with st.sidebar:
    conn = connection()
    st.caption(f"API: {conn.url} · refresh every {conn.refresh:g} s")
    if has_admin_key():
        st.caption(":material/key: Admin key entered for this session.")
        if st.button("Forget the admin key"):
            del st.session_state[ADMIN_KEY]
            st.rerun()
    else:
        # clear_on_submit: the key lives in the session state only, never in a widget's value.
        with st.form("admin_key_form", clear_on_submit=True):
            entered = st.text_input(
                "Admin key",
                type="password",
                help="Needed to promote, roll back, change the split, retrain, acknowledge and "
                "mute. Kept for this browser session only.",
                key="admin_key_input",
            )
            if st.form_submit_button("Use for this session") and entered:
                st.session_state[ADMIN_KEY] = entered
                st.rerun()

navigation.run()
