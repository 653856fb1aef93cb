from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from pydantic_settings import TomlConfigSettingsSource

from driftwarden.core.errors import ConfigError
from driftwarden.core.settings import Settings, StoreSettings, load_settings


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty working directory with no DRIFTWARDEN_* variable set."""
    for name in list(os.environ):
        if name.startswith("DRIFTWARDEN_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_settings_defaults_run_embedded():
    settings = load_settings()
    assert settings.home == Path(".driftwarden")
    assert settings.serving.host == "127.0.0.1"
    assert settings.serving.port == 8000
    assert settings.serving.api_key is None
    assert settings.serving.admin_api_key is None
    assert settings.store.url == "sqlite:///.driftwarden/driftwarden.db"
    assert settings.store.spool_dir == Path(".driftwarden/spool")
    assert settings.registry.tracking_uri == "sqlite:///.driftwarden/mlflow.db"
    assert settings.registry.artifact_location == Path(".driftwarden/mlartifacts")
    assert (settings.monitor.drift.psi.warning, settings.monitor.drift.psi.critical) == (0.1, 0.25)
    assert settings.monitor.min_samples > 0
    assert settings.monitor.window > timedelta(0)
    assert settings.alerts.webhooks == []
    assert settings.alerts.smtp is None
    assert settings.feature_schema == {}
    assert settings.log_level == "INFO"


def test_settings_read_driftwarden_toml_in_the_working_directory(isolated: Path):
    _write(isolated / "driftwarden.toml", "[serving]\nport = 7000\n")
    assert load_settings().serving.port == 7000
    assert Settings().serving.port == 7000


def test_settings_read_an_explicit_path(tmp_path: Path):
    path = _write(tmp_path / "elsewhere.toml", '[serving]\nhost = "0.0.0.0"\n')
    assert load_settings(path).serving.host == "0.0.0.0"


def test_settings_explicit_path_does_not_leak_into_later_loads(isolated: Path):
    _write(isolated / "driftwarden.toml", "[serving]\nport = 7000\n")
    other = _write(isolated / "other.toml", "[serving]\nport = 7100\n")
    assert load_settings(other).serving.port == 7100
    assert load_settings().serving.port == 7000


def test_settings_environment_beats_toml(isolated: Path, monkeypatch: pytest.MonkeyPatch):
    _write(isolated / "driftwarden.toml", '[serving]\nport = 7000\nhost = "0.0.0.0"\n')
    monkeypatch.setenv("DRIFTWARDEN_SERVING__PORT", "9000")
    settings = load_settings()
    assert settings.serving.port == 9000
    assert settings.serving.host == "0.0.0.0"


def test_settings_init_beats_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DRIFTWARDEN_SERVING__PORT", "9000")
    monkeypatch.setenv("DRIFTWARDEN_LOG_LEVEL", "debug")
    settings = load_settings(serving={"port": 9100})
    assert settings.serving.port == 9100
    assert settings.log_level == "DEBUG"


def test_settings_nested_environment_variable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DRIFTWARDEN_SERVING__PORT", "9000")
    monkeypatch.setenv("DRIFTWARDEN_MONITOR__DRIFT__PSI__CRITICAL", "0.4")
    monkeypatch.setenv("DRIFTWARDEN_MONITOR__WINDOW", "PT2H")
    settings = load_settings()
    assert settings.serving.port == 9000
    assert settings.monitor.drift.psi.critical == 0.4
    assert settings.monitor.drift.psi.warning == 0.1
    assert settings.monitor.window == timedelta(hours=2)


def test_settings_secrets_are_secret(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DRIFTWARDEN_SERVING__ADMIN_API_KEY", "s3cret")
    settings = load_settings()
    assert isinstance(settings.serving.admin_api_key, SecretStr)
    assert settings.serving.admin_api_key.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_settings_alert_channels_from_toml(isolated: Path):
    _write(
        isolated / "driftwarden.toml",
        '[[alerts.webhooks]]\nurl = "http://127.0.0.1:9/hook"\n'
        '[alerts.smtp]\nhost = "127.0.0.1"\nsender = "dw@example.org"\n'
        'recipients = ["ops@example.org"]\n',
    )
    alerts = load_settings().alerts
    assert [w.url for w in alerts.webhooks] == ["http://127.0.0.1:9/hook"]
    assert alerts.smtp is not None
    assert alerts.smtp.recipients == ["ops@example.org"]


def test_settings_schema_table_from_toml_and_environment(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
):
    _write(
        isolated / "driftwarden.toml",
        '[schema]\ntarget = "Exited"\nentity_id = "customerID"\n'
        '[schema.features.SeniorCitizen]\nkind = "categorical"\n',
    )
    monkeypatch.setenv("DRIFTWARDEN_SCHEMA__TARGET", "Churn")
    schema = load_settings().feature_schema
    assert schema == {
        "target": "Churn",
        "entity_id": "customerID",
        "features": {"SeniorCitizen": {"kind": "categorical"}},
    }


def test_settings_schema_from_a_json_environment_variable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DRIFTWARDEN_SCHEMA", '{"target": "Churn"}')
    assert load_settings().feature_schema == {"target": "Churn"}


@pytest.mark.parametrize("key", ["schema", "feature_schema"])
def test_settings_schema_by_alias_or_by_name(key: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DRIFTWARDEN_SCHEMA__TARGET", "Exited")
    overrides: dict[str, Any] = {key: {"target": "Churn"}}
    settings = load_settings(**overrides)
    assert settings.feature_schema == {"target": "Churn"}
    assert settings.model_dump(by_alias=True)["schema"] == {"target": "Churn"}


def test_settings_locations_follow_home(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DRIFTWARDEN_HOME", "/srv/dw")
    settings = load_settings()
    assert settings.store.url == "sqlite:////srv/dw/driftwarden.db"
    assert settings.store.spool_dir == Path("/srv/dw/spool")
    assert settings.registry.tracking_uri == "sqlite:////srv/dw/mlflow.db"
    assert settings.registry.artifact_location == Path("/srv/dw/mlartifacts")


def test_settings_explicit_locations_beat_home(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DRIFTWARDEN_HOME", "/srv/dw")
    monkeypatch.setenv("DRIFTWARDEN_STORE__URL", "postgresql+psycopg://db/dw")
    settings = load_settings(registry={"tracking_uri": "http://127.0.0.1:5000"})
    assert settings.store.url == "postgresql+psycopg://db/dw"
    assert settings.store.spool_dir == Path("/srv/dw/spool")
    assert settings.registry.tracking_uri == "http://127.0.0.1:5000"


def test_settings_do_not_change_a_section_passed_in():
    store = StoreSettings()
    settings = Settings(store=store, home=Path("/srv/dw"))
    assert settings.store.url == "sqlite:////srv/dw/driftwarden.db"
    assert store.url == "sqlite:///.driftwarden/driftwarden.db"


def test_settings_missing_explicit_file_is_a_config_error(tmp_path: Path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"nope\.toml does not exist"):
        load_settings(missing)


def test_settings_malformed_toml_names_the_file(isolated: Path):
    _write(isolated / "driftwarden.toml", "[serving\nport = 1\n")
    with pytest.raises(ConfigError, match=r"driftwarden\.toml is not valid TOML.*line 1"):
        load_settings()


def test_settings_malformed_explicit_toml_names_the_file(tmp_path: Path):
    path = _write(tmp_path / "broken.toml", "port = = 1\n")
    with pytest.raises(ConfigError, match=r"broken\.toml is not valid TOML"):
        load_settings(path)


def test_settings_non_utf8_toml_is_a_config_error(tmp_path: Path):
    path = tmp_path / "latin.toml"
    path.write_bytes(b'home = "caf\xe9"\n')
    with pytest.raises(ConfigError, match=r"latin\.toml is not UTF-8"):
        load_settings(path)


def test_settings_unreadable_toml_is_a_config_error(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
):
    _write(isolated / "driftwarden.toml", "")

    def deny(self: object, path: Path) -> dict[str, object]:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(TomlConfigSettingsSource, "_read_file", deny)
    with pytest.raises(ConfigError, match=r"cannot read driftwarden\.toml.*permissions"):
        load_settings()


def test_settings_unknown_key_names_the_key(isolated: Path):
    _write(isolated / "driftwarden.toml", "[serving]\nprot = 9000\n")
    with pytest.raises(ConfigError, match=r"serving\.prot: unknown setting") as info:
        load_settings()
    assert info.value.key == "serving.prot"


def test_settings_unknown_section_names_the_key(isolated: Path):
    _write(isolated / "driftwarden.toml", "[servng]\nport = 9000\n")
    with pytest.raises(ConfigError, match="servng: unknown setting"):
        load_settings()


def test_settings_unknown_init_key_names_the_key():
    with pytest.raises(ConfigError, match="bogus: unknown setting"):
        load_settings(bogus=1)


def test_settings_bad_value_names_key_value_and_variable(isolated: Path):
    _write(isolated / "driftwarden.toml", '[serving]\nport = "abc"\n')
    with pytest.raises(
        ConfigError,
        match=r"serving\.port = 'abc': .*integer.*fix it in driftwarden\.toml or "
        r"DRIFTWARDEN_SERVING__PORT",
    ) as info:
        load_settings()
    assert info.value.key == "serving.port"


def test_settings_bad_value_in_explicit_file_names_that_file(tmp_path: Path):
    path = _write(tmp_path / "prod.toml", "[serving]\nport = 70000\n")
    with pytest.raises(ConfigError, match=r"serving\.port = 70000: .*fix it in .*prod\.toml"):
        load_settings(path)


def test_settings_secret_values_stay_out_of_messages(isolated: Path):
    _write(isolated / "driftwarden.toml", "[registry]\ntoken = 123456\n")
    with pytest.raises(ConfigError, match=r"registry\.token = '\*\*\*'") as info:
        load_settings()
    assert "123456" not in str(info.value)


def test_settings_list_items_have_no_environment_variable(isolated: Path):
    _write(isolated / "driftwarden.toml", "[[alerts.webhooks]]\nurl = 5\n")
    with pytest.raises(ConfigError, match=r"alerts\.webhooks\.0\.url = 5: .*in driftwarden\.toml$"):
        load_settings()


def test_settings_threshold_order_is_checked():
    with pytest.raises(ConfigError, match=r"monitor\.drift\.psi .*must not exceed critical"):
        load_settings(monitor={"drift": {"psi": {"warning": 0.5, "critical": 0.2}}})


def test_settings_bad_log_level_lists_the_levels():
    with pytest.raises(ConfigError, match=r"log_level = 'LOUD'.*'DEBUG'"):
        load_settings(log_level="loud")


def test_settings_non_string_log_level_is_rejected():
    with pytest.raises(ConfigError, match="log_level = 10"):
        load_settings(log_level=10)


def test_settings_alias_wrapper_delegates_field_lookup(monkeypatch: pytest.MonkeyPatch):
    from pydantic_settings import EnvSettingsSource

    from driftwarden.core.settings import _CanonicalAliasKeys

    monkeypatch.setenv("DRIFTWARDEN_HOME", "/srv/dw")
    source = _CanonicalAliasKeys(Settings, EnvSettingsSource(Settings))
    value, key, _ = source.get_field_value(Settings.model_fields["home"], "home")
    assert (value, key) == ("/srv/dw", "home")


def test_alert_rule_levels_must_be_ordered_and_name_the_key():
    with pytest.raises(ConfigError, match=r"latency_p99_ms.*must not exceed critical"):
        load_settings(alerts={"rules": {"latency_p99_ms": {"warning": 900, "critical": 100}}})
    settings = load_settings(alerts={"rules": {"share_drifted": {"warning": 0.2}}})
    assert (
        settings.alerts.rules.share_drifted.warning,
        settings.alerts.rules.share_drifted.critical,
    ) == (0.2, 0.5)
