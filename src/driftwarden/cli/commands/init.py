"""``driftwarden init``: infer a feature schema from a dataset and write ``driftwarden.toml``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import tomli_w

from driftwarden.core import Settings
from driftwarden.core.errors import ConfigError
from driftwarden.data.files import read_table
from driftwarden.data.telco import TELCO_ID, TELCO_TARGET, load_telco
from driftwarden.schema import infer_schema

__all__ = ["add_parser", "run"]

_HEADER = """\
# driftwarden settings, written by `driftwarden init`. Edit freely. The [schema] table is the
# contract of the model: its features are the columns it reads (unlisted_columns = "ignore" leaves
# other columns of the data out; "infer" would make them features too), and their categories,
# min/max and nullable describe the training data, so `driftwarden train` refuses data that
# contradicts them. After the data changes, edit them or re-run `driftwarden init --force`.
# Every setting can also come from a DRIFTWARDEN_* environment variable, which wins over this file.

"""


def add_parser(verbs: Any) -> None:
    """Register the verb."""
    parser = verbs.add_parser(
        "init",
        help="write driftwarden.toml with the schema inferred from a dataset",
        description="Infer the feature schema of a CSV or Parquet file and write it, with the "
        "data path, to driftwarden.toml. Without --data, describes the bundled Telco dataset.",
    )
    parser.add_argument("--data", type=Path, help="CSV or Parquet file with features and target")
    parser.add_argument("--target", help="the label column (required with --data)")
    parser.add_argument("--id", dest="entity_id", help="the entity id column, e.g. a customer id")
    parser.add_argument("--time", dest="time_column", help="the event time column, if any")
    parser.add_argument(
        "--output", type=Path, default=Path("driftwarden.toml"), help="where to write"
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    parser.set_defaults(run=run, reads_settings=False)


def run(args: argparse.Namespace, settings: Settings | None) -> int:  # noqa: ARG001
    """Infer and write."""
    output: Path = args.output
    if output.exists() and not args.force:
        raise ConfigError(f"{output} exists; pass --force to overwrite it", key="output")
    document: dict[str, Any] = {}
    if args.data is None:
        if args.target is not None:
            raise ConfigError("--target needs --data (the bundled dataset's target is Churn)")
        frame = load_telco()
        schema = infer_schema(frame, target=TELCO_TARGET, entity_id=TELCO_ID)
        source = "the bundled Telco dataset"
    else:
        if args.target is None:
            raise ConfigError("--data needs --target: name the label column", key="target")
        frame = read_table(args.data)
        schema = infer_schema(
            frame, target=args.target, entity_id=args.entity_id, time_column=args.time_column
        )
        document["training"] = {"data": args.data.as_posix()}
        source = str(args.data)
    document["schema"] = schema.to_toml_dict()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(_HEADER + tomli_w.dumps(document), encoding="utf-8")
    numeric, categorical = len(schema.numeric_features), len(schema.categorical_features)
    task = (
        "regression"
        if schema.is_regression
        else f"binary classification, positive class {schema.positive_label!r}"
    )
    print(
        f"wrote {output}: {len(frame):,} rows of {source}; {len(schema.features)} features "
        f"({numeric} numeric, {categorical} categorical); target {schema.target!r} ({task})"
    )
    return 0
