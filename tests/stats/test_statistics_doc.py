"""The worked example of docs/statistics.md, recomputed: the page cannot drift from the engine.

The code blocks of the section "A worked example" are run as they are written, and every number
printed in bold there is compared with the engine's, to the digits printed.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "statistics.md"
SECTION = "## A worked example"


def _section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start:] if end == -1 else text[start:end]


def _run_example() -> dict[str, Any]:
    code = "\n".join(re.findall(r"```python\n(.*?)```", _section(), flags=re.DOTALL))
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    return namespace


def _bold(paragraph: str) -> list[str]:
    return re.findall(r"\*\*(.+?)\*\*", paragraph)


def _paragraphs() -> dict[str, list[str]]:
    """Bold values per bullet of the section, keyed by the bullet's bold label (without its
    full stop), and of the paragraph that starts with "PSI over", keyed "categorical"."""
    found: dict[str, list[str]] = {}
    for block in re.split(r"\n(?=- \*\*)|\n\n", _section()):
        bold = _bold(block)
        if block.startswith("- **"):
            found[bold[0].rstrip(".")] = bold[1:]
        elif block.startswith("PSI over"):
            found["categorical"] = bold
    return found


def _assert_printed(value: float | None, printed: str) -> None:
    """``value`` rounds to ``printed`` at the number of decimals printed."""
    assert value is not None
    decimals = -Decimal(printed).as_tuple().exponent
    assert isinstance(decimals, int)
    assert abs(value - float(printed)) <= 0.5 * 10.0**-decimals, (value, printed)


@pytest.fixture(scope="module")
def example() -> dict[str, Any]:
    return _run_example()


@pytest.fixture(scope="module")
def printed() -> dict[str, list[str]]:
    return _paragraphs()


def test_statistics_doc_worked_example_has_every_number_to_check(printed) -> None:
    # A guard on the parsing: if the page is reworded, this test says so instead of checking less.
    assert {"PSI", "Jensen–Shannon", "KS", "Wasserstein", "Verdict", "categorical"} <= set(printed)
    assert [len(printed[key]) for key in ("PSI", "Jensen–Shannon", "KS", "Wasserstein")] == [
        1,
        1,
        2,
        1,
    ]
    assert len(printed["categorical"]) == 2


@pytest.mark.parametrize(
    ("label", "method"),
    [("PSI", "psi"), ("Jensen–Shannon", "jensen_shannon"), ("Wasserstein", "wasserstein")],
)
def test_statistics_doc_worked_example_effect_sizes_are_the_engines(
    example, printed, label: str, method: str
) -> None:
    verdict = example["report"].features["x"]

    _assert_printed(verdict.result(method).statistic, printed[label][0])


def test_statistics_doc_worked_example_ks_is_the_engines(example, printed) -> None:
    ks = example["report"].features["x"].result("ks")

    statistic, p_value = printed["KS"]
    _assert_printed(ks.statistic, statistic)
    _assert_printed(ks.p_value, p_value)
    # "error bound 0, the data are discrete"; "error bound 0: every value is an edge".
    assert ks.error_bound == 0.0
    assert example["report"].features["x"].result("wasserstein").error_bound == 0.0


def test_statistics_doc_worked_example_verdict_is_the_engines(example, printed) -> None:
    verdict = example["report"].features["x"]

    assert verdict.severity.value == printed["Verdict"][0]
    # "PSI 1.658 is past the critical threshold 0.25 ... KS p = 0.96": the reason says why.
    assert verdict.reason is not None
    assert "psi 1.658 is past its critical threshold" in verdict.reason
    _assert_printed(verdict.p_value, "0.96")


def test_statistics_doc_worked_example_categorical_is_the_engines(example, printed) -> None:
    report = example["categorical"]
    verdict = report.features["plan"]
    psi, chi2 = printed["categorical"]

    _assert_printed(verdict.result("psi").statistic, psi)
    _assert_printed(verdict.result("chi2").statistic, chi2)
    assert verdict.severity.value == "critical"
    assert 'unseen_categories = ["d"]' in _section()
    assert verdict.unseen_categories == ("d",)
    _assert_printed(report.quality["plan"].unseen_category_rate, "0.1")
