"""Training: holdout split, validation metrics, the reference profile, bad input."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from driftwarden.core.errors import ConfigError, DataError, SchemaMismatchError
from driftwarden.data.telco import TELCO_ID, TELCO_TARGET, load_telco
from driftwarden.schema import infer_schema
from driftwarden.stats.metrics import ClassificationMetrics
from driftwarden.training import ModelParams, data_hash, predict_scores, train


@pytest.fixture(scope="module")
def telco():
    frame = load_telco()
    return frame, infer_schema(frame, target=TELCO_TARGET, entity_id=TELCO_ID)


@pytest.fixture(scope="module")
def telco_result(telco):
    frame, schema = telco
    return train(frame, schema, seed=0)


def synthetic_frame(n=3000, seed=7):
    """A dataset with other columns than Telco: a loan default model."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10, 0.5, n)
    debt_ratio = rng.beta(2, 5, n)
    region = rng.choice(["north", "south", "east"], n, p=[0.5, 0.3, 0.2])
    logit = -1.0 + 3.0 * debt_ratio - 0.8 * (np.log(income) - 10) + (region == "east") * 0.7
    default = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "loan_id": [f"L{i:05d}" for i in range(n)],
            "applied_at": pd.date_range("2024-01-01", periods=n, freq="h"),
            "income": income,
            "debt_ratio": debt_ratio,
            "region": region,
            "defaulted": np.where(default, "yes", "no"),
        }
    )


def test_train_telco_holdout_auc_reaches_the_bar(telco_result):
    assert telco_result.metrics.roc_auc >= 0.83
    assert telco_result.n_train + telco_result.n_holdout == 7043
    assert telco_result.n_holdout == pytest.approx(0.2 * 7043, abs=1)


def test_train_metrics_agree_with_sklearn_on_the_holdout(telco, telco_result):
    frame, schema = telco
    data = schema.coerce_frame(frame)
    scores = predict_scores(telco_result.model, data[schema.feature_names])
    labels = (frame[TELCO_TARGET] == "Yes").to_numpy()
    # The holdout AUC is below the in-sample AUC of the whole frame (which includes training rows).
    assert roc_auc_score(labels, scores) > telco_result.metrics.roc_auc


def test_train_profile_covers_features_and_holdout_scores(telco, telco_result):
    _, schema = telco
    profile = telco_result.profile
    assert profile.kinds == schema.kinds()
    assert profile.n_rows == telco_result.n_train
    assert profile.prediction is not None
    assert profile.prediction.n == telco_result.n_holdout


def test_train_importances_rank_every_feature(telco, telco_result):
    _, schema = telco
    assert set(telco_result.importances) == set(schema.feature_names)
    values = list(telco_result.importances.values())
    assert values == sorted(values, reverse=True)
    assert next(iter(telco_result.importances)) in {"Contract", "tenure"}


def test_train_records_data_hash_and_rows(telco, telco_result):
    frame, _ = telco
    assert telco_result.data_hash == data_hash(frame)
    assert telco_result.n_rows == len(frame)
    assert data_hash(frame.iloc[::-1]) != data_hash(frame)


def test_train_runs_on_a_second_dataset_with_other_columns():
    frame = synthetic_frame()
    schema = infer_schema(frame, target="defaulted", entity_id="loan_id", time_column="applied_at")
    result = train(frame, schema, holdout="time", params=ModelParams(max_iter=100))
    assert schema.positive_label == "yes"
    assert set(result.profile.kinds) == {"income", "debt_ratio", "region"}
    assert isinstance(result.metrics, ClassificationMetrics)
    assert result.metrics.roc_auc is not None
    assert result.metrics.roc_auc > 0.6
    assert result.holdout == "time"


def test_train_time_holdout_keeps_the_latest_rows_out():
    frame = synthetic_frame(n=1000)
    schema = infer_schema(frame, target="defaulted", entity_id="loan_id", time_column="applied_at")
    shuffled = frame.sample(frac=1.0, random_state=1)
    result = train(
        shuffled, schema, holdout="time", test_size=0.25, params=ModelParams(max_iter=50)
    )
    assert result.n_holdout == 250
    # The profile is of the training rows only: the earliest 750 by time.
    assert result.profile.features["income"].n == 750


def test_train_time_holdout_needs_a_time_column():
    frame = synthetic_frame(n=500).drop(columns=["applied_at"])
    schema = infer_schema(frame, target="defaulted", entity_id="loan_id")
    with pytest.raises(DataError, match="time_column"):
        train(frame, schema, holdout="time")


def test_train_rejects_a_target_that_is_not_binary():
    frame = synthetic_frame(n=500).drop(columns=["applied_at"])
    schema = infer_schema(frame, target="defaulted", entity_id="loan_id")
    frame["defaulted"] = np.resize(["yes", "no", "maybe"], len(frame))
    with pytest.raises(DataError, match="exactly two classes"):
        train(frame, schema)


def test_train_rejects_a_schema_without_target(telco):
    frame, schema = telco
    with pytest.raises(DataError, match="no target"):
        train(frame, schema.model_copy(update={"target": None, "positive_label": None}))


def test_train_rejects_data_without_the_target_column(telco):
    frame, schema = telco
    with pytest.raises(DataError, match="target column 'Churn' is not in the data"):
        train(frame.drop(columns=[TELCO_TARGET]), schema)


def test_train_rejects_an_empty_frame(telco):
    frame, schema = telco
    with pytest.raises(DataError, match="no rows"):
        train(frame.iloc[:0], schema)


def test_train_rejects_a_missing_feature_column(telco):
    frame, schema = telco
    with pytest.raises(SchemaMismatchError, match="tenure"):
        train(frame.drop(columns=["tenure"]), schema)


def test_train_rejects_missing_target_values(telco):
    frame, schema = telco
    broken = frame.copy()
    broken.loc[broken.index[:3], TELCO_TARGET] = None
    with pytest.raises(DataError, match="3 missing values"):
        train(broken, schema)


def test_train_rejects_too_few_rows_of_a_class(telco):
    frame, schema = telco
    few = pd.concat(
        [frame[frame[TELCO_TARGET] == "No"].head(200), frame[frame[TELCO_TARGET] == "Yes"].head(5)]
    )
    with pytest.raises(DataError, match="at least 10 rows"):
        train(few, schema)


def test_train_rejects_a_bad_test_size(telco):
    frame, schema = telco
    with pytest.raises(DataError, match="test_size"):
        train(frame, schema, test_size=1.5)


def test_train_rejects_a_positive_label_not_in_the_target(telco):
    frame, schema = telco
    with pytest.raises(DataError, match="positive label 'Maybe'"):
        train(frame, schema.model_copy(update={"positive_label": "Maybe"}))


def test_train_reports_progress(telco):
    frame, schema = telco
    messages = []
    train(frame.head(1500), schema, params=ModelParams(max_iter=20), progress=messages.append)
    assert messages[0].startswith("validating 1,500 rows")
    assert any("holdout" in m for m in messages)


def _loans(n=600):
    frame = synthetic_frame(n=n)
    schema = infer_schema(frame, target="defaulted", entity_id="loan_id", time_column="applied_at")
    return frame, schema


def test_train_time_holdout_names_an_unparseable_timestamp():
    frame, schema = _loans()
    frame["applied_at"] = frame["applied_at"].astype(str).astype(object)
    frame.loc[17, "applied_at"] = "last tuesday"
    with pytest.raises(
        SchemaMismatchError,
        match=r"time column 'applied_at' holds values that are not times, such as "
        r"'last tuesday'.*Fix those values, or name another time column",
    ) as info:
        train(frame, schema, holdout="time")
    assert info.value.column == "applied_at"


def test_train_time_holdout_refuses_rows_without_a_time():
    frame, schema = _loans()
    frame["applied_at"] = frame["applied_at"].astype(object)
    frame.loc[[3, 4], "applied_at"] = None
    with pytest.raises(DataError, match=r"2 of 600 rows have no time in 'applied_at'"):
        train(frame, schema, holdout="time")


def test_train_ignores_and_reports_columns_the_schema_does_not_list():
    frame, schema = _loans()
    messages = []
    result = train(
        frame.assign(note="n/a", score=1.0),
        schema,
        params=ModelParams(max_iter=20),
        progress=messages.append,
    )
    assert result.ignored_columns == ("note", "score")
    assert "ignoring 2 columns that the schema does not list: 'note', 'score'" in messages
    assert result.model.feature_names_in_.tolist() == schema.feature_names
    assert set(result.profile.kinds) == set(schema.feature_names)


def test_train_refuses_missing_values_in_a_feature_that_is_not_nullable():
    frame, schema = _loans()
    assert schema.get("income").nullable is False
    frame.loc[frame.index[:4], "income"] = np.nan
    with pytest.raises(
        SchemaMismatchError, match=r"income: 4 missing values, but nullable = false"
    ) as info:
        train(frame, schema)
    assert info.value.column == "income"


def test_train_refuses_categories_the_schema_does_not_declare():
    frame, schema = _loans()
    frame.loc[frame.index[:3], "region"] = "west"
    frame.loc[frame.index[3], "region"] = "up north"
    with pytest.raises(
        SchemaMismatchError,
        match=r"region: values not in its categories: 'west' \(3 rows\), 'up north' \(1 row\)"
        r"(.|\n)*edit them in driftwarden\.toml, or re-run `driftwarden init --force`",
    ):
        train(frame, schema)


def test_train_refuses_values_outside_the_declared_range():
    frame, schema = _loans()
    high = schema.get("debt_ratio").max
    frame.loc[frame.index[:2], "debt_ratio"] = [high + 1.0, high + 2.0]
    frame.loc[frame.index[2], "income"] = -5.0
    with pytest.raises(SchemaMismatchError) as info:
        train(frame, schema)
    message = str(info.value)
    assert f"debt_ratio: 2 values above max = {high:.10g} (highest {high + 2.0:.10g})" in message
    assert "income: 1 value below min = " in message
    assert info.value.column == "income"


def test_train_range_check_reads_finite_values_only():
    frame, _ = _loans()
    frame.loc[frame.index[0], "income"] = np.inf
    # Inference reads the range from finite values, so a schema inferred from the same data
    # holds; the infinity is the model's and the monitor's business.
    again = infer_schema(frame, target="defaulted", entity_id="loan_id", time_column="applied_at")
    assert train(frame, again, params=ModelParams(max_iter=10)).n_rows == len(frame)


def test_train_carries_the_task_of_the_schema():
    frame, schema = _loans()
    result = train(frame, schema, params=ModelParams(max_iter=10))
    assert result.task == schema.task == "binary_classification"
    assert result.params.to_dict()["task"] == "binary_classification"


def test_train_refuses_a_task_that_is_not_supported_before_reading_the_data():
    frame, schema = _loans()
    with pytest.raises(ConfigError, match="task 'ranking' is not supported") as info:
        train(frame.iloc[:0], schema, params=ModelParams(task="ranking"))
    assert info.value.key == "task"


def test_train_refuses_params_of_another_task_than_the_schemas():
    frame, schema = _loans()
    with pytest.raises(
        ConfigError, match="task 'regression', but the schema is for 'binary_classification'"
    ) as info:
        train(frame.iloc[:0], schema, params=ModelParams(task="regression"))
    assert info.value.key == "task"


def test_train_fills_in_the_schemas_task_in_the_logged_params():
    frame, schema = _loans()
    result = train(frame, schema, params=ModelParams(max_iter=10))
    assert result.params.task == "binary_classification"
    assert result.params.max_iter == 10


def test_importances_are_scikit_learns_permutation_importances(telco, telco_result):
    # Scored in one call per feature on rows encoded once, they must still be the figures
    # scikit-learn computes with one call per feature and repeat, shuffle for shuffle.
    from sklearn.inspection import permutation_importance

    from driftwarden.training import feature_importances
    from driftwarden.training.evaluate import binary_labels

    frame, schema = telco
    rows = frame.sample(300, random_state=5)
    data = schema.coerce_frame(rows[schema.feature_names])
    labels = binary_labels(rows[schema.target], schema)
    ours = feature_importances(telco_result.model, data, labels, n_repeats=2, seed=4)
    theirs = permutation_importance(
        telco_result.model, data, labels, scoring="roc_auc", n_repeats=2, random_state=4
    )
    expected = dict(zip(data.columns, theirs.importances_mean, strict=True))
    assert ours.keys() == expected.keys()
    for name, value in ours.items():
        assert value == pytest.approx(expected[name], abs=1e-12), name
    assert any(value != 0 for value in ours.values())


@pytest.fixture(scope="module")
def small_pipelines():
    """A pipeline whose encoder does not keep one column per feature (one-hot), one whose
    steps cannot name their columns, and a bare estimator, with their rows and labels."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

    rng = np.random.default_rng(8)
    frame = pd.DataFrame({"x": rng.normal(size=300), "z": rng.normal(size=300)})
    frame["c"] = np.where(rng.random(300) < 0.5, "a", "b")
    labels = (frame["x"] + (frame["c"] == "a") + rng.normal(scale=0.5, size=300)) > 0.5
    labels = labels.astype(int).to_numpy()
    one_hot = make_pipeline(
        ColumnTransformer([("c", OneHotEncoder(), ["c"])], remainder="passthrough"),
        LogisticRegression(),
    ).fit(frame, labels)
    numbers = frame[["x", "z"]]
    bare = LogisticRegression().fit(numbers, labels)
    unnamed = make_pipeline(FunctionTransformer(np.asarray), LogisticRegression())
    unnamed.fit(numbers, labels)
    return [(one_hot, frame, labels), (bare, numbers, labels), (unnamed, numbers, labels)]


@pytest.mark.parametrize(
    ("metric", "scoring"),
    [
        ("roc_auc", "roc_auc"),
        ("accuracy", "accuracy"),
        ("precision", "precision"),
        ("recall", "recall"),
        ("f1", "f1"),
        ("log_loss", "neg_log_loss"),
        ("brier", "neg_brier_score"),
    ],
)
def test_importances_of_any_pipeline_or_estimator_are_scikit_learns(
    small_pipelines, metric, scoring
):
    # Those are scored on the shuffled rows themselves: the same figures all the same, for
    # every metric of a classifier.
    from sklearn.inspection import permutation_importance

    from driftwarden.training import feature_importances

    for model, data, labels in small_pipelines:
        ours = feature_importances(model, data, labels, metric=metric, n_repeats=4, seed=1)
        theirs = permutation_importance(
            model, data, labels, scoring=scoring, n_repeats=4, random_state=1
        )
        expected = dict(zip(data.columns, theirs.importances_mean, strict=True))
        assert ours == pytest.approx(expected, abs=1e-12)
        assert next(iter(ours)) == "x"


def test_importances_by_auc_of_one_class_are_undefined(telco, telco_result):
    from driftwarden.training import feature_importances

    frame, schema = telco
    data = schema.coerce_frame(frame[schema.feature_names].head(50))
    importances = feature_importances(telco_result.model, data, np.zeros(50, dtype=int))
    assert importances.keys() == set(schema.feature_names)
    assert all(np.isnan(value) for value in importances.values())


def test_importances_on_a_large_holdout_use_a_seeded_sample(telco, telco_result):
    from driftwarden.training import feature_importances
    from driftwarden.training.evaluate import binary_labels

    frame, schema = telco
    data = schema.coerce_frame(frame[schema.feature_names])
    labels = binary_labels(frame[schema.target], schema)
    model = telco_result.model
    sampled = feature_importances(model, data, labels, seed=3, max_rows=1000)
    assert sampled == feature_importances(model, data, labels, seed=3, max_rows=1000)
    assert sampled != feature_importances(model, data, labels, seed=3, max_rows=2000)
    # The sample still finds what matters most.
    assert next(iter(sampled)) in {"Contract", "tenure"}
