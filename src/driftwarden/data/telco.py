"""The IBM Telco Customer Churn dataset, bundled with the package.

7,043 customers of a fictional telecom company, 21 columns, one row per customer; ``Churn`` says
whether the customer left. The file ships gzip-compressed inside the package
(``telco_churn.csv.gz``, 154 kB instead of 970 kB) and is read through :mod:`importlib.resources`,
so it works from a wheel, an editable install or a zip import alike, with no network.

The raw file has three quirks that :func:`load_telco` cleans:

* ``TotalCharges`` is numbers stored as text, with a single space ``" "`` in the 11 rows whose
  ``tenure`` is 0;
* ``SeniorCitizen`` is a 0/1 integer while every other binary column is ``"Yes"``/``"No"``;
* the target ``Churn`` is ``"Yes"``/``"No"`` text (kept as it is; see :func:`binary_target`).
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Final

import numpy as np
import pandas as pd

from driftwarden.core.errors import SchemaMismatchError

__all__ = [
    "TELCO_CATEGORICAL",
    "TELCO_ID",
    "TELCO_NUMERIC",
    "TELCO_POSITIVE",
    "TELCO_TARGET",
    "binary_target",
    "load_telco",
]

TELCO_TARGET: Final = "Churn"
"""The target column: did the customer leave (``"Yes"``/``"No"``)."""

TELCO_ID: Final = "customerID"
"""The entity id: unique per row and stable across releases of the file (``"7590-VHVEG"``)."""

TELCO_POSITIVE: Final = "Yes"
"""The positive class of :data:`TELCO_TARGET`: the customer churned."""

TELCO_NUMERIC: Final = ("tenure", "MonthlyCharges", "TotalCharges")
"""The numeric features of the cleaned frame, in column order."""

TELCO_CATEGORICAL: Final = (
    "gender",
    "SeniorCitizen",
    "Partner",
    "Dependents",
    "PhoneService",
    "MultipleLines",
    "InternetService",
    "OnlineSecurity",
    "OnlineBackup",
    "DeviceProtection",
    "TechSupport",
    "StreamingTV",
    "StreamingMovies",
    "Contract",
    "PaperlessBilling",
    "PaymentMethod",
)
"""The categorical features of the cleaned frame (text values), in column order."""

_RESOURCE = "telco_churn.csv.gz"
_SENIOR_CITIZEN = {0: "No", 1: "Yes"}


def load_telco(*, raw: bool = False) -> pd.DataFrame:
    """Load the bundled Telco Customer Churn dataset.

    Parameters
    ----------
    raw : bool, optional
        Return the file exactly as the CSV reader sees it, quirks included: ``TotalCharges``
        as text with ``" "`` for 11 values and ``SeniorCitizen`` as 0/1 integers. Nothing is
        parsed as missing. Use it to exercise code that must cope with messy input, such as
        schema inference.

    Returns
    -------
    DataFrame
        7,043 rows and 21 columns in file order, with a fresh ``RangeIndex``. Cleaned unless
        ``raw``:

        * ``customerID`` (:data:`TELCO_ID`): text, unique, the stable entity id;
        * ``tenure``: ``int64`` months, 0 to 72;
        * ``MonthlyCharges``, ``TotalCharges``: ``float64``;
        * every other column, ``SeniorCitizen`` included, is categorical text; binary flags
          are ``"Yes"``/``"No"``;
        * ``Churn`` (:data:`TELCO_TARGET`): ``"Yes"``/``"No"`` text, 1,869 ``"Yes"``.

    Notes
    -----
    ``TotalCharges`` is blank exactly in the 11 rows with ``tenure == 0``: customers who joined
    within the current month and have not received a bill yet. Their total charged to date is
    therefore 0, not unknown, so the cleaned value is ``0.0`` rather than NaN. This keeps the
    column complete (no imputation needed by a model or a drift profile), keeps
    ``TotalCharges ≈ tenure * MonthlyCharges`` true for these rows (0 * anything), and keeps
    them: dropping them would remove every brand-new customer, a population a churn model must
    score.

    ``SeniorCitizen`` is mapped 0 → ``"No"``, 1 → ``"Yes"``, so that it is read as the binary
    category it is, like ``Partner`` or ``Dependents``, rather than as a number whose mean
    could drift.

    Examples
    --------
    >>> df = load_telco()
    >>> df.shape
    (7043, 21)
    >>> int((df[TELCO_TARGET] == TELCO_POSITIVE).sum())
    1869
    >>> load_telco(raw=True)["TotalCharges"].iloc[488]
    ' '
    """
    source = resources.files("driftwarden.data").joinpath(_RESOURCE)
    with source.open("rb") as handle:
        # na_filter=False: the raw file has no missing values; its blanks are data (" ").
        frame = pd.read_csv(handle, compression="gzip", keep_default_na=False, na_filter=False)
    if raw:
        return frame
    return _clean(frame)


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the cleaned copy of the raw frame (see :func:`load_telco`)."""
    out = frame.copy()
    total = out["TotalCharges"].astype("str")
    blank = (total.str.strip() == "").to_numpy()
    if not np.array_equal(blank, (out["tenure"] == 0).to_numpy()):
        raise SchemaMismatchError(
            "TotalCharges should be blank exactly where tenure is 0; the bundled file has "
            "changed, reinstall driftwarden",
            column="TotalCharges",
        )
    out["TotalCharges"] = pd.to_numeric(total.where(~blank, "0"), errors="raise").astype("float64")
    out["SeniorCitizen"] = out["SeniorCitizen"].map(_SENIOR_CITIZEN).astype("str")
    return out


def binary_target(labels: pd.Series[Any], *, positive: Any = TELCO_POSITIVE) -> pd.Series[int]:
    """Turn a two-class label column into the 0/1 target that metrics and models expect.

    Parameters
    ----------
    labels : Series
        Class labels such as ``"Yes"``/``"No"``. A column holding a single class (a window
        without any churner, say) is fine.
    positive : object, optional
        The label that maps to 1; every other label maps to 0. Defaults to
        :data:`TELCO_POSITIVE`.

    Returns
    -------
    Series
        ``int64`` values 0 and 1, with the index and name of ``labels``.

    Raises
    ------
    SchemaMismatchError
        If ``labels`` has missing values or more than two distinct labels.

    Examples
    --------
    >>> binary_target(pd.Series(["Yes", "No", "No"], name="Churn")).tolist()
    [1, 0, 0]
    """
    name = None if labels.name is None else str(labels.name)
    if bool(labels.isna().any()):
        raise SchemaMismatchError(
            f"the target {name!r} has {int(labels.isna().sum())} missing values; drop the "
            "unlabelled rows first",
            column=name,
        )
    classes = pd.unique(labels)
    if len(classes) > 2:
        shown = ", ".join(repr(c) for c in sorted(map(str, classes))[:5])
        raise SchemaMismatchError(
            f"the target {name!r} should have at most two classes, got {len(classes)} "
            f"({shown}); a binary target is needed",
            column=name,
        )
    target: pd.Series[int] = (labels == positive).astype("int64")
    return target
