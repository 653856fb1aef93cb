"""The deployment files of ``deploy/`` and ``docs/deployment.md``, checked against the code.

Nothing here builds an image or starts a container (Docker need not be installed): the files are
parsed, and what they claim about driftwarden is checked against the package itself. Settings
keys are checked by constructing :class:`~driftwarden.core.Settings` from the Compose
environment, commands by driftwarden's own argument parser, metric names by a real
:class:`~driftwarden.serving.metrics.ServerMetrics` registry, the health check by running it
against a server that answers as ``/ready`` does.
"""

from __future__ import annotations

import fnmatch
import importlib.metadata
import json
import os
import re
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, get_args
from urllib.parse import urlsplit

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from prometheus_client.metrics import MetricWrapperBase
from pydantic import BaseModel
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from driftwarden.cli import main
from driftwarden.cli.main import build_parser
from driftwarden.core import Settings, load_settings
from driftwarden.core.offline import offline_defaults
from driftwarden.registry import ModelRegistry
from driftwarden.registry.mlflow_registry import _artifact_location
from driftwarden.retraining.deploy import FLOW_NAME
from driftwarden.serving.metrics import MONITOR_GAUGES, ServerMetrics

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
CONSTRAINTS = DEPLOY / "constraints.txt"
DOCKERIGNORE = REPO / ".dockerignore"
PROMETHEUS_FILE = DEPLOY / "prometheus" / "prometheus.yml"
GRAFANA = DEPLOY / "grafana"
DOCS = REPO / "docs" / "deployment.md"

SERVICES = {
    "api",
    "init",
    "store-db",
    "mlflow-db",
    "mlflow",
    "prefect-server",
    "prefect-worker",
    "prometheus",
    "grafana",
}
DEPENDENCY_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


# -- Compose: reading the file as `docker compose` does ------------------------------------------

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)
_BRACED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>.*))?", re.S)


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Substitute ``${NAME}``, ``${NAME:-default}`` and the other forms of the Compose spec in
    every string of ``value``, as `docker compose` does with the variables ``env`` holds."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        if match["named"]:
            return env.get(match["named"], "")
        braced = _BRACED.fullmatch(match["braced"])
        assert braced is not None, f"not a Compose variable: ${{{match['braced']}}}"
        name, op, arg = braced["name"], braced["op"], braced["arg"]
        found = env.get(name)
        missing = found is None or (op is not None and op.startswith(":") and found == "")
        if op in (":-", "-"):
            return arg if missing else str(found)
        if op in (":?", "?"):
            if missing:
                raise ValueError(f"{name} must be set: {arg}")
            return str(found)
        if op in (":+", "+"):
            return "" if missing else arg
        return found or ""

    return _VARIABLE.sub(substitute, value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The Compose file as `docker compose` reads it with no variables set."""
    loaded = yaml.safe_load(COMPOSE_FILE.read_text("utf-8"))
    resolved: dict[str, Any] = interpolate(loaded, {})
    return resolved


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's environment, from the mapping or the list form."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def image_of(service: Mapping[str, Any]) -> tuple[str, str]:
    """``(repository, tag)`` of a service's image; the tag is empty when there is none."""
    image = str(service["image"])
    repository, colon, tag = image.rpartition(":")
    # A colon before the last slash separates a registry's port, not a tag.
    if not colon or "/" in tag:
        return image, ""
    return repository, tag


def runs_driftwarden(service: Mapping[str, Any]) -> bool:
    return image_of(service)[0] == "driftwarden"


def healthcheck_url(service: Mapping[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    urls = re.findall(r"http://[^'\"\s]+", " ".join(test) if isinstance(test, list) else test)
    assert len(urls) == 1, f"expected one URL in the health check, got {test!r}"
    return str(urls[0])


def script_commands(script: str) -> list[list[str]]:
    """The simple commands of a ``sh -c`` script, one a line, with shell keywords removed."""
    commands = []
    for line in script.splitlines():
        words = shlex.split(line, comments=True)
        while words and words[0] in ("if", "then", "else", "fi", "exec"):
            words = words[1:]
        if words:
            commands.append(words)
    return commands


def shell_script(service: Mapping[str, Any]) -> str:
    assert service["entrypoint"] == ["/bin/sh", "-c"], "expected a script run by sh -c"
    (script,) = service["command"]
    assert script.splitlines()[0] == "set -e", "a failing step must stop the script"
    return str(script)


def options(words: list[str]) -> dict[str, str]:
    """``--name value`` pairs of a command line (flags without a value are left out)."""
    return {
        word: words[i + 1]
        for i, word in enumerate(words[:-1])
        if word.startswith("--") and not words[i + 1].startswith("--")
    }


def mounts(service: Mapping[str, Any]) -> dict[str, str]:
    """Container path of each volume of a service, by source (a volume name or a host path)."""
    found = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume["source"], volume["target"]
        found[source] = target
    return found


def published_ports(service: Mapping[str, Any]) -> tuple[str, int]:
    """``(host ports, container port)`` of a service's one published port."""
    (port,) = service["ports"]
    host, container = str(port).rsplit(":", 2)[-2:]
    return host, int(container)


def compose_variables() -> list[re.Match[str]]:
    """Every variable reference in the Compose file's values (comments left out)."""

    def strings(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for item in value.values():
                yield from strings(item)
        elif isinstance(value, list):
            for item in value:
                yield from strings(item)
        elif isinstance(value, str):
            yield value

    loaded = yaml.safe_load(COMPOSE_FILE.read_text("utf-8"))
    return [
        match
        for text in strings(loaded)
        for match in _VARIABLE.finditer(text)
        if not match["escaped"]
    ]


# -- Compose: the services, their images, dependencies and volumes ------------------------------


def test_compose_has_every_service(services):
    assert set(services) >= SERVICES, f"missing: {sorted(SERVICES - set(services))}"


def test_compose_needs_no_variables_to_come_up():
    # The one command must work on a fresh clone, with no .env file and nothing exported.
    references = compose_variables()
    assert references
    for match in references:
        assert match["braced"] is not None, f"${match['named']} has no default; use ${{NAME:-...}}"
        assert ":-" in match["braced"], f"${{{match['braced']}}} has no default"


def test_compose_images_are_pinned(services):
    for name, service in services.items():
        repository, tag = image_of(service)
        assert tag, f"{name}: image {service['image']!r} has no tag"
        assert tag != "latest", f"{name}: image {service['image']!r} is not pinned"
        if repository == "driftwarden":
            assert tag == importlib.metadata.version("driftwarden"), name
        else:
            assert re.match(r"v?\d+\.\d+", tag), f"{name}: {tag!r} names no exact version"


def test_compose_builds_the_image_from_the_repository_root(services):
    built = [service for service in services.values() if runs_driftwarden(service)]
    assert len(built) >= 5
    for service in built:
        # Every service of the image carries the build, so `up --build` makes the image before
        # any of them needs it, whichever starts first.
        build = service["build"]
        assert (DEPLOY / build["context"]).resolve() == REPO
        assert (REPO / build["dockerfile"]).resolve() == DOCKERFILE
    assert (REPO / ".dockerignore").is_file(), "the build context is the root: it needs one"


def test_compose_dependencies_name_existing_services(services):
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        if isinstance(depends_on, list):
            depends_on = {target: {"condition": "service_started"} for target in depends_on}
        for target, spec in depends_on.items():
            assert target in services, f"{name} depends on {target!r}, which does not exist"
            assert target != name
            condition = spec.get("condition", "service_started")
            assert condition in DEPENDENCY_CONDITIONS, f"{name}: {condition!r}"
            if condition == "service_healthy":
                check = services[target].get("healthcheck", {})
                assert check.get("test"), f"{target} has no health check"
                assert not check.get("disable"), f"{target} has its health check disabled"
            if condition == "service_completed_successfully":
                assert services[target]["restart"] == "no", f"{target} must run once"


def test_compose_volumes_are_declared(compose, services):
    declared = set(compose["volumes"])
    used = set()
    for name, service in services.items():
        for source in mounts(service):
            if source.startswith((".", "/")):
                assert (DEPLOY / source).exists(), f"{name} mounts {source}, which is missing"
            else:
                assert source in declared, f"{name} mounts undeclared volume {source!r}"
                used.add(source)
    assert used == declared, f"declared but unused: {sorted(declared - used)}"
    # Each database has a volume of its own.
    for database in ("store-db", "mlflow-db"):
        assert mounts(services[database]) == {database: "/var/lib/postgresql/data"}


def test_compose_services_restart_unless_one_shot(services):
    for name, service in services.items():
        expected = {"no"} if name == "init" else {"unless-stopped", "always", "on-failure"}
        assert service.get("restart") in expected, f"{name}: restart {service.get('restart')!r}"
        if service["restart"] != "no":
            check = service.get("healthcheck", {})
            assert check.get("test"), f"{name}: no health check"
            assert not check.get("disable"), f"{name}: health check disabled"


def test_services_of_the_image_have_their_own_health_check(services):
    # The image's HEALTHCHECK asks /ready, which only the API answers.
    for name, service in services.items():
        if not runs_driftwarden(service) or name == "api":
            continue
        check = service["healthcheck"]
        assert check.get("disable") or "/ready" not in str(check["test"]), name


def test_database_health_checks_use_pg_isready(services):
    for name in ("store-db", "mlflow-db"):
        service = services[name]
        test = service["healthcheck"]["test"]
        env = environment(service)
        assert test[:2] == ["CMD", "pg_isready"]
        assert test[test.index("-U") + 1] == env["POSTGRES_USER"]
        assert test[test.index("-d") + 1] == env["POSTGRES_DB"]
        assert re.fullmatch(r"\d+\.\d+-\w+", image_of(service)[1]), "an exact minor version"


# -- Compose: the API, its settings, and what they point at --------------------------------------


def api_settings(services: Mapping[str, Any], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings an API replica reads: its Compose environment, nothing else."""
    for name in list(os.environ):
        if name.startswith("DRIFTWARDEN_"):
            monkeypatch.delenv(name)
    for name, value in environment(services["api"]).items():
        monkeypatch.setenv(name, value)
    return Settings()


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        model = _model_of(arg)
        if model is not None:
            return model
    return None


def settings_key_exists(variable: str) -> bool:
    """Whether ``DRIFTWARDEN_A__B`` names the setting ``a.b`` (a field or its alias)."""
    model: type[BaseModel] | None = Settings
    for part in variable.removeprefix("DRIFTWARDEN_").lower().split("__"):
        if model is None:
            return False
        fields = dict(model.model_fields)
        fields |= {field.alias: field for field in model.model_fields.values() if field.alias}
        if part not in fields:
            return False
        model = _model_of(fields[part].annotation)
    return True


@pytest.mark.parametrize("name", ["api", "init", "prefect-worker"])
def test_compose_driftwarden_variables_name_real_settings(services, name):
    env = environment(services[name])
    variables = [key for key in env if key.startswith("DRIFTWARDEN_")]
    assert variables
    unknown = [key for key in variables if not settings_key_exists(key)]
    assert not unknown, f"{name}: no such settings: {unknown}"


def test_settings_key_check_refuses_unknown_keys():
    assert settings_key_exists("DRIFTWARDEN_STORE__URL")
    assert settings_key_exists("DRIFTWARDEN_SCHEMA")
    assert not settings_key_exists("DRIFTWARDEN_STORE__URI")
    assert not settings_key_exists("DRIFTWARDEN_SERVING__PORT__X")
    assert not settings_key_exists("DRIFTWARDEN_REGISTRY_TRACKING_URI")


def test_api_settings_point_at_the_store_database(services, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no driftwarden.toml
    settings = api_settings(services, monkeypatch)
    url = make_url(settings.store.url)
    database = environment(services["store-db"])
    assert url.get_backend_name() == "postgresql"
    assert (url.host, url.port) == ("store-db", 5432)
    assert url.database == database["POSTGRES_DB"]
    assert url.username == database["POSTGRES_USER"]
    assert url.password == database["POSTGRES_PASSWORD"]


def test_api_settings_point_at_the_mlflow_server(services, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = api_settings(services, monkeypatch)
    tracking = urlsplit(settings.registry.tracking_uri)
    server = options(services["mlflow"]["command"])
    assert tracking.scheme == "http"
    assert (tracking.hostname, tracking.port) == ("mlflow", int(server["--port"]))
    # Left unset, so the server decides where model files go (its artifact volume), whether
    # the registry is given the settings' home (the CLI, the worker) or not (the API).
    assert settings.registry.artifact_location == settings.home / "mlartifacts"
    for home in (settings.home, None):
        assert _artifact_location(settings.registry, home) is None


def test_api_serves_on_every_interface_with_the_monitor(services, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = api_settings(services, monkeypatch)
    assert settings.serving.host == "0.0.0.0"
    assert settings.serving.run_monitor is True
    assert settings.log_json is True
    api = services["api"]
    assert published_ports(api)[1] == settings.serving.port
    check = urlsplit(healthcheck_url(api))
    assert (check.port, check.path) == (settings.serving.port, "/ready")


def test_api_replicas_spool_to_one_volume_the_image_lets_them_write(
    services, compose, instructions, monkeypatch, tmp_path
):
    # Every replica's processes claim a file of their own in one spool folder, so rows left by
    # a replica that is gone are replayed by another, and `down` keeps them.
    monkeypatch.chdir(tmp_path)
    settings = api_settings(services, monkeypatch)
    spool_dir = str(settings.store.spool_dir)
    volume = {target: source for source, target in mounts(services["api"]).items()}[spool_dir]
    assert volume in compose["volumes"]
    (created,) = [a for a in of(runtime_stage(instructions), "RUN") if "install -d" in a]
    assert spool_dir in created.split()
    assert "-o 10001" in created


def test_api_runs_replicas_after_the_first_model(services):
    api = services["api"]
    assert api["deploy"]["replicas"] > 1
    args = build_parser().parse_args(api["command"])
    assert args.verb == "serve"
    # Host and port come from the settings, which the health check and Prometheus agree on.
    assert (args.host, args.port) == (None, None)
    assert api["depends_on"]["init"]["condition"] == "service_completed_successfully"
    # One host port per replica at least.
    first, _, last = published_ports(api)[0].partition("-")
    assert int(last or first) - int(first) + 1 >= api["deploy"]["replicas"]


def test_driftwarden_processes_share_the_store_and_registry(services):
    shared = (
        "DRIFTWARDEN_STORE__URL",
        "DRIFTWARDEN_REGISTRY__TRACKING_URI",
        "DRIFTWARDEN_RETRAINING__DEPLOYMENT",
        "PREFECT_API_URL",
    )
    api = environment(services["api"])
    for name in ("init", "prefect-worker"):
        env = environment(services[name])
        for key in shared:
            assert env[key] == api[key], f"{name} and api disagree on {key}"
        assert services[name]["env_file"] == services["api"]["env_file"]
    for env_file in services["api"]["env_file"]:
        assert env_file["required"] is False or (DEPLOY / env_file["path"]).is_file()


# -- Compose: MLflow, Prefect and the first model -------------------------------------------------


def test_mlflow_keeps_its_own_database_and_artifacts(services):
    mlflow = services["mlflow"]
    assert mlflow["entrypoint"] == ["mlflow"]
    command = mlflow["command"]
    assert command[0] == "server"
    server = options(command)
    backend = make_url(server["--backend-store-uri"])
    store = make_url(environment(services["api"])["DRIFTWARDEN_STORE__URL"])
    database = environment(services["mlflow-db"])
    assert backend.get_backend_name() == "postgresql"
    assert backend.host == "mlflow-db" != store.host
    assert backend.database == database["POSTGRES_DB"]
    assert backend.username == database["POSTGRES_USER"]
    assert backend.password == database["POSTGRES_PASSWORD"]
    assert mlflow["depends_on"]["mlflow-db"]["condition"] == "service_healthy"
    # Artifacts are served by the server from a volume of its own.
    assert "--serve-artifacts" in command
    destination = server["--artifacts-destination"]
    volume = {target: source for source, target in mounts(mlflow).items()}[destination]
    assert not volume.startswith((".", "/")), "a named volume"
    assert environment(mlflow)["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    assert urlsplit(healthcheck_url(mlflow)).path == "/health"


def test_mlflow_accepts_the_host_its_clients_send(services):
    # The server refuses Host headers outside --allowed-hosts (except on /health, so its own
    # health check would pass while every client is refused).
    tracking = urlsplit(environment(services["api"])["DRIFTWARDEN_REGISTRY__TRACKING_URI"])
    allowed = options(services["mlflow"]["command"])["--allowed-hosts"].split(",")

    def accepted(host: str) -> bool:
        return any(fnmatch.fnmatchcase(host, pattern) for pattern in allowed)

    assert accepted(tracking.netloc)
    assert accepted(f"localhost:{published_ports(services['mlflow'])[0]}")
    assert not accepted("attacker.example:5000")


def test_prefect_worker_serves_the_deployment_the_api_submits_to(services):
    worker = services["prefect-worker"]
    commands = script_commands(shell_script(worker))
    (deploy,) = [words for words in commands if words[0] == "driftwarden"]
    (start,) = [words for words in commands if words[0] == "prefect"]
    args = build_parser().parse_args(deploy[1:])
    assert (args.verb, args.action) == ("retrain", "deploy")
    assert commands.index(deploy) < commands.index(start), "deploy before polling"
    assert start[1:3] == ["worker", "start"]
    worker_options = options(start)
    assert worker_options["--pool"] == args.pool
    assert worker_options["--type"] == "process"
    api = environment(services["api"])
    assert api["DRIFTWARDEN_RETRAINING__DEPLOYMENT"] == f"{FLOW_NAME}/{args.name}"
    # Both reach the same Prefect server, on the port it listens on.
    server = environment(services["prefect-server"])
    for env in (api, environment(worker)):
        url = urlsplit(env["PREFECT_API_URL"])
        assert (url.hostname, url.port, url.path) == (
            "prefect-server",
            int(server["PREFECT_SERVER_API_PORT"]),
            "/api",
        )
    assert "--with-healthcheck" in start
    assert urlsplit(healthcheck_url(worker)).path == "/health"
    assert worker["depends_on"]["prefect-server"]["condition"] == "service_healthy"


def test_prefect_server_listens_where_its_health_check_asks(services):
    server = services["prefect-server"]
    assert server["entrypoint"] == ["prefect"]
    assert server["command"] == ["server", "start"]
    env = environment(server)
    assert env["PREFECT_SERVER_API_HOST"] == "0.0.0.0"
    check = urlsplit(healthcheck_url(server))
    assert (check.port, check.path) == (int(env["PREFECT_SERVER_API_PORT"]), "/api/health")
    # The UI's files are written at start; the image's package directory is not writable.
    ui = env["PREFECT_UI_STATIC_DIRECTORY"]
    assert any(ui.startswith(target + "/") for target in mounts(server).values())


def init_commands(services: Mapping[str, Any]) -> list[list[str]]:
    """The driftwarden commands of the init service's script, in order."""
    commands = script_commands(shell_script(services["init"]))
    assert commands[0] == ["set", "-e"]
    return commands[1:]


def test_init_migrates_the_store_then_trains_the_first_champion(services):
    init = services["init"]
    migrate, train = init_commands(services)
    assert migrate == ["driftwarden", "store", "migrate"]
    assert train[0] == "driftwarden"
    args = build_parser().parse_args(train[1:])
    assert (args.verb, args.alias, args.unless_champion) == ("train", "champion", True)
    assert args.data is None, "the bundled Telco data, inside the image"
    for dependency in ("store-db", "mlflow"):
        assert init["depends_on"][dependency]["condition"] == "service_healthy"
    assert init["healthcheck"] == {"disable": True}
    assert (
        services["prefect-worker"]["depends_on"]["init"]["condition"]
        == "service_completed_successfully"
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url = request.getfixturevalue("postgres_schema_url")
    return str(url.render_as_string(hide_password=False))


def test_init_migration_creates_the_store(services, empty_store_url, monkeypatch, tmp_path, capsys):
    migrate, _ = init_commands(services)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DRIFTWARDEN_STORE__URL", empty_store_url)
    assert main(migrate[1:]) == 0
    assert "has the newest schema" in capsys.readouterr().out
    engine = create_engine(empty_store_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"alembic_version", "predictions", "labels", "retrain_runs"} <= tables


@pytest.mark.slow
def test_init_trains_the_first_champion_once(services, monkeypatch, tmp_path, capsys):
    _, train = init_commands(services)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DRIFTWARDEN_REGISTRY__TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert main(train[1:]) == 0
    assert "as champion" in capsys.readouterr().out
    # Every later start finds it and trains nothing.
    assert main(train[1:]) == 0
    assert "has a champion already (version 1): trained nothing" in capsys.readouterr().out
    settings = load_settings()
    assert ModelRegistry(settings.registry, home=settings.home).alias_version("champion") == 1


# -- Prometheus and Grafana -----------------------------------------------------------------------


def test_prometheus_scrapes_every_api_replica(services, monkeypatch, tmp_path):
    config = yaml.safe_load(PROMETHEUS_FILE.read_text("utf-8"))
    monkeypatch.chdir(tmp_path)
    port = api_settings(services, monkeypatch).serving.port
    jobs = [
        job
        for job in config["scrape_configs"]
        if any("api" in sd.get("names", []) for sd in job.get("dns_sd_configs", []))
    ]
    assert len(jobs) == 1, "one job discovers the api replicas through Compose's DNS"
    (job,) = jobs
    assert job.get("metrics_path", "/metrics") == "/metrics"
    (sd,) = job["dns_sd_configs"]
    assert (sd["type"], sd["port"]) == ("A", port)
    prometheus = services["prometheus"]
    config_flag = next(a for a in prometheus["command"] if a.startswith("--config.file="))
    assert mounts(prometheus)["./prometheus/prometheus.yml"] == config_flag.split("=", 1)[1]


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    (path,) = (GRAFANA / "dashboards").glob("*.json")
    loaded: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return loaded


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def expressions(dashboard: Mapping[str, Any]) -> list[str]:
    return [
        target["expr"]
        for panel in panels(dashboard)
        for target in panel.get("targets", [])
        if "expr" in target
    ]


def test_grafana_is_provisioned_with_prometheus_and_the_dashboard(services, dashboard):
    grafana = services["grafana"]
    volumes = mounts(grafana)
    provisioning = volumes["./grafana/provisioning"]
    assert provisioning == "/etc/grafana/provisioning"
    (datasources,) = (GRAFANA / "provisioning" / "datasources").glob("*.yml")
    (source,) = yaml.safe_load(datasources.read_text("utf-8"))["datasources"]
    url = urlsplit(source["url"])
    assert (source["type"], url.hostname, url.port) == ("prometheus", "prometheus", 9090)
    (providers,) = (GRAFANA / "provisioning" / "dashboards").glob("*.yml")
    (provider,) = yaml.safe_load(providers.read_text("utf-8"))["providers"]
    assert provider["options"]["path"] == volumes["./grafana/dashboards"]
    home = environment(grafana)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    relative = Path(home).relative_to(volumes["./grafana/dashboards"])
    assert (GRAFANA / "dashboards" / relative).is_file()
    # Every panel and query asks the provisioned data source.
    for panel in panels(dashboard):
        for spec in [
            panel.get("datasource"),
            *[t.get("datasource") for t in panel.get("targets", [])],
        ]:
            if spec is not None:
                assert spec == {"type": "prometheus", "uid": source["uid"]}, panel["title"]


# What the exposition format makes of each metric type's name.
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "info": ("_info",),
    "summary": ("_count", "_sum", "_created"),
}
_RATED_SUFFIXES = ("_total", "_bucket", "_count", "_sum")


@pytest.fixture(scope="module")
def exposed() -> dict[str, tuple[str, str, set[str]]]:
    """Each series name a server exposes: its family, its type and its labels."""
    metrics = ServerMetrics()
    found = {}
    for wrapper in vars(metrics).values():
        if not isinstance(wrapper, MetricWrapperBase):
            continue
        (family,) = wrapper.describe()
        # The label names of a labelled metric with no child yet appear nowhere public.
        labels = set(wrapper._labelnames)
        for suffix in _SUFFIXES[family.type]:
            extra = {"le"} if suffix == "_bucket" else set()
            found[family.name + suffix] = (family.name, family.type, labels | extra)
    # Everything the registry collects was found through the wrappers.
    assert {f.name for f in metrics.registry.collect()} <= {v[0] for v in found.values()}
    # The monitor's figures, read from the store when scraped.
    for name, _, labels in MONITOR_GAUGES:
        found[name] = (name, "gauge", set(labels))
    assert {f.name for f in metrics.monitor_figures.describe()} == {g[0] for g in MONITOR_GAUGES}
    return found


# PromQL words that are not metric names.
_PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile",
    "count_values", "group", "by", "without", "on", "ignoring", "group_left", "group_right",
    "and", "or", "unless", "bool", "offset", "rate", "irate", "increase", "delta", "idelta",
    "deriv", "histogram_quantile", "clamp_min", "clamp_max", "abs", "label_replace",
    "label_join", "sort", "sort_desc", "time", "vector", "scalar", "absent", "changes",
    "resets", "max_over_time", "min_over_time", "avg_over_time", "last_over_time", "round",
}  # fmt: skip
# Series Prometheus adds itself, with their labels.
_PROMETHEUS_SERIES = {"up": {"instance", "job"}}
_TARGET_LABELS = {"instance", "job"}


def metric_uses(expr: str) -> list[tuple[str, set[str], bool]]:
    """Each metric an expression selects: its name, the labels its matchers name, and whether
    it is the argument of rate(), irate() or increase()."""
    plain = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # no words inside strings
    plain = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", plain)
    uses = []
    for match in re.finditer(r"(?<![\w.$])([a-zA-Z_:][\w:]*)\s*(\{[^}]*\})?", plain):
        name, matchers = match.group(1), match.group(2) or ""
        following = plain[match.end() :].lstrip()
        if name in _PROMQL_WORDS or following.startswith("("):
            continue
        labels = set(re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", matchers))
        rated = bool(re.search(r"\b(rate|irate|increase)\s*\(\s*$", plain[: match.start()]))
        uses.append((name, labels, rated))
    return uses


def test_dashboard_expression_parser_finds_metrics():
    uses = metric_uses(
        'histogram_quantile(0.9, sum by (le) (rate(a_bucket{x="b c"}[5m]))) / max(g) '
        "and on (instance) (increase(c_total[15m]) > 0)"
    )
    assert uses == [("a_bucket", {"x"}, True), ("g", set(), False), ("c_total", set(), True)]


def test_grafana_dashboard_queries_real_metrics(dashboard, exposed):
    exprs = expressions(dashboard)
    assert len(exprs) >= 15
    for expr in exprs:
        uses = metric_uses(expr)
        assert uses, f"no metric in {expr!r}"
        for name, labels, rated in uses:
            if name in _PROMETHEUS_SERIES:
                assert labels <= _PROMETHEUS_SERIES[name], expr
                continue
            assert name in exposed, f"{name!r} is not a metric of ServerMetrics: {expr!r}"
            _, kind, known = exposed[name]
            assert labels <= known | _TARGET_LABELS, f"{name} has no label {labels - known}"
            # Counters and histogram series only make sense as rates; a gauge never does.
            counted = kind in ("counter", "histogram") and name.endswith(_RATED_SUFFIXES)
            assert rated == counted, f"{name} {'needs' if counted else 'takes no'} rate()"
        if "histogram_quantile" in expr:
            assert re.search(r"histogram_quantile\(\s*0?\.\d+,\s*sum by \([^)]*\ble\b", expr)
            assert all(name.endswith("_bucket") for name, _, _ in uses), expr


def test_grafana_dashboard_variables_use_real_labels(dashboard, exposed):
    variables = dashboard["templating"]["list"]
    assert variables
    for variable in variables:
        match = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", variable["definition"])
        assert match is not None, variable["definition"]
        name, label = match.groups()
        assert label in exposed[name][2], variable["name"]
        used = f"${variable['name']}"
        assert any(used in expr for expr in expressions(dashboard)), f"{used} is never used"


def test_grafana_dashboard_shows_every_metric(dashboard, exposed):
    shown = {
        exposed[name][0]
        for expr in expressions(dashboard)
        for name, _, _ in metric_uses(expr)
        if name in exposed
    }
    families = {family for family, _, _ in exposed.values()}
    assert shown == families, f"not on the dashboard: {sorted(families - shown)}"
    assert any("driftwarden_model_info" in expr for expr in expressions(dashboard))


def test_grafana_panels_do_not_overlap(dashboard):
    taken: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids))


# -- The Dockerfile, its constraints and its build context ----------------------------------------


@pytest.fixture(scope="module")
def instructions() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, continuation lines joined and comments dropped."""
    lines = [
        line
        for line in DOCKERFILE.read_text("utf-8").splitlines()
        if not line.lstrip().startswith("#")
    ]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    found = []
    for line in joined.splitlines():
        if line.strip():
            instruction, _, arguments = line.strip().partition(" ")
            found.append((instruction.upper(), " ".join(arguments.split())))
    return found


def of(instructions: list[tuple[str, str]], name: str) -> list[str]:
    return [arguments for instruction, arguments in instructions if instruction == name]


def runtime_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last = max(i for i, (instruction, _) in enumerate(instructions) if instruction == "FROM")
    return instructions[last:]


def image_env(instructions: list[tuple[str, str]]) -> dict[str, str]:
    env = {}
    for arguments in of(runtime_stage(instructions), "ENV"):
        for word in shlex.split(arguments):
            key, _, value = word.partition("=")
            env[key] = value
    return env


def test_dockerfile_builds_in_stages_on_a_pinned_base(instructions):
    bases = of(instructions, "FROM")
    assert len(bases) >= 2, "a build stage and a runtime stage"
    for base in bases:
        image = base.split()[0]
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", image), image
    assert of(runtime_stage(instructions), "COPY") == [
        "--from=build /opt/driftwarden /opt/driftwarden"
    ]


def test_dockerfile_installs_with_the_constraints(instructions):
    copied = {a.split()[-1]: a.split()[-2] for a in of(instructions, "COPY") if "--from" not in a}
    installs = [a for a in of(instructions, "RUN") if "pip install" in a and ".whl" in a]
    assert len(installs) == 1
    (install,) = installs
    target = re.search(r"(?:--constraint|-c)[ =](\S+)", install)
    assert target is not None, "the package is installed with --constraint"
    assert copied[target.group(1)] == CONSTRAINTS.relative_to(REPO).as_posix()
    # The build backend is pinned too, and the wheel built with it.
    (backend,) = [a for a in of(instructions, "RUN") if "setuptools" in a]
    assert re.search(r"setuptools==\d+\.\d+\.\d+", backend)
    assert re.search(r"wheel==\d+\.\d+\.\d+", backend)
    assert any("--no-build-isolation" in a for a in of(instructions, "RUN"))


def test_dockerfile_runs_as_an_unprivileged_user(instructions):
    runtime = runtime_stage(instructions)
    users = of(runtime, "USER")
    assert users, "the runtime stage sets a USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0", "")
    (created,) = [a for a in of(runtime, "RUN") if "useradd" in a]
    assert user in created.split(), "the user is created in the image"
    # Everything after the switch runs unprivileged: no RUN or COPY comes later as root.
    switched = max(i for i, (instruction, _) in enumerate(runtime) if instruction == "USER")
    assert switched > max(
        i for i, (instruction, _) in enumerate(runtime) if instruction in ("RUN", "COPY")
    )


def test_dockerfile_starts_driftwarden(instructions):
    (entrypoint,) = of(instructions, "ENTRYPOINT")
    assert json.loads(entrypoint) == ["driftwarden"]
    (cmd,) = of(instructions, "CMD")
    assert build_parser().parse_args(json.loads(cmd)).verb == "serve"


def test_dockerfile_exposes_the_port_the_api_listens_on(
    instructions, services, monkeypatch, tmp_path
):
    env = image_env(instructions)
    (exposed_port,) = of(instructions, "EXPOSE")
    assert int(exposed_port) == int(env["DRIFTWARDEN_SERVING__PORT"])
    assert env["DRIFTWARDEN_SERVING__HOST"] == "0.0.0.0"
    monkeypatch.chdir(tmp_path)
    assert int(exposed_port) == api_settings(services, monkeypatch).serving.port


def test_dockerfile_sets_the_offline_defaults(instructions):
    env = image_env(instructions)
    (workdir,) = of(runtime_stage(instructions), "WORKDIR")
    for key, value in offline_defaults().items():
        assert key in env, f"the image does not set {key}"
        if key == "PREFECT_HOME":
            # driftwarden's home is .driftwarden in the working directory.
            assert env[key] == f"{workdir}/.driftwarden/prefect"
        else:
            assert env[key] == value, key
    makefile = (REPO / "Makefile").read_text("utf-8")
    for key in re.findall(r"^export (\w+) \?=", makefile, re.M):
        assert key in env, f"the Makefile exports {key}; the image does not"


class _Ready(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/ready" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads the exit status, not the server's log."""


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_dockerfile_health_check_follows_ready(instructions, status, healthy):
    (healthcheck,) = of(instructions, "HEALTHCHECK")
    command = json.loads(healthcheck.split(" CMD ", 1)[1])
    assert command[:2] == ["python", "-c"], "the image has no curl"
    handler = type("Handler", (_Ready,), {"status": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {**os.environ, "DRIFTWARDEN_SERVING__PORT": str(server.server_address[1])}
        done = subprocess.run(
            [sys.executable, *command[1:]], env=env, capture_output=True, timeout=30
        )
    finally:
        server.shutdown()
        server.server_close()
    assert (done.returncode == 0) is healthy, done.stderr.decode()


def _runtime_requirements() -> set[str]:
    """The names of driftwarden's runtime requirements and theirs, as installed here."""
    seen: set[str] = set()
    pending: list[tuple[str, frozenset[str]]] = [("driftwarden", frozenset())]
    with_extras: dict[str, frozenset[str]] = {}
    while pending:
        name, extras = pending.pop()
        key = canonicalize_name(name)
        if key in seen and extras <= with_extras.get(key, frozenset()):
            continue
        seen.add(key)
        with_extras[key] = with_extras.get(key, frozenset()) | extras
        for raw in importlib.metadata.requires(name) or []:
            requirement = Requirement(raw)
            environments = [{"extra": extra} for extra in extras or {""}]
            if requirement.marker is None or any(
                requirement.marker.evaluate(env) for env in environments
            ):
                pending.append((requirement.name, frozenset(requirement.extras)))
    seen.discard("driftwarden")
    return seen


def test_constraints_pin_every_runtime_requirement():
    pins = {}
    for line in CONSTRAINTS.read_text("utf-8").splitlines():
        if line and not line.startswith("#"):
            match = re.fullmatch(r"([A-Za-z0-9._-]+)==([A-Za-z0-9.+!-]+)", line)
            assert match, f"not an exact pin: {line!r}"
            pins[canonicalize_name(match.group(1))] = match.group(2)
    for raw in importlib.metadata.requires("driftwarden") or []:
        requirement = Requirement(raw)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue  # an extra (dev, bench, explain): not in the image
        pinned = pins.get(canonicalize_name(requirement.name))
        assert pinned is not None, f"{requirement.name} is not pinned in {CONSTRAINTS.name}"
        assert requirement.specifier.contains(pinned, prereleases=True), (
            f"{requirement.name}=={pinned} does not satisfy pyproject.toml's {requirement}"
        )
    runtime = _runtime_requirements()
    assert set(pins) == runtime, (
        f"regenerate {CONSTRAINTS.name}: not pinned {sorted(runtime - set(pins))}, "
        f"not a runtime requirement {sorted(set(pins) - runtime)}"
    )
    for tool in ("pytest", "ruff", "mypy", "hypothesis", "playwright", "shap"):
        assert tool not in pins


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Whether Docker leaves ``path`` out of the build context (last matching pattern wins; a
    pattern matching a parent folder matches everything in it)."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.removeprefix("!").strip("/")
        if pattern.startswith("**/"):
            matched = any(fnmatch.fnmatchcase(p.split("/")[-1], pattern[3:]) for p in prefixes)
        else:
            matched = any(
                fnmatch.fnmatchcase(p, pattern) and p.count("/") == pattern.count("/")
                for p in prefixes
            )
        if matched:
            excluded = not negated
    return excluded


def test_dockerignore_keeps_the_context_to_what_the_build_copies(instructions):
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = [
        source
        for arguments in of(instructions, "COPY")
        if not arguments.startswith("--from")
        for source in arguments.split()[:-1]
    ]
    assert "src" in sources
    for source in sources:
        assert (REPO / source).exists(), source
        assert not dockerignored(source, patterns), f"{source} is copied but ignored"
    package_data = [
        "src/driftwarden/data/telco_churn.csv.gz",
        "src/driftwarden/store/migrations/env.py",
        "src/driftwarden/retraining/prefect_logging.yml",
        "src/driftwarden/py.typed",
    ]
    for path in package_data:
        assert (REPO / path).is_file(), path
        assert not dockerignored(path, patterns), path
    for path in (
        ".venv/bin/python",
        ".git/HEAD",
        ".driftwarden/driftwarden.db",
        "tests/conftest.py",
        "benchmarks/serve.py",
        "src/driftwarden/__pycache__/settings.cpython-311.pyc",
    ):
        assert dockerignored(path, patterns), f"{path} would be sent to the build"


# -- The documentation ----------------------------------------------------------------------------


def test_deployment_docs_describe_every_service_and_setting(services):
    docs = DOCS.read_text("utf-8")
    for name in services:
        assert f"`{name}`" in docs, f"docs/deployment.md does not describe {name}"
    assert "docker compose -f deploy/compose.yaml up -d --build" in docs
    for name in ("api", "init", "prefect-worker"):
        for key in environment(services[name]):
            assert key in docs, f"docs/deployment.md does not explain {key}"
    for match in compose_variables():
        variable = match["braced"].split(":-")[0]
        assert f"`{variable}`" in docs, f"docs/deployment.md does not list ${variable}"
    assert "--scale api=" in docs
    assert "a lease in the store" in docs
    assert "needs no Docker" in docs
    for _name, service in services.items():
        repository, tag = image_of(service)
        if repository != "driftwarden":
            assert f"{repository}:{tag}" in docs, f"docs/deployment.md names another {repository}"
