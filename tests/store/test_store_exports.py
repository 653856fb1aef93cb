from __future__ import annotations

MODULES = [
    "driftwarden.store",
    "driftwarden.store.abtests",
    "driftwarden.store.alerts",
    "driftwarden.store.engine",
    "driftwarden.store.inserts",
    "driftwarden.store.migrate",
    "driftwarden.store.queries",
    "driftwarden.store.results",
    "driftwarden.store.retraining",
    "driftwarden.store.routing",
    "driftwarden.store.rows",
    "driftwarden.store.spool",
    "driftwarden.store.tables",
    "driftwarden.store.training_data",
    "driftwarden.store.windows",
    "driftwarden.store.writer",
]


def test_store_exports_every_public_name_in_order(check_exports):
    check_exports(MODULES[0], MODULES[1:])
