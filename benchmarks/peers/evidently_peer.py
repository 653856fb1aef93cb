"""Driver side of the Evidently peer: its own virtual environment and one subprocess per window.

Evidently 0.7.23 does not import with pandas 3 (the project's pin allows it), so it gets a venv of
its own under ``benchmarks/.venvs/evidently`` (ignored by git), created on first use and reused
afterwards. The frames travel as parquet files; ``evidently_runner.py`` times the run itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EVIDENTLY_VERSION = "0.7.23"
REQUIREMENTS = (f"evidently=={EVIDENTLY_VERSION}", "pandas<3", "pyarrow")
RUNNER = Path(__file__).with_name("evidently_runner.py")
READY_MARKER = ".benchmark-ready"


class EvidentlyError(RuntimeError):
    """The Evidently venv could not be created or a run failed."""


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _base_python() -> str:
    return shutil.which("python3") or sys.executable


def ensure_venv(venv: Path) -> Path:
    """Return the venv's interpreter, creating the venv and installing Evidently if needed."""
    python = venv_python(venv)
    marker = venv / READY_MARKER
    wanted = "\n".join(REQUIREMENTS)
    if python.exists() and marker.exists() and marker.read_text().strip() == wanted:
        print(f"  reusing Evidently venv {venv}")
        return python
    if not python.exists():
        print(f"  creating venv {venv} with {_base_python()} -m venv ...", flush=True)
        venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([_base_python(), "-m", "venv", str(venv)], check=True)
    print(f"  pip install {' '.join(repr(r) for r in REQUIREMENTS)} (first run only) ...")
    command = [
        str(python),
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
        *REQUIREMENTS,
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        tail: list[str] = []
        for line in proc.stdout:
            tail = [*tail[-30:], line.rstrip()]
            if line.startswith(("Collecting", "Installing", "Successfully")):
                print(f"    {line.rstrip()[:150]}", flush=True)
        code = proc.wait()
    if code != 0:
        raise EvidentlyError("pip could not install Evidently into its venv:\n" + "\n".join(tail))
    marker.write_text(wanted + "\n")
    return python


def run_evidently(
    python: Path,
    reference: Path,
    current: Path,
    numeric: Sequence[str],
    categorical: Sequence[str],
) -> dict[str, Any]:
    """One Evidently run in a fresh subprocess; returns the runner's JSON."""
    env = {**os.environ, "DO_NOT_TRACK": "1"}
    command = [
        str(python),
        str(RUNNER),
        "--reference",
        str(reference),
        "--current",
        str(current),
        "--numeric",
        ",".join(numeric),
        "--categorical",
        ",".join(categorical),
    ]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise EvidentlyError(f"Evidently runner exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise EvidentlyError(f"Evidently runner printed no JSON:\n{proc.stdout[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result
