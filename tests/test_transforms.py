"""Feature transforms: signed log, standardisation fitted on training data only, and round trips."""

import numpy as np
import pandas as pd
import pytest

from flarecast.errors import ConfigError
from flarecast.features.transforms import FeatureTransformer, signed_log10


def test_signed_log_is_odd_and_monotone():
    x = np.array([-1e23, -10.0, 0.0, 10.0, 1e23])
    y = signed_log10(x)
    assert np.all(np.diff(y) > 0)
    np.testing.assert_allclose(y, -signed_log10(-x))
    assert y[2] == 0.0
    assert y[3] == pytest.approx(np.log10(11.0))


def test_known_extensive_keywords_are_logged_and_others_not():
    frame = pd.DataFrame({"USFLUX": [1e20, 1e21, 1e22], "MEANSHR": [10.0, 20.0, 30.0]})
    t = FeatureTransformer().fit(frame)
    assert t.log_mask_.tolist() == [True, False]
    z = t.transform(frame)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=0), 1.0)


def test_unknown_heavy_tailed_column_is_logged_by_range():
    x = np.c_[np.logspace(0, 8, 50), np.linspace(0, 1, 50)]
    t = FeatureTransformer(feature_names=["weird", "flat"]).fit(x)
    assert t.log_mask_.tolist() == [True, False]


def test_statistics_come_from_the_training_rows_only():
    train = np.array([[1.0], [2.0], [3.0]])
    test = np.array([[100.0]])
    t = FeatureTransformer(log="none").fit(train)
    assert t.mean_[0] == pytest.approx(2.0)
    assert t.transform(test)[0, 0] == pytest.approx((100 - 2) / np.std([1.0, 2.0, 3.0]))


def test_constant_column_does_not_divide_by_zero():
    t = FeatureTransformer(log="none").fit(np.ones((4, 1)))
    assert np.isfinite(t.transform(np.ones((2, 1)))).all()


def test_dict_round_trip_gives_identical_output(rng):
    x = np.abs(rng.normal(size=(20, 3))) * [1e20, 1.0, 1e3]
    t = FeatureTransformer(feature_names=["USFLUX", "MEANGAM", "other"]).fit(x)
    t2 = FeatureTransformer.from_dict(t.to_dict())
    np.testing.assert_array_equal(t.transform(x), t2.transform(x))


def test_bad_options_and_shapes_raise():
    with pytest.raises(ConfigError, match="'log' parameter of FeatureTransformer must be one of"):
        FeatureTransformer(log="maybe").fit(np.ones((3, 2)))
    t = FeatureTransformer().fit(np.ones((3, 2)))
    with pytest.raises(ConfigError, match="fitted on 2 features"):
        t.transform(np.ones((3, 3)))


def test_z_scores_are_bounded_so_a_corrupt_value_or_scale_cannot_overflow_the_network():
    from flarecast.features.scaling import Z_LIMIT

    ft = FeatureTransformer(log="none").fit(np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]))
    z = ft.transform(np.array([[2.0, 3.0], [1e300, -1e300]]))
    np.testing.assert_allclose(z[0], 0.0)
    np.testing.assert_array_equal(z[1], [Z_LIMIT, -Z_LIMIT])
    ft.scale_ = np.array(
        [6e-269, 1.0]
    )  # a hand-edited model.json (fuzz finding): x / scale overflows to inf
    z = ft.transform(np.array([[2.5, 3.0], [1.5, 3.0], [2.0, 3.0]]))
    assert np.isfinite(z.astype(np.float32)).all()
    np.testing.assert_array_equal(z[:, 0], [Z_LIMIT, -Z_LIMIT, 0.0])
