"""Vectorised ensemble networks and the record-windowing helper."""

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from flarecast.errors import DataError
from flarecast.models.ensemble import (
    BatchedLinear,
    BestWeights,
    member_generators,
    member_seeds,
    prior_logit,
)
from flarecast.models.mlp import EnsembleMLP
from flarecast.models.sequence import EnsembleGRU, make_windows


def test_member_seeds_are_distinct_and_prefix_stable():
    s5, s3 = member_seeds(0, 5), member_seeds(0, 3)
    assert len(set(s5)) == 5
    assert s5[:3] == s3
    assert not set(member_seeds(1, 5)) & set(s5)


def test_prior_init_predicts_the_base_rate():
    net = EnsembleMLP(6, (8, 8), base_rate=0.07, n_members=4, seed=3).eval()
    p = torch.sigmoid(net(torch.randn(100, 6, generator=torch.Generator().manual_seed(0))))
    assert p.shape == (4, 100)
    # output weights ~ N(0, 0.01): every member starts within a hair of the prior
    np.testing.assert_allclose(p.detach().numpy(), 0.07, atol=0.01)
    assert net.head.bias.detach().flatten().tolist() == pytest.approx([prior_logit(0.07)] * 4)


def test_members_match_plain_torch_mlps():
    net = EnsembleMLP(5, (7, 3), dropout=0.0, n_members=3, seed=1, activation="tanh").eval()
    x = torch.randn(11, 5, generator=torch.Generator().manual_seed(2))
    out = net(x)
    for k in range(3):
        layers = []
        for lin in [*net.layers, net.head]:
            plain = torch.nn.Linear(*lin.weight.shape[1:])
            plain.weight.data = lin.weight[k].T.clone()
            plain.bias.data = lin.bias[k, 0].clone()
            layers += [plain, torch.nn.Tanh()]
        ref = torch.nn.Sequential(*layers[:-1])(x).squeeze(-1)
        torch.testing.assert_close(out[k], ref)


def test_first_members_do_not_depend_on_ensemble_size():
    a = EnsembleMLP(4, (6,), n_members=2, seed=9)
    b = EnsembleMLP(4, (6,), n_members=5, seed=9)
    torch.testing.assert_close(a.layers[0].weight, b.layers[0].weight[:2])


def test_member_gradients_are_independent():
    net = EnsembleMLP(4, (6,), dropout=0.0, n_members=3, seed=0)
    x = torch.randn(3, 10, 4, generator=torch.Generator().manual_seed(1))
    y = (torch.rand(3, 10, generator=torch.Generator().manual_seed(2)) > 0.5).float()
    losses = torch.nn.functional.binary_cross_entropy_with_logits(net(x), y, reduction="none").mean(
        1
    )
    full = torch.autograd.grad(losses.sum(), net.layers[0].weight, retain_graph=True)[0]
    only1 = torch.autograd.grad(losses[1], net.layers[0].weight)[0]
    torch.testing.assert_close(full[1], only1[1])
    assert only1[0].abs().sum() == 0 and only1[2].abs().sum() == 0


@pytest.mark.parametrize("out", [4, 1])
def test_batched_linear_accepts_shared_and_per_member_inputs(out):
    lin = BatchedLinear(member_generators([1, 2]), 3, out)
    x = torch.randn(5, 3)
    torch.testing.assert_close(lin(x), lin(x.expand(2, 5, 3)))
    assert lin(x).shape == (2, 5, out)
    xk = torch.randn(2, 5, 3)
    torch.testing.assert_close(lin(xk)[1], xk[1] @ lin.weight[1] + lin.bias[1])


def test_best_weights_restore_per_member():
    net = EnsembleMLP(3, (4,), n_members=3, seed=0)
    best = BestWeights(net)
    before = net.layers[0].weight.detach().clone()
    with torch.no_grad():
        net.layers[0].weight.add_(1.0)
    best.update(torch.tensor([False, True, False]))  # member 1 improved after the change
    with torch.no_grad():
        net.layers[0].weight.add_(5.0)
    best.restore()
    w = net.layers[0].weight.detach()
    torch.testing.assert_close(w[0], before[0])
    torch.testing.assert_close(w[1], before[1] + 1.0)
    torch.testing.assert_close(w[2], before[2])


def test_fast_tanh_matches_torch_with_gradients():
    from flarecast.models.ensemble import tanh

    x = torch.linspace(-30, 30, 40001, requires_grad=True)  # large enough for the fast path
    x2 = x.detach().clone().requires_grad_(True)
    y, y2 = tanh(x), torch.tanh(x2)
    torch.testing.assert_close(y, y2, atol=3e-7, rtol=0)
    y.sum().backward()
    y2.sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, atol=1e-6, rtol=0)


def test_dropout_is_reproducible_with_a_generator_and_off_in_eval():
    net = EnsembleMLP(4, (16, 16), dropout=0.5, n_members=2, seed=0)
    x = torch.randn(8, 4)
    a = net(x, generator=torch.Generator().manual_seed(5))
    b = net(x, generator=torch.Generator().manual_seed(5))
    c = net(x, generator=torch.Generator().manual_seed(6))
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, c)
    net.eval()
    torch.testing.assert_close(net(x, generator=torch.Generator().manual_seed(5)), net(x))


# --- windows -------------------------------------------------------------------------------------


def _brute_windows(x, groups, times, length):
    n = len(x)
    w = np.zeros((n, length, x.shape[1]), dtype=np.float32)
    m = np.zeros((n, length), dtype=bool)
    for i in range(n):
        earlier = [j for j in range(n) if groups[j] == groups[i] and times[j] < times[i]]
        earlier.sort(key=lambda j: (times[j], j))
        chosen = earlier[-(length - 1) :] if length > 1 else []
        rows = [*chosen, i]
        w[i, length - len(rows) :] = x[rows]
        m[i, length - len(rows) :] = True
    return w, m


def test_windows_small_example():
    x = np.arange(6, dtype=float)[:, None]
    groups = np.array([7, 7, 8, 7, 8, 7])
    times = np.array([3, 1, 1, 2, 2, 2])  # rows 3 and 5 share time 2 in region 7
    w, m = make_windows(x, groups, times, 3)
    # row 0 (region 7, t=3): two latest earlier records are rows 3 and 5 (t=2), order by row on ties
    assert w[0, :, 0].tolist() == [3.0, 5.0, 0.0]
    assert m[0].tolist() == [True, True, True]
    # row 3 (t=2) must not see row 5 (same time) but sees row 1 (t=1)
    assert w[3, :, 0].tolist() == [0.0, 1.0, 3.0] and m[3].tolist() == [False, True, True]
    assert w[5, :, 0].tolist() == [0.0, 1.0, 5.0]
    # region 8 never sees region 7
    assert w[4, :, 0].tolist() == [0.0, 2.0, 4.0]
    assert m[1].tolist() == [False, False, True]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 6)), min_size=1, max_size=25),
    st.integers(1, 5),
)
def test_windows_match_brute_force(rows, length):
    groups = np.array([g for g, _ in rows])
    times = np.array([t for _, t in rows])
    x = np.arange(len(rows), dtype=float)[:, None] + 1.0
    w, m = make_windows(x, groups, times, length)
    bw, bm = _brute_windows(x.astype(np.float32), groups, times, length)
    np.testing.assert_array_equal(m, bm)
    # same sets of earlier records (tie order may differ), and the row itself last
    np.testing.assert_array_equal(np.sort(w[:, :-1, 0], axis=1), np.sort(bw[:, :-1, 0], axis=1))
    np.testing.assert_array_equal(w[:, -1, 0], x[:, 0])


def test_windows_with_utc_times_and_missing_regions():
    times = pd.Series(
        pd.to_datetime(["2012-01-01 00:00", "2012-01-01 06:00", "2012-01-01 03:00"], utc=True)
    )
    groups = pd.Series([11158, pd.NA, pd.NA], dtype="Int64")
    w, m = make_windows(np.ones((3, 2)), groups, times, 2)
    assert m.tolist() == [[False, True]] * 3  # NA rows are regions of their own


def test_windows_bad_input():
    with pytest.raises(DataError, match="window length must be >= 1"):
        make_windows(np.ones((2, 1)), [1, 1], [0, 1], 0)
    with pytest.raises(DataError, match="2 feature rows but 3 groups"):
        make_windows(np.ones((2, 1)), [1, 1, 1], [0, 1, 2], 2)
    with pytest.raises(DataError, match="missing time"):
        make_windows(
            np.ones((2, 1)), [1, 1], pd.Series(pd.to_datetime(["2012-01-01", None], utc=True)), 2
        )


# --- GRU -----------------------------------------------------------------------------------------


def test_gru_members_match_torch_gru():
    net = EnsembleGRU(3, (5,), dropout=0.0, n_members=2, seed=4).eval()
    x = torch.randn(6, 4, 3, generator=torch.Generator().manual_seed(0))
    mask = torch.ones(6, 4, dtype=torch.bool)
    out = net(x, mask)
    for k in range(2):
        gru = torch.nn.GRU(3, 5, batch_first=True)
        gru.weight_ih_l0.data = net.input_gates.weight[k].T.clone()
        gru.weight_hh_l0.data = net.state_gates.weight[k].T.clone()
        gru.bias_ih_l0.data = net.input_gates.bias[k, 0].clone()
        gru.bias_hh_l0.data = net.state_gates.bias[k, 0].clone()
        _, h = gru(x)
        ref = h[0] @ net.head.weight[k] + net.head.bias[k]
        torch.testing.assert_close(out[k], ref.squeeze(-1))


def test_gru_padding_does_not_change_the_output():
    net = EnsembleGRU(3, (5, 4), dropout=0.0, n_members=2, seed=4).eval()
    x = torch.randn(6, 2, 3, generator=torch.Generator().manual_seed(0))
    short = net(x, torch.ones(6, 2, dtype=torch.bool))
    padded = torch.cat([torch.randn(6, 3, 3), x], dim=1)  # garbage in padded slots
    mask = torch.cat(
        [torch.zeros(6, 3, dtype=torch.bool), torch.ones(6, 2, dtype=torch.bool)], dim=1
    )
    torch.testing.assert_close(net(padded, mask), short)
    assert net(padded, mask).shape == (2, 6)


@pytest.mark.parametrize("kind", ["mlp", "mlp-skip", "sequence"])
def test_every_gradient_has_its_parameters_strides(kind):
    """DistributedDataParallel buckets gradients by the parameters' layout; a gradient with other strides
    (a (K, n, 1) weight's gradient laid out as a transpose) costs a copy and a warning on every step."""
    if kind == "sequence":
        net, inputs = (
            EnsembleGRU(5, (6, 4), n_members=3),
            (torch.randn(7, 4, 5), torch.ones(7, 4, dtype=torch.bool)),
        )
    else:
        net, inputs = (
            EnsembleMLP(5, (4,), n_members=3, skip=kind == "mlp-skip"),
            (torch.randn(3, 7, 5),),
        )
    net(*inputs).sum().backward()
    for name, p in net.named_parameters():
        assert p.grad.stride() == p.stride(), name
