import driftwarden.training as training


def test_training_all_is_sorted_and_importable():
    assert list(training.__all__) == sorted(training.__all__)
    for name in training.__all__:
        assert getattr(training, name) is not None
