"""Simulation: the whole system on a simulated clock with generated traffic and injected drift,
the report of what it did, and live traffic against a running API.

* :mod:`~driftwarden.simulation.simulate`: :func:`simulate` and :class:`SimulationOptions`;
* :mod:`~driftwarden.simulation.report` and :mod:`~driftwarden.simulation.summary`: the report
  folder and ``summary.json``;
* :mod:`~driftwarden.simulation.traffic`: live traffic against a running API.

Those are imported from their modules: this package itself stays light (the command line reads
its scenario names), while they bring the API app, plotly and matplotlib.

Imports :mod:`driftwarden.data`, :mod:`driftwarden.client` and, to run the real API in this
process on the simulated clock, :mod:`driftwarden.serving`.
"""

from driftwarden.simulation.result import DayRecord, SimulationResult
from driftwarden.simulation.scenarios import SCENARIOS, build_scenarios

__all__ = ["SCENARIOS", "DayRecord", "SimulationResult", "build_scenarios"]
