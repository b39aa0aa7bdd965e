"""Focal loss, BCE and weighted BCE: reference values, BCE equivalence, bounds, bad arguments."""

import dataclasses
import math
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from flarecast.errors import ConfigError
from flarecast.training import loss_functions
from flarecast.training.loss_functions import (
    BCELoss,
    FocalLoss,
    WeightedBCELoss,
    bce_loss,
    build_loss,
    focal_loss,
    make_loss,
    weighted_bce_loss,
)
from flarecast.training.losses import (
    LOSS_REGISTRY,
    LOSSES,
    LossConfig,
    pos_weight_from_base_rate,
    read_alpha,
)

LOGITS = torch.tensor([-4.59512, 0.0, 2.0, -2.0, 5.0, -5.0], dtype=torch.float64)
TARGETS = torch.tensor([1.0, 1.0, 1.0, 0.0, 0.0, 1.0], dtype=torch.float64)
REFERENCE = [1.128382, 0.0433217, 4.5089e-4, 1.35267e-3, 3.704941, 1.234980]


def test_reference_values_elementwise():
    got = focal_loss(LOGITS, TARGETS, alpha=0.25, gamma=2.0, reduction="none")
    np.testing.assert_allclose(got.numpy(), REFERENCE, atol=1e-5, rtol=0)


def test_reference_reductions():
    assert focal_loss(LOGITS, TARGETS, reduction="mean").item() == pytest.approx(1.018905, abs=1e-5)
    assert focal_loss(LOGITS, TARGETS, reduction="positives").item() == pytest.approx(
        1.528357, abs=1e-5
    )
    assert focal_loss(LOGITS, TARGETS, reduction="sum").item() == pytest.approx(
        sum(REFERENCE), abs=1e-5
    )


def test_reference_values_hold_in_float32():
    got = focal_loss(LOGITS.float(), TARGETS.float())
    np.testing.assert_allclose(got.numpy(), REFERENCE, atol=1e-5, rtol=0)


def test_positives_reduction_never_divides_by_zero():
    z = torch.tensor([1.0, -1.0])
    t = torch.zeros(2)
    assert focal_loss(z, t, reduction="positives").item() == pytest.approx(
        focal_loss(z, t, reduction="sum").item()
    )


def test_gamma0_alpha_off_equals_bce_with_gradients():
    z1 = torch.linspace(-30, 30, 41, dtype=torch.float64, requires_grad=True)
    z2 = z1.detach().clone().requires_grad_(True)
    t = (torch.arange(41) % 3 == 0).double()
    fl = focal_loss(z1, t, alpha=None, gamma=0.0, reduction="sum")
    ce = F.binary_cross_entropy_with_logits(z2, t, reduction="sum")
    fl.backward()
    ce.backward()
    assert fl.item() == pytest.approx(ce.item(), rel=1e-12)
    torch.testing.assert_close(z1.grad, z2.grad, rtol=1e-12, atol=1e-15)


def test_no_weighting_has_one_spelling_in_python():
    """None is "no class weighting"; the old -1 / "none" / "off" are refused by the functions
    and configs and read only from files and the command line (read_alpha)."""
    for spelling in (-1, "none", "off"):
        with pytest.raises(ConfigError, match=r"'alpha' parameter of focal_loss .* or None"):
            focal_loss(LOGITS, TARGETS, alpha=spelling)
        with pytest.raises(ConfigError, match=r"'alpha' parameter of focal_loss"):
            LossConfig(alpha=spelling)
    for spelling in (-1, -1.0, "none", "NONE", "off", "-1", None):
        assert read_alpha(spelling, "train.toml") is None
    assert read_alpha("0.5", "--alpha") == 0.5 and read_alpha(0.75, "x") == 0.75
    with pytest.raises(ConfigError, match=r"--alpha must be a number in \[0, 1\] or 'none'"):
        read_alpha("lots", "--alpha")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-60, 60), min_size=1, max_size=20),
    st.floats(0, 5),
    st.one_of(st.none(), st.floats(0, 1)),
    st.data(),
)
def test_focal_never_above_bce_and_finite(logits, gamma, alpha, data):
    t = data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=len(logits), max_size=len(logits)))
    z = torch.tensor(logits, dtype=torch.float32)
    y = torch.tensor(t)
    fl = focal_loss(z, y, alpha=alpha, gamma=gamma)
    ce = bce_loss(z, y)
    assert torch.isfinite(fl).all()
    assert (fl >= 0).all()
    assert (fl <= ce + 1e-6).all()


def test_extreme_logits_stay_finite_with_finite_gradients():
    z = torch.tensor([-200.0, 200.0, -200.0, 200.0], requires_grad=True)
    t = torch.tensor([1.0, 0.0, 0.0, 1.0])
    loss = focal_loss(z, t, reduction="sum")
    loss.backward()
    assert math.isfinite(loss.item()) and loss.item() > 0
    assert torch.isfinite(z.grad).all()
    # confidently wrong: ~ alpha * 200 and (1 - alpha) * 200; confidently right: ~ 0
    assert focal_loss(z.detach(), t)[0].item() == pytest.approx(0.25 * 200, rel=1e-4)
    assert focal_loss(z.detach(), t)[1].item() == pytest.approx(0.75 * 200, rel=1e-4)


def test_alpha_weights_the_flare_class():
    z = torch.tensor([0.0, 0.0])
    t = torch.tensor([1.0, 0.0])
    fl = focal_loss(z, t, alpha=0.25, gamma=0.0)
    # at p = 0.5 both terms are log 2; the positive (flare) one carries alpha
    assert fl[0].item() == pytest.approx(0.25 * math.log(2))
    assert fl[1].item() == pytest.approx(0.75 * math.log(2))


def test_batched_shapes_kept():
    z = torch.randn(5, 7, generator=torch.Generator().manual_seed(0))
    t = (torch.rand(5, 7, generator=torch.Generator().manual_seed(1)) > 0.5).float()
    assert focal_loss(z, t).shape == (5, 7)
    torch.testing.assert_close(focal_loss(z, t)[2], focal_loss(z[2], t[2]))


def test_weighted_bce_matches_definition_and_balances():
    w = pos_weight_from_base_rate(0.1)
    assert w == pytest.approx(9.0)
    z = torch.tensor([0.3, -1.2], dtype=torch.float64)
    t = torch.tensor([1.0, 0.0], dtype=torch.float64)
    p = torch.sigmoid(z)
    expected = torch.stack([-w * torch.log(p[0]), -torch.log(1 - p[1])])
    torch.testing.assert_close(weighted_bce_loss(z, t, w), expected)
    torch.testing.assert_close(weighted_bce_loss(z, t, 1.0), bce_loss(z, t))


def test_modules_match_functions():
    torch.testing.assert_close(
        FocalLoss(0.5, 1.0)(LOGITS, TARGETS), focal_loss(LOGITS, TARGETS, 0.5, 1.0, "mean")
    )
    torch.testing.assert_close(BCELoss("sum")(LOGITS, TARGETS), bce_loss(LOGITS, TARGETS, "sum"))
    mod = WeightedBCELoss.from_base_rate(0.2)
    torch.testing.assert_close(
        mod(LOGITS, TARGETS), weighted_bce_loss(LOGITS, TARGETS, 4.0, "mean")
    )


def test_make_loss_dispatch():
    torch.testing.assert_close(
        make_loss("focal", alpha=0.5, gamma=1.0)(LOGITS, TARGETS),
        focal_loss(LOGITS, TARGETS, 0.5, 1.0),
    )
    torch.testing.assert_close(make_loss("ce")(LOGITS, TARGETS), bce_loss(LOGITS, TARGETS))
    torch.testing.assert_close(
        make_loss("weighted-ce", base_rate=0.25)(LOGITS, TARGETS),
        weighted_bce_loss(LOGITS, TARGETS, 3.0),
    )
    with pytest.raises(
        ValueError, match=r"Unknown loss 'hinge'; choose one of \['focal', 'ce', 'weighted-ce'\]"
    ):
        make_loss("hinge")
    with pytest.raises(ValueError, match="needs the training base rate"):
        make_loss("weighted-ce")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"gamma": -1.0},
            r"The 'gamma' parameter of focal_loss must be a float >= 0 and finite. Got -1.0 instead.",
        ),
        ({"gamma": float("nan")}, r"'gamma' parameter of focal_loss must be a float >= 0"),
        ({"gamma": float("inf")}, r"must be a float >= 0 and finite. Got inf instead."),
        (
            {"alpha": 1.5},
            r"The 'alpha' parameter of focal_loss must be a float in \[0, 1\], or None for no "
            r"class weighting. Got 1.5 instead.",
        ),
        ({"alpha": -0.1}, r"'alpha' parameter of focal_loss must be a float in \[0, 1\]"),
        (
            {"reduction": "avg"},
            r"must be one of \['none', 'mean', 'sum', 'positives'\]. Got 'avg' instead.",
        ),
    ],
)
def test_focal_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        focal_loss(LOGITS, TARGETS, **kwargs)


def test_shape_mismatch_raises_for_every_loss():
    t = TARGETS[:, None]
    for fn in (focal_loss, bce_loss, lambda z, y: weighted_bce_loss(z, y, 2.0)):
        with pytest.raises(ValueError, match=r"same shape; got logits \(6,\) and targets \(6, 1\)"):
            fn(LOGITS, t)


def test_other_bad_arguments():
    with pytest.raises(
        ValueError, match="'pos_weight' parameter of weighted_bce_loss must be a float > 0"
    ):
        weighted_bce_loss(LOGITS, TARGETS, 0.0)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        pos_weight_from_base_rate(0.0)
    with pytest.raises(ValueError, match="'reduction' parameter of BCELoss"):
        BCELoss("max")
    with pytest.raises(ValueError, match="'gamma' parameter of FocalLoss"):
        FocalLoss(gamma=-2)


def test_loss_config_validates_once_and_lists_every_problem():
    """gamma=inf used to pass TrainConfig, FlareClassifier and Protocol and fail only in make_loss."""
    with pytest.raises(ConfigError) as info:
        LossConfig("hinge", alpha=2.0, gamma=float("inf"))
    message = str(info.value)
    assert (
        "The 'loss' parameter of focal_loss must be one of ['focal', 'ce', 'weighted-ce']"
        in message
    )
    assert "'alpha'" in message and "Got 2.0 instead" in message
    assert "The 'gamma' parameter of focal_loss must be a float >= 0 and finite. Got inf" in message
    assert LossConfig() == LossConfig("focal", 0.25, 2.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        LossConfig().gamma = 1.0  # type: ignore[misc]


def test_registry_is_the_one_list_of_losses():
    assert LOSSES == tuple(LOSS_REGISTRY) == ("focal", "ce", "weighted-ce")
    assert LOSS_REGISTRY["focal"].uses == ("alpha", "gamma")
    assert LOSS_REGISTRY["weighted-ce"].positive_weight(0.2) == pytest.approx(4.0)
    assert LOSS_REGISTRY["ce"].positive_weight is None
    for spec in LOSS_REGISTRY.values():  # every entry names a function of loss_functions
        assert callable(getattr(loss_functions, spec.function))
    for name in LOSSES:
        fn = build_loss(LossConfig(name), base_rate=0.25)
        assert fn(LOGITS, TARGETS).shape == LOGITS.shape


def test_built_losses_pickle():
    """A fitted FlareClassifier stores its loss; a lambda there made the estimator unpicklable."""
    for name in LOSSES:
        fn = pickle.loads(pickle.dumps(build_loss(LossConfig(name, alpha=0.5), base_rate=0.25)))
        torch.testing.assert_close(
            fn(LOGITS, TARGETS), make_loss(name, alpha=0.5, base_rate=0.25)(LOGITS, TARGETS)
        )


def test_losses_module_does_not_import_torch():
    """The evaluation protocol reads the registry; the forecast path must not pay for torch."""
    code = (
        "import sys, flarecast.training.losses as m, flarecast.training.config as c; "
        "m.LossConfig(); c.TrainConfig(); assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
