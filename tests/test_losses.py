"""Focal loss, BCE and weighted BCE: reference values, BCE equivalence, bounds, bad arguments."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from flarecast.training.losses import (
    BCELoss,
    FocalLoss,
    WeightedBCELoss,
    bce_loss,
    focal_loss,
    make_loss,
    pos_weight_from_base_rate,
    weighted_bce_loss,
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


def test_alpha_minus_one_is_off():
    torch.testing.assert_close(
        focal_loss(LOGITS, TARGETS, alpha=-1), focal_loss(LOGITS, TARGETS, alpha=None)
    )


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
            r"The 'gamma' parameter of focal_loss must be a float >= 0. Got -1.0 instead.",
        ),
        ({"gamma": float("nan")}, r"'gamma' parameter of focal_loss must be a float >= 0"),
        (
            {"alpha": 1.5},
            r"The 'alpha' parameter of focal_loss must be a float in \[0, 1\], or None / -1",
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
