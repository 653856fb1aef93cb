"""Dashboard benchmark: how long each page of the live dashboard takes to draw in a real browser.

Run from the repository root::

    .venv/bin/python benchmarks/dashboard.py                               # 30 days x 2,000/day
    .venv/bin/python benchmarks/dashboard.py --days 3 --rate 500 --runs 2  # quick, about 1 min

A store of ``--days`` simulated days at ``--rate`` predictions a day (the ``concept`` scenario,
``driftwarden.simulation.simulate``) is built once and cached under ``benchmarks/.cache/`` (one
folder per days, rate and seed; ``--rebuild`` makes it afresh); ``driftwarden serve`` serves it
and ``driftwarden dashboard`` (Streamlit) reads that API, each a subprocess on a free port.
Debian's Chromium, driven by Playwright's sync API, opens each page (overview, drift,
performance, quality, models, alerts, retraining) in a new tab, which is a new Streamlit session;
a recorder injected before any of the page's scripts notes, with ``performance.now()`` (from the
navigation's ``performance.timeOrigin``), every change of the app's script-run state, its
skeletons and status widget, and the number of Plotly charts (``stPlotlyChart``) and of those
drawn (a ``.js-plotly-plot`` holding an ``svg.main-svg``). A load ends when the script run has
finished, nothing is a skeleton, every chart and table is drawn and none of that has changed for
300 ms; the figures are the time of the first chart drawn and the time the final count of drawn
charts was first reached (pages without a chart: their tables, else their first content). Each
page is measured cold (its first visit since the dashboard started, in a fresh browser profile;
the overview, visited first, also pays the dashboard's first script run) and warm (median of
``--runs`` visits in one browser profile, round-robin over the pages). The dashboard runs with
``dashboard.cache_ttl = 0`` unless ``--cache-ttl`` says otherwise, so every load reads the API
afresh, as a first look after the shared cache expired does. Beside it, each page's reads are
timed against the API with ``DriftwardenClient``, to tell the API's share from Streamlit's and
the browser's. Targets (from the issue; there is no peer tool): first chart
under 2 s and all charts under 3 s, reported as PASS/FAIL; a missed target never makes the
command fail, only a real error does.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import psutil

import _common
from _common import cpu_model, finite_or_none, fmt

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
SRC = REPO / "src" / "driftwarden"
CACHE_DIR = BENCH_DIR / ".cache"

DEFAULT_DAYS = 30
DEFAULT_RATE = 2000
DEFAULT_RUNS = 5
DEFAULT_SEED = 0
SCENARIOS = ("concept",)
#: The page, the URL path Streamlit gives it (``st.navigation``; the default page is ``/``).
PAGES: tuple[tuple[str, str], ...] = (
    ("overview", "/"),
    ("drift", "/drift"),
    ("performance", "/performance"),
    ("quality", "/quality"),
    ("models", "/models"),
    ("alerts", "/alerts"),
    ("retraining", "/retraining"),
)
#: The title of each page's link in the sidebar (app.py's st.Page titles).
TITLES = {
    "overview": "Overview",
    "drift": "Drift",
    "performance": "Performance",
    "quality": "Data quality",
    "models": "Models and A/B",
    "alerts": "Alerts",
    "retraining": "Retraining",
}
# A click in the sidebar starts from a page that draws none of what is timed: charts are timed
# coming from Alerts (tables, no chart), tables coming from the Overview (charts, no table).
CLICK_FROM = {"chart": "alerts", "table": "overview", "content": "overview"}
#: The time points of a load's figures: after a click, taken from the click instead.
TIME_POINTS = (
    "connected_s",
    "script_start_s",
    "script_end_s",
    "first_chart_s",
    "all_charts_s",
    "first_table_s",
    "all_tables_s",
    "first_content_s",
    "settled_s",
    "first_s",
    "all_s",
)
CLICKED_JS = """(stable) => !!window.__dwBench &&
  window.__dwBench.log.some((s) => s.state === "running") && window.__dwBench.finished(stable)"""
RESET_JS = """() => { const r = window.__dwBench; r.log = []; r.last = null; r.sample();
  return performance.now(); }"""
TARGET_FIRST_S = 2.0
TARGET_ALL_S = 3.0
STABLE_MS = 300
READY_TIMEOUT_S = 120.0
ADMIN_KEY = "bench-admin"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1440, "height": 900}
QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
}


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


# Progress lines go to stderr: the results table and the JSON line go to stdout.
say = partial(_common.say, stream=sys.stderr)
step = partial(_common.step, stream=sys.stderr)
done = partial(_common.done, stream=sys.stderr)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def source_files() -> dict[str, str]:
    """SHA-256 of each file of ``src/driftwarden``, by path: what code was measured, without
    git. Taken at the start and at the end of the run (others may edit meanwhile)."""
    return {
        path.relative_to(SRC).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(SRC.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def source_digest(files: Mapping[str, str]) -> str:
    digest = hashlib.sha256()
    for path, sha in files.items():
        digest.update(f"{path}\0{sha}\n".encode())
    return digest.hexdigest()


def source_state(before: Mapping[str, str], after: Mapping[str, str]) -> dict[str, Any]:
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    if changed:
        say(
            f"warning: src/driftwarden changed during the run ({', '.join(changed)}): the "
            "figures may mix two versions of the code"
        )
    return {"src_sha256": source_digest(before), "changed_during_run": changed}


def child_environment() -> dict[str, str]:
    """The servers' environment: this one without ``DRIFTWARDEN_*`` (the settings file decides
    everything, as in the tests), with telemetry off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTWARDEN_")}
    env.update(QUIET_ENV)
    return env


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float | None:
    """CPU seconds the whole machine spent busy (all cores; ``/proc/stat``), steal excluded."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    return (user + nice + system + irq + softirq) / CLOCK_TICKS


@dataclass(frozen=True)
class CpuSnapshot:
    machine: float | None
    #: pid -> (role, user + system CPU seconds) for this process and each of its descendants.
    processes: dict[int, tuple[str, float]]


def cpu_snapshot(servers: Mapping[str, psutil.Process | None]) -> CpuSnapshot:
    """CPU seconds of every process of the benchmark, each with its role: one of ``servers``
    (the process and its descendants), ``browser`` (Chromium), or ``bench`` (this process and
    Playwright's driver)."""
    roles: dict[int, str] = {}
    for role, root in servers.items():
        if root is None:
            continue
        with contextlib.suppress(psutil.Error):
            for member in [root, *root.children(recursive=True)]:
                roles[member.pid] = role
    me = psutil.Process()
    processes: dict[int, tuple[str, float]] = {}
    machine = machine_busy_seconds()
    for member in [me, *me.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            role = roles.get(member.pid) or ("browser" if "chrom" in member.name() else "bench")
            times = member.cpu_times()
            processes[member.pid] = (role, times.user + times.system)
    return CpuSnapshot(machine, processes)


def cpu_spent(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float | None]:
    """CPU seconds per role between two snapshots, per process (a tab's renderer exits with its
    tab), and ``others``: what the rest of the machine used meanwhile."""
    spent: dict[str, float | None] = {"dashboard": 0.0, "api": 0.0, "browser": 0.0, "bench": 0.0}
    for pid, (role, seconds) in after.processes.items():
        previous = before.processes.get(pid)
        spent[role] = (spent.get(role) or 0.0) + seconds - (previous[1] if previous else 0.0)
    ours = sum(v or 0.0 for v in spent.values())
    spent["others"] = (
        None
        if before.machine is None or after.machine is None
        else max(0.0, after.machine - before.machine - ours)
    )
    return {f"{role}_cpu_s": value for role, value in spent.items()}


# --------------------------------------------------------------------------------------------------
# The simulated store, cached
# --------------------------------------------------------------------------------------------------


def stop_prefect_server() -> None:
    """Stop the ephemeral Prefect server the simulation's retraining flows started in this
    process (it would otherwise live, and use CPU, until the process exits)."""
    if "prefect.server.api.server" not in sys.modules:
        return
    from prefect.server.api.server import SubprocessASGIServer

    SubprocessASGIServer().stop()


def state_folder(days: int, rate: int, seed: int) -> Path:
    suffix = "" if seed == DEFAULT_SEED else f"-seed{seed}"
    return CACHE_DIR / f"dashboard-{days}d-{rate}{suffix}"


def simulated_state(days: int, rate: int, seed: int, *, rebuild: bool) -> dict[str, Any]:
    """The cached state folder for these options, built first if missing (or ``rebuild``).

    The simulation runs in place (MLflow keeps absolute artifact paths, so the folder cannot be
    moved afterwards); ``meta.json`` is written last and marks a complete folder, so an
    interrupted build is started over.
    """
    folder = state_folder(days, rate, seed)
    meta_path = folder / "meta.json"
    # The state comes from everything but the dashboard, which only reads it.
    files = source_files()
    digest = source_digest({p: h for p, h in files.items() if not p.startswith("dashboard/")})
    if meta_path.is_file() and not rebuild:
        meta = json.loads(meta_path.read_text("utf-8"))
        say(
            f"-> reusing the simulated store {folder.relative_to(REPO)} (built "
            f"{meta['built_at']} in {meta['seconds']:.0f} s; --rebuild makes it afresh)"
        )
        if meta.get("src_sha256") != digest:
            say(
                "   note: src/driftwarden (outside dashboard/) changed since it was built; the "
                "current API serves the old state (--rebuild to simulate again)"
            )
        return {**meta, "reused": True}
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    t = step(
        f"simulating {days} days at {rate:,} predictions a day (scenario "
        f"{', '.join(SCENARIOS)}, seed {seed}) into {folder.relative_to(REPO)}"
    )
    # Prefect (the retraining flow) keeps its ephemeral server's database beside the state.
    os.environ["PREFECT_HOME"] = str(folder / "prefect")
    os.environ.pop("PREFECT_API_URL", None)
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    for key in [k for k in os.environ if k.startswith("DRIFTWARDEN_")]:
        del os.environ[key]

    from driftwarden.core import load_settings
    from driftwarden.simulation.simulate import SimulationOptions, simulate

    # The API, monitor and flow log every run at INFO (as `driftwarden simulate` quiets them).
    for name in ("driftwarden", "prefect", "mlflow"):
        logging.getLogger(name).setLevel(logging.WARNING)
    options = SimulationOptions(scenarios=SCENARIOS, days=days, rate=rate, seed=seed)
    # In the folder: a driftwarden.toml in the working directory must not change the state.
    with contextlib.chdir(folder):
        try:
            settings = load_settings(None, home=str(folder / "home"), alerts={"log": False})
            result = simulate(
                settings, options, folder / "state", progress=lambda message: say(f"   {message}")
            )
        finally:
            stop_prefect_server()
    seconds = time.perf_counter() - t
    meta = {
        "days": days,
        "rate": rate,
        "seed": seed,
        "scenarios": list(SCENARIOS),
        "seconds": seconds,
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "src_sha256": digest,
        "alerts": len(result.alerts),
        "retraining_runs": len(result.retraining_runs),
        "ab_tests": len(result.ab_tests),
    }
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", "utf-8")
    done(t, f": {meta['alerts']} alerts, {meta['retraining_runs']} retraining runs")
    return {**meta, "reused": False}


# --------------------------------------------------------------------------------------------------
# The API and the dashboard, as subprocesses
# --------------------------------------------------------------------------------------------------


@dataclass
class Service:
    """One server process in its own session (so it and its children stop together)."""

    name: str
    command: list[str]
    ready_url: str
    log_path: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    ready_seconds: float | None = None

    def start(self) -> None:
        self.started = time.perf_counter()
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.command,
                cwd=self.log_path.parent,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        if self.proc is None:
            raise RuntimeError(f"{self.name} was not started")
        deadline = self.started + READY_TIMEOUT_S
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited early ({self.proc.returncode}):\n{self.tail()}"
                )
            try:
                with urllib.request.urlopen(self.ready_url, timeout=2) as response:
                    if response.status == 200:
                        self.ready_seconds = time.perf_counter() - self.started
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {READY_TIMEOUT_S:.0f} s:\n{self.tail()}")

    @property
    def process(self) -> psutil.Process | None:
        if self.proc is None or self.proc.poll() is not None:
            return None
        try:
            return psutil.Process(self.proc.pid)
        except psutil.Error:
            return None

    def stop(self) -> None:
        """SIGINT to the process group (uvicorn and Streamlit stop cleanly on it), SIGKILL after
        20 s."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        # Nothing of the group may outlive it (a CLI that ran Streamlit as a child, not exec).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def write_config(path: Path, home: Path, api_port: int, cache_ttl: float) -> Path:
    import tomli_w

    path.write_text(
        tomli_w.dumps(
            {
                "home": str(home),
                "log_level": "WARNING",
                "serving": {"port": api_port, "admin_api_key": ADMIN_KEY, "run_monitor": False},
                "alerts": {"log": False},
                # dashboard.api_url is left out: the dashboard derives it from serving.port.
                "dashboard": {"cache_ttl": f"PT{cache_ttl:g}S"},
            }
        ),
        "utf-8",
    )
    return path


def make_services(workdir: Path, state: Path, cache_ttl: float) -> tuple[Service, Service]:
    api_port, dash_port = free_port(), free_port()
    config = write_config(workdir / "driftwarden.toml", state, api_port, cache_ttl)
    env = child_environment()
    base = [sys.executable, "-m", "driftwarden", "--config", str(config)]
    api = Service(
        "driftwarden serve",
        [*base, "serve"],
        f"http://127.0.0.1:{api_port}/health",
        workdir / "serve.log",
        env,
    )
    dashboard = Service(
        "driftwarden dashboard",
        [*base, "dashboard", "--port", str(dash_port)],
        f"http://127.0.0.1:{dash_port}/_stcore/health",
        workdir / "dashboard.log",
        env,
    )
    return api, dashboard


# --------------------------------------------------------------------------------------------------
# In the browser
# --------------------------------------------------------------------------------------------------

#: Injected before any script of the page (``add_init_script``): logs, at each DOM change, what
#: the page shows, with ``performance.now()`` (milliseconds from the navigation's timeOrigin).
RECORDER_JS = """
(() => {
  if (window !== window.top || window.__dwBench) return;
  const rec = { log: [], last: null, lastChange: 0 };
  window.__dwBench = rec;
  const all = (sel) => document.querySelectorAll(sel);
  // Only what is displayed counts: a table in a collapsed expander is never drawn.
  const shown = (el) =>
    el.checkVisibility ? el.checkVisibility() : el.getClientRects().length > 0;
  const count = (sel) => {
    let n = 0;
    for (const el of all(sel)) if (shown(el)) n++;
    return n;
  };
  const holding = (sel, inner) => {
    let n = 0;
    for (const el of all(sel)) if (shown(el) && el.querySelector(inner)) n++;
    return n;
  };
  rec.sample = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    const main = document.querySelector('[data-testid="stMain"]');
    const s = {
      state: app ? app.getAttribute("data-test-script-state") : null,
      connection: app ? app.getAttribute("data-test-connection-state") : null,
      charts: count('[data-testid="stPlotlyChart"]'),
      drawn: holding(".js-plotly-plot", "svg.main-svg"),
      tables: count('[data-testid="stDataFrame"]'),
      hidden_tables: all('[data-testid="stDataFrame"]').length -
        count('[data-testid="stDataFrame"]'),
      tables_drawn: holding('[data-testid="stDataFrame"]', "canvas"),
      content: main ? main.querySelectorAll(
        '[data-testid="stAlert"], [data-testid="stMetric"], [data-testid="stDataFrame"], ' +
        '[data-testid="stPlotlyChart"], [data-testid="stExpander"]').length : 0,
      skeletons: all('[data-testid="stSkeleton"], [data-testid="stSkeletonElement"], ' +
        '[data-testid="stAppSkeleton"]').length,
      status: all('[data-testid="stStatusWidget"]').length,
      exceptions: all('[data-testid="stException"]').length,
      errors: all('[data-testid="stAlertContentError"]').length,
    };
    const key = JSON.stringify(s);
    if (key !== rec.last) {
      rec.last = key;
      s.t = performance.now();
      rec.lastChange = s.t;
      rec.log.push(s);
    }
    return s;
  };
  // Sampled at the next frame after a DOM change (when the change gets painted), not inside
  // the observer: checkVisibility forces a layout, which would otherwise run at every change.
  let pending = false;
  const frame = () => {
    pending = false;
    rec.sample();
  };
  new MutationObserver(() => {
    if (!pending) {
      pending = true;
      requestAnimationFrame(frame);
    }
  }).observe(document, {
    subtree: true, childList: true, attributes: true,
    attributeFilter: ["data-test-script-state", "data-test-connection-state"],
  });
  setInterval(rec.sample, 100);  // in case frames are throttled
  rec.finished = (stableMs) => {
    const s = rec.sample();
    return s.state === "notRunning" && s.connection === "CONNECTED" && s.skeletons === 0 &&
      s.status === 0 && s.drawn >= s.charts && s.tables_drawn >= s.tables &&
      performance.now() - rec.lastChange >= stableMs;
  };
  rec.report = () => {
    const nav = performance.getEntriesByType("navigation")[0];
    const texts = (sel) => Array.from(all(sel)).map((el) => el.innerText.slice(0, 300));
    return {
      log: rec.log,
      now: performance.now(),
      response_end: nav ? nav.responseEnd : null,
      dom_content_loaded: nav ? nav.domContentLoadedEventEnd : null,
      errors: texts('[data-testid="stAlertContentError"]'),
      exceptions: texts('[data-testid="stException"]'),
    };
  };
})();
"""

FINISHED_JS = "(stable) => !!window.__dwBench && window.__dwBench.finished(stable)"


def _first(log: Sequence[Mapping[str, Any]], test: Callable[[Mapping[str, Any]], bool]) -> Any:
    return next((s["t"] / 1000 for s in log if test(s)), None)


def _settled(log: Sequence[Mapping[str, Any]], field: str) -> float | None:
    """When ``field`` first took the value it ends with (and kept it), in seconds; None when
    it ends at zero."""
    final = log[-1][field] if log else 0
    if not final:
        return None
    since = None
    for sample in log:
        if sample[field] != final:
            since = None
        elif since is None:
            since = sample["t"]
    return None if since is None else since / 1000


def figures(report: Mapping[str, Any]) -> dict[str, Any]:
    """One load's figures (seconds from the navigation's start) from the recorder's log."""
    log = report["log"]
    last = log[-1] if log else {}
    charts, tables = last.get("charts", 0), last.get("tables", 0)
    out = {
        "charts": charts,
        "tables": tables,
        "html_s": None if report["response_end"] is None else report["response_end"] / 1000,
        "dom_content_loaded_s": None
        if report["dom_content_loaded"] is None
        else report["dom_content_loaded"] / 1000,
        "connected_s": _first(log, lambda s: s["connection"] == "CONNECTED"),
        "script_start_s": _first(log, lambda s: s["state"] == "running"),
        "script_end_s": _first(log, lambda s: s["state"] == "notRunning"),
        "first_chart_s": _first(log, lambda s: s["drawn"] > 0),
        "all_charts_s": _settled(log, "drawn"),
        "first_table_s": _first(log, lambda s: s["tables_drawn"] > 0),
        "all_tables_s": _settled(log, "tables_drawn"),
        "first_content_s": _first(log, lambda s: s["content"] > 0),
        "settled_s": log[-1]["t"] / 1000 if log else None,
        "errors": report["errors"],
        "exceptions": report["exceptions"],
    }
    if charts:
        out["basis"] = "chart"
        out["first_s"], out["all_s"] = out["first_chart_s"], out["all_charts_s"]
    elif tables:
        out["basis"] = "table"
        out["first_s"], out["all_s"] = out["first_table_s"], out["all_tables_s"]
    else:
        out["basis"] = "content"
        out["first_s"], out["all_s"] = out["first_content_s"], out["script_end_s"]
    return out


@dataclass
class Browser:
    """Chromium under Playwright, and the two servers whose CPU each load is charged with."""

    browser: Any
    base_url: str
    api: Service
    dashboard: Service
    timeout_s: float
    stable_ms: int

    def context(self) -> Any:
        context = self.browser.new_context(viewport=VIEWPORT)
        context.add_init_script(RECORDER_JS)
        return context

    def load(self, context: Any, path: str) -> dict[str, Any]:
        """One fresh navigation in a new tab (a new Streamlit session), until the page is
        finished; its figures, or the error and what the page showed by then."""
        from playwright.sync_api import Error as PlaywrightError

        page = context.new_page()
        servers = {"dashboard": self.dashboard.process, "api": self.api.process}
        before = cpu_snapshot(servers)
        start = time.perf_counter()
        error = None
        try:
            page.goto(self.base_url + path, wait_until="commit", timeout=self.timeout_s * 1000)
            page.wait_for_function(
                FINISHED_JS, arg=self.stable_ms, polling=50, timeout=self.timeout_s * 1000
            )
        except PlaywrightError as exc:
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        wall = time.perf_counter() - start
        spent = cpu_spent(before, cpu_snapshot(servers))
        try:
            report = page.evaluate("window.__dwBench ? window.__dwBench.report() : null")
        except PlaywrightError as exc:
            report, error = None, error or f"{type(exc).__name__}: {exc}"
        page.close()
        result: dict[str, Any] = (
            figures(report) if report else {"basis": None, "first_s": None, "all_s": None}
        )
        if error is None and (result.get("errors") or result.get("exceptions")):
            # A banner in place of the view (the API down, an exception): nothing to time.
            error = f"the page shows {result.get('errors') or result.get('exceptions')}"
        if error is not None:
            result["first_s"] = result["all_s"] = None
        result.update({"wall_s": wall, "error": error, **spent})
        if report:
            # The timeline itself (a few dozen samples), for a look at where a load went.
            result["log"] = report["log"]
        if error and report:
            result["last_sample"] = report["log"][-1] if report["log"] else None
        return result

    def click(self, page: Any, name: str, origin: str) -> dict[str, Any]:
        """In one tab (one Streamlit session, the page's scripts loaded): go to ``origin``, then
        click ``name`` in the sidebar; its figures from the click, as a user moves around."""
        from playwright.sync_api import Error as PlaywrightError

        timeout = self.timeout_s * 1000
        error = None
        try:
            if not page.url.endswith(dict(PAGES)[origin]) or page.url == "about:blank":
                page.goto(self.base_url + dict(PAGES)[origin], wait_until="commit")
                page.wait_for_function(FINISHED_JS, arg=self.stable_ms, polling=50, timeout=timeout)
            clicked = page.evaluate(RESET_JS)
            nav = page.locator('[data-testid="stSidebarNav"]')
            nav.get_by_text(TITLES[name], exact=True).click()
            page.wait_for_function(CLICKED_JS, arg=self.stable_ms, polling=50, timeout=timeout)
            report = page.evaluate("window.__dwBench.report()")
        except PlaywrightError as exc:
            return {"first_s": None, "all_s": None, "error": f"{type(exc).__name__}: {exc}"}
        result = figures(report)
        for key in TIME_POINTS:
            if result.get(key) is not None:
                result[key] -= clicked / 1000
        if result.get("errors") or result.get("exceptions"):
            error = f"the page shows {result.get('errors') or result.get('exceptions')}"
            result["first_s"] = result["all_s"] = None
        result["error"] = error
        return result


def describe(load: Mapping[str, Any]) -> str:
    if load.get("error"):
        return f"ERROR {load['error']} (last: {load.get('last_sample')})"
    text = (
        f"{load.get('charts', 0)} charts, {load.get('tables', 0)} tables; first "
        f"{load['basis']} {fmt(load['first_s'], '.2f')} s, all {fmt(load['all_s'], '.2f')} s, "
        f"script end {fmt(load.get('script_end_s'), '.2f')} s"
    )
    return text


def measure_pages(
    browser: Browser, pages: Sequence[tuple[str, str]], runs: int
) -> dict[str, dict[str, Any]]:
    """Cold: each page once, in page order, each in a fresh browser profile. Warm: ``runs``
    rounds over the pages in one profile: the first cold load's, so its HTTP cache is filled."""
    results: dict[str, dict[str, Any]] = {
        name: {"path": path, "warm_runs": []} for name, path in pages
    }
    warm_context = browser.context()
    try:
        t = step("cold loads: each page's first visit, each in a fresh browser profile")
        for index, (name, path) in enumerate(pages):
            context = warm_context if index == 0 else browser.context()
            try:
                load = browser.load(context, path)
            finally:
                if context is not warm_context:
                    context.close()
            results[name]["cold"] = load
            say(f"   {name:<11} {describe(load)}")
        done(t)
        t = step(f"warm loads: {runs} rounds over the pages in one browser profile")
        for round_ in range(1, runs + 1):
            for name, path in pages:
                load = browser.load(warm_context, path)
                results[name]["warm_runs"].append(load)
                say(f"   round {round_} {name:<11} {describe(load)}")
        done(t)
        t = step(f"clicks in the sidebar: {runs} rounds, one tab, each page from one without")
        tab = warm_context.new_page()
        for round_ in range(1, runs + 1):
            for name, _ in pages:
                basis = results[name]["cold"].get("basis") or "content"
                origin = CLICK_FROM[basis] if name != CLICK_FROM[basis] else "overview"
                load = browser.click(tab, name, origin)
                results[name].setdefault("click_runs", []).append(load)
                say(f"   round {round_} {name:<11} {describe(load)}")
        done(t)
    finally:
        warm_context.close()
    for name, _ in pages:
        warm = results[name]["warm_runs"]
        ok = [w for w in warm if not w.get("error")]
        results[name]["warm"] = {
            key: median([w.get(key) for w in ok])
            for key in (
                "first_s",
                "all_s",
                "html_s",
                "dom_content_loaded_s",
                "connected_s",
                "script_start_s",
                "script_end_s",
                "first_chart_s",
                "all_charts_s",
                "first_table_s",
                "all_tables_s",
                "settled_s",
                "wall_s",
                "dashboard_cpu_s",
                "api_cpu_s",
                "browser_cpu_s",
                "bench_cpu_s",
                "others_cpu_s",
            )
        }
        clicks = [c for c in results[name].get("click_runs", []) if not c.get("error")]
        results[name]["click"] = {
            "first_s": median([c.get("first_s") for c in clicks]),
            "all_s": median([c.get("all_s") for c in clicks]),
            "errors": len(results[name].get("click_runs", [])) - len(clicks),
        }
        results[name]["warm"]["errors"] = len(warm) - len(ok)
        results[name]["warm"]["basis"] = ok[0]["basis"] if ok else None
        results[name]["warm"]["charts"] = ok[0].get("charts") if ok else None
        results[name]["warm"]["tables"] = ok[0].get("tables") if ok else None
    return results


# --------------------------------------------------------------------------------------------------
# Each page's reads, straight against the API
# --------------------------------------------------------------------------------------------------


def _time(client: Any, calls: list[dict[str, Any]], method: str, /, *args: Any, **kw: Any) -> Any:
    start = time.perf_counter()
    found = getattr(client, method)(*args, **kw)
    seconds = time.perf_counter() - start
    shown = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kw.items())])
    size = len(json.dumps(found, default=str))
    calls.append({"call": f"{method}({shown})", "seconds": seconds, "json_bytes": size})
    return found


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def page_reads(page: str, client: Any) -> list[dict[str, Any]]:
    """The reads ``src/driftwarden/dashboard/pages/<page>.py`` makes on its first run (default
    widget values), in its order, each timed. A copy of the pages' logic: keep it in step with
    them (the API column is a guide to the API's share, the browser figures do not use it)."""
    calls: list[dict[str, Any]] = []
    if page == "overview":
        _time(client, calls, "models")
        _time(client, calls, "monitoring_runs", limit=200)
        _time(client, calls, "alerts", status="open", limit=500)
        _time(client, calls, "retraining_runs", limit=1)
        tests = _time(client, calls, "ab_tests", limit=5)
        running = [t for t in tests if t["status"] == "running"]
        if running:
            _time(client, calls, "ab_test", running[0]["id"])
    elif page == "drift":
        runs = [r for r in _time(client, calls, "monitoring_runs", limit=120) if r.get("results")]
        if runs:
            run = runs[0]
            points = _time(client, calls, "drift", start=_parse_time(runs[-1]["window_end"]))
            latest = [p for p in points if p["window_end"] == run["window_end"]]
            if latest:
                worst: dict[str, float] = {}
                for p in latest:
                    worst[p["feature"]] = max(worst.get(p["feature"], 0.0), p["statistic"] or 0.0)
                feature = sorted(worst, key=lambda f: (-worst[f], f))[0]
                served = {r["model_version"]: r["n_rows"] for r in run["results"]}
                versions = sorted(
                    {p["model_version"] for p in latest}, key=lambda v: -served.get(v, 0)
                )
                _time(
                    client,
                    calls,
                    "distribution",
                    feature=feature,
                    start=_parse_time(run["window_start"]),
                    end=_parse_time(run["window_end"]),
                    version=versions[0],
                )
            # The explanation drift table reads the latest runs in detail.
            _time(client, calls, "monitoring_runs", limit=25, detail=True)
    elif page == "performance":
        points = _time(client, calls, "performance", limit=120)
        _time(client, calls, "models")  # the task: which metrics and charts
        labelled = [p for p in points if p["n_labelled"] > 0]
        if labelled:
            windows = sorted({(p["window_start"], p["window_end"]) for p in labelled})
            start, end = windows[-1]
            _time(
                client,
                calls,
                "classification",
                start=_parse_time(start),
                end=_parse_time(end),
                version=None,
            )
    elif page == "quality":
        runs = [r for r in _time(client, calls, "monitoring_runs", limit=120) if r.get("results")]
        if runs:
            _time(client, calls, "quality", start=_parse_time(runs[-1]["window_end"]))
    elif page == "models":
        models = _time(client, calls, "models")
        if models.get("versions"):
            tests = _time(client, calls, "ab_tests", limit=20)
            if tests:
                # The test the page opens: the running one, else the newest.
                first = min(tests, key=lambda t: (t["status"] != "running", -t["id"]))
                _time(client, calls, "ab_test", first["id"])
            _time(client, calls, "model_history")
    elif page == "alerts":
        _time(client, calls, "alerts", status=None, severity=None, rule=None, limit=500)
    elif page == "retraining":
        _time(client, calls, "retraining_runs", limit=100)
    else:
        raise ValueError(f"unknown page {page!r}")
    return calls


def measure_api(api_url: str, pages: Sequence[str], runs: int) -> dict[str, dict[str, Any]]:
    """Each page's reads, ``runs`` times in a row (after one untimed pass), through one
    ``DriftwardenClient`` as the dashboard's shared client does; medians per call and in all."""
    from driftwarden.client import DriftwardenClient

    t = step(f"each page's API reads with DriftwardenClient, {runs} times (median)")
    out: dict[str, dict[str, Any]] = {}
    with DriftwardenClient(api_url, timeout=60) as client:
        for page in pages:
            page_reads(page, client)
            passes = [page_reads(page, client) for _ in range(runs)]
            calls = [
                {
                    "call": first["call"],
                    "median_s": median([p[i]["seconds"] for p in passes if len(p) > i]),
                    "json_bytes": first["json_bytes"],
                }
                for i, first in enumerate(passes[0])
            ]
            total = median([sum(c["seconds"] for c in p) for p in passes])
            out[page] = {"total_median_s": total, "calls": calls}
            slowest = max(calls, key=lambda c: c["median_s"] or 0.0) if calls else None
            say(
                f"   {page:<11} {len(calls)} reads, {fmt(total, '.3f')} s"
                + (
                    f"; slowest {slowest['call']} {slowest['median_s']:.3f} s "
                    f"({slowest['json_bytes'] / 1e6:.2f} MB of JSON)"
                    if slowest
                    else ""
                )
            )
    done(t)
    return out


# --------------------------------------------------------------------------------------------------
# Targets and printing
# --------------------------------------------------------------------------------------------------


def verdict(first: float | None, all_: float | None) -> str:
    if first is None or all_ is None:
        return "FAIL"
    return "PASS" if first < TARGET_FIRST_S and all_ < TARGET_ALL_S else "FAIL"


def print_table(results: Mapping[str, Any]) -> None:
    config = results["config"]
    print("\n" + "=" * 100)
    print(
        f"Dashboard page loads in headless Chromium: {config['days']} simulated days x "
        f"{config['rate']:,} predictions/day; cold = first visit, warm = median of "
        f"{config['runs']}. Seconds from navigation start."
    )
    header = (
        f"{'page':<12} {'basis':<7} {'n':>2} {'first cold':>10} {'first warm':>10} "
        f"{'all cold':>8} {'all warm':>8} {'click 1st':>9} {'click all':>9} {'script':>6} "
        f"{'API':>6} {'target':>14} {'cold':>4} {'warm':>4} {'click':>5}"
    )
    print("\n" + header)
    print("-" * len(header))
    for name, page in results["pages"].items():
        cold, warm, click = page["cold"], page["warm"], page.get("click", {})
        basis = warm.get("basis") or cold.get("basis") or "-"
        count = warm.get(f"{basis}s") if basis in ("chart", "table") else None
        api = results["api"].get(name, {}).get("total_median_s")
        print(
            f"{name:<12} {basis:<7} {fmt(count, 'd'):>2} {fmt(cold.get('first_s'), '.2f'):>10} "
            f"{fmt(warm.get('first_s'), '.2f'):>10} {fmt(cold.get('all_s'), '.2f'):>8} "
            f"{fmt(warm.get('all_s'), '.2f'):>8} {fmt(click.get('first_s'), '.2f'):>9} "
            f"{fmt(click.get('all_s'), '.2f'):>9} {fmt(warm.get('script_end_s'), '.2f'):>6} "
            f"{fmt(api, '.2f'):>6} "
            f"{f'< {TARGET_FIRST_S:g} / < {TARGET_ALL_S:g}':>14} "
            f"{verdict(cold.get('first_s'), cold.get('all_s')):>4} "
            f"{verdict(warm.get('first_s'), warm.get('all_s')):>4} "
            f"{verdict(click.get('first_s'), click.get('all_s')):>5}"
        )
    print(
        "basis: what 'first' and 'all' time: chart = Plotly charts drawn (a .js-plotly-plot "
        "holding svg.main-svg);\ntable = st.dataframe grids drawn (holding a canvas), on pages "
        "without a chart; n = how many.\nfirst = the first one drawn; all = when the final "
        "count was first reached (the script run over, and\nnothing changed for "
        f"{config['stable_ms']} ms after). script = warm median of the script run's end as the "
        "page saw it\n(data-test-script-state notRunning). API = median of the page's reads "
        "timed straight against the API\n(DriftwardenClient, in the page's order). target: "
        f"first < {TARGET_FIRST_S:g} s, all < {TARGET_ALL_S:g} s (the issue's; no peer tool). "
        "Cold overview\nincludes the dashboard process's first script run (its imports). "
        "click = median from a click on the page's link\nin the sidebar, in one tab whose "
        "scripts (Plotly's included) are loaded: how a user moves between pages."
    )
    loads = [
        load
        for page in results["pages"].values()
        for load in [page["cold"], *page["warm_runs"]]
        if load.get("others_cpu_s") is not None
    ]
    wall = sum(load["wall_s"] for load in loads)
    if wall > 0:
        share = sum(load["others_cpu_s"] for load in loads) / wall
        cores = results["machine"]["cpu_count"]
        print(
            f"During the loads, other work on the machine used {share:.0%} of a core on average "
            f"(of {cores}); the browser {sum(x['browser_cpu_s'] for x in loads) / wall:.0%}, "
            f"the dashboard {sum(x['dashboard_cpu_s'] for x in loads) / wall:.0%}, the API "
            f"{sum(x['api_cpu_s'] for x in loads) / wall:.0%}."
            + (" The figures are inflated by that work." if share > 0.25 else "")
        )
    errors = {
        name: page["warm"]["errors"] + bool(page["cold"].get("error"))
        for name, page in results["pages"].items()
    }
    if any(errors.values()):
        print(f"loads that did not finish: {errors}")


def summary_line(results: Mapping[str, Any]) -> dict[str, Any]:
    """The figures that matter, for one JSON line."""
    return {
        "benchmark": "dashboard",
        "days": results["config"]["days"],
        "rate": results["config"]["rate"],
        "runs": results["config"]["runs"],
        "target_first_s": TARGET_FIRST_S,
        "target_all_s": TARGET_ALL_S,
        "pages": {
            name: {
                "basis": page["warm"].get("basis") or page["cold"].get("basis"),
                "count": page["warm"].get("charts") or page["warm"].get("tables") or 0,
                "first_cold_s": page["cold"].get("first_s"),
                "first_warm_s": page["warm"].get("first_s"),
                "all_cold_s": page["cold"].get("all_s"),
                "all_warm_s": page["warm"].get("all_s"),
                "first_click_s": page.get("click", {}).get("first_s"),
                "all_click_s": page.get("click", {}).get("all_s"),
                "click": verdict(
                    page.get("click", {}).get("first_s"), page.get("click", {}).get("all_s")
                ),
                "script_end_warm_s": page["warm"].get("script_end_s"),
                "api_s": results["api"].get(name, {}).get("total_median_s"),
                "cold": verdict(page["cold"].get("first_s"), page["cold"].get("all_s")),
                "warm": verdict(page["warm"].get("first_s"), page["warm"].get("all_s")),
            }
            for name, page in results["pages"].items()
        },
    }


def rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, Mapping):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="time each page of the live dashboard to its first and its last chart, in "
        "headless Chromium, over a simulated store",
    )
    parser.add_argument(
        "--days", type=int, default=DEFAULT_DAYS, help=f"simulated days (default {DEFAULT_DAYS})"
    )
    parser.add_argument(
        "--rate",
        type=int,
        default=DEFAULT_RATE,
        help=f"predictions per simulated day (default {DEFAULT_RATE})",
    )
    parser.add_argument(
        "--runs", type=int, default=DEFAULT_RUNS, help="warm loads per page (median kept)"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="simulation seed")
    parser.add_argument(
        "--rebuild", action="store_true", help="simulate afresh even if the state is cached"
    )
    parser.add_argument(
        "--pages",
        default=",".join(name for name, _ in PAGES),
        help="comma-separated pages to load (default: all seven, in menu order)",
    )
    parser.add_argument(
        "--cache-ttl",
        type=float,
        default=0.0,
        help="dashboard.cache_ttl in seconds (default 0: every read goes to the API, as a "
        "user's first look after the cache expired; the product default 5 s would make warm "
        "loads hit the shared cache or not depending on the clock)",
    )
    parser.add_argument(
        "--stable-ms",
        type=int,
        default=STABLE_MS,
        help=f"a load ends once nothing changed for this long (default {STABLE_MS})",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds before a load counts as failed"
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument(
        "--keep-workdir",
        action="store_true",
        help="keep the temporary directory (settings file, server logs)",
    )
    args = parser.parse_args(argv)
    known = dict(PAGES)
    args.page_list = [p.strip() for p in args.pages.split(",") if p.strip()]
    unknown = [p for p in args.page_list if p not in known]
    if unknown or not args.page_list:
        parser.error(f"--pages takes some of {', '.join(known)}; got {args.pages!r}")
    if args.days < 1 or args.rate < 1 or args.runs < 1:
        parser.error("--days, --rate and --runs must be at least 1")
    if args.cache_ttl < 0:
        parser.error("--cache-ttl must not be negative")
    return args


MEASUREMENT = {
    "load": "page.goto(url, wait_until='commit') in a new tab (a new Streamlit session), then "
    "page.wait_for_function until the recorder says finished: data-test-script-state is "
    "notRunning, connection CONNECTED, no stSkeleton/stSkeletonElement/stAppSkeleton, no "
    "stStatusWidget, every stPlotlyChart drawn and every stDataFrame holding a canvas, and "
    "nothing of that changed for --stable-ms",
    "times": "performance.now() in the page at each DOM change (MutationObserver, plus a 50 ms "
    "interval), i.e. milliseconds from the navigation's performance.timeOrigin; reported in "
    "seconds",
    "first_chart_s": "first sample with at least one .js-plotly-plot holding an svg.main-svg",
    "all_charts_s": "first sample from which the number of drawn charts stayed at its final "
    "value (not when the stability was noticed)",
    "first_table_s/all_tables_s": "the same for [data-testid=stDataFrame] holding a canvas; "
    "the figures of pages without a chart",
    "cold": "each page's first load since the dashboard started, in page order, each in a new "
    "browser context (empty HTTP cache); the first page also pays the Streamlit process's first "
    "script run (imports of plotly, pandas, the client)",
    "warm": "median of --runs loads per page, in rounds over the pages, in one browser context "
    "(the first cold load's, so its HTTP cache holds the app's static files)",
    "api": "each page's reads made again with DriftwardenClient (same arguments, same order, "
    "sequential), one untimed pass then --runs timed; median of the sum, and per call",
    "cpu": "user+system CPU seconds during each load (psutil, per process): the dashboard's "
    "process tree (Streamlit), the API's, Chromium's processes, the benchmark (this process and "
    "Playwright's driver), and others = the machine's busy time (/proc/stat) minus all of "
    "those: other work on the machine, which the loads competed with",
}


def run(args: argparse.Namespace) -> dict[str, Any]:
    pages = [(name, path) for name, path in PAGES if name in args.page_list]
    source_before = source_files()
    meta = simulated_state(args.days, args.rate, args.seed, rebuild=args.rebuild)
    state = state_folder(args.days, args.rate, args.seed) / "state"
    workdir = Path(tempfile.mkdtemp(prefix="driftwarden-dashboard-bench-"))
    api, dashboard = make_services(workdir, state, args.cache_ttl)
    try:
        t = step("starting `driftwarden serve` and `driftwarden dashboard` (Streamlit)")
        api.start()
        dashboard.start()
        api.wait_ready()
        dashboard.wait_ready()
        base_url = dashboard.ready_url.removesuffix("/_stcore/health")
        api_url = api.ready_url.removesuffix("/health")
        done(
            t,
            f": API {api_url} ready in {api.ready_seconds:.1f} s, dashboard {base_url} in "
            f"{dashboard.ready_seconds:.1f} s",
        )
        from playwright.sync_api import sync_playwright

        t = step(f"launching {CHROMIUM} (headless) under Playwright")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            try:
                done(t, f": Chromium {chromium.version}")
                browser = Browser(chromium, base_url, api, dashboard, args.timeout, args.stable_ms)
                browser_version = chromium.version
                measured = measure_pages(browser, pages, args.runs)
            finally:
                with contextlib.suppress(Exception):
                    chromium.close()
        api_reads = measure_api(api_url, [name for name, _ in pages], args.runs)
    finally:
        for service in (dashboard, api):
            service.stop()
        if args.keep_workdir:
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return {
        "benchmark": "dashboard",
        "command": [Path(sys.executable).name, *sys.argv],
        "machine": {
            "cpu_count": os.cpu_count(),
            "cpu_model": cpu_model(),
            "memory_gib": psutil.virtual_memory().total / 1024**3,
            "platform": platform.platform(),
            "python": platform.python_version(),
            "chromium": browser_version,
            "versions": {
                name: version(name)
                for name in ("driftwarden", "streamlit", "plotly", "playwright", "httpx")
            },
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
        "config": {
            "days": args.days,
            "rate": args.rate,
            "seed": args.seed,
            "scenarios": list(SCENARIOS),
            "runs": args.runs,
            "cache_ttl_s": args.cache_ttl,
            "stable_ms": args.stable_ms,
            "timeout_s": args.timeout,
            "viewport": VIEWPORT,
            "chromium_args": CHROMIUM_ARGS,
            "target_first_s": TARGET_FIRST_S,
            "target_all_s": TARGET_ALL_S,
        },
        "source": source_state(source_before, source_files()),
        "state": meta,
        "startup": {"api_ready_s": api.ready_seconds, "dashboard_ready_s": dashboard.ready_seconds},
        "measurement": MEASUREMENT,
        "pages": measured,
        "api": api_reads,
    }


class Interrupted:
    """Whether a signal asked the run to stop. Ctrl-C also reaches Playwright's driver (same
    process group), which then dies, so the run may end in a Playwright error instead of the
    KeyboardInterrupt; this tells the two apart."""

    signum: int | None = None


def _interrupted(signum: int, _frame: Any) -> None:
    # Every `finally` on the way out stops its servers and the browser.
    Interrupted.signum = signum
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def signals_as_interrupt() -> Iterator[None]:
    watched = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, _interrupted) for s in watched}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    with signals_as_interrupt():
        try:
            results = run(args)
        except Exception:
            if Interrupted.signum is None:
                raise
            say(f"interrupted (signal {Interrupted.signum}); the servers and the browser stopped")
            return 130
        except KeyboardInterrupt:
            say("interrupted; the servers and the browser stopped")
            return 130
    results["total_seconds"] = time.perf_counter() - started
    print_table(results)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(rounded(finite_or_none(results)), indent=2, sort_keys=True, default=str)
            + "\n"
        )
        say(f"wrote {args.json}")
    print(json.dumps(rounded(finite_or_none(summary_line(results))), sort_keys=True))
    say(f"{results['total_seconds']:.0f} s in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
