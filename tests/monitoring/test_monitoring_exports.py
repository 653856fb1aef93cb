def test_monitoring_exports_every_public_name_in_order(check_exports):
    check_exports(
        "driftwarden.monitoring",
        [
            "driftwarden.monitoring.alerts",
            "driftwarden.monitoring.monitor",
            "driftwarden.monitoring.references",
            "driftwarden.monitoring.rules",
            "driftwarden.monitoring.run",
            "driftwarden.monitoring.window",
        ],
    )


def test_channels_export_every_public_name_in_order(check_exports):
    check_exports(
        "driftwarden.monitoring.channels",
        [
            "driftwarden.monitoring.channels.base",
            "driftwarden.monitoring.channels.log",
            "driftwarden.monitoring.channels.smtp",
            "driftwarden.monitoring.channels.webhook",
        ],
    )
