"""Results through the bridge: torch tensors as data, modules as their parameters, drivers,
and arrays over the size limit refused in the kernel.

The kernel side encodes, the trusted side decodes (the same code as in a real call, without
a kernel); nothing is unpickled on the trusted side.
"""

import numpy as np
import pytest
import torch

from course.bridge import ModuleData, ResultReader, ResultRejected, Unsupported
from course.graders.harness import FakeStudent, namespace


def roundtrip(value):
    return FakeStudent({})._roundtrip(value)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64, torch.uint8,
                                   torch.bool, torch.float16])
def test_tensor_keeps_dtype_shape_and_values(dtype):
    tensor = (torch.arange(12).reshape(3, 4) % 3).to(dtype)
    got = roundtrip(tensor)
    assert isinstance(got, torch.Tensor) and got.dtype == dtype and got.shape == (3, 4)
    assert torch.equal(got, tensor)


def test_bfloat16_comes_back_as_its_float_values():
    tensor = torch.tensor([1.5, -2.0], dtype=torch.bfloat16)
    got = roundtrip(tensor)
    assert got.dtype == torch.bfloat16 and torch.equal(got, tensor)


def test_requires_grad_is_kept_and_the_graph_is_not():
    leaf = torch.ones(2, requires_grad=True)
    got = roundtrip({"leaf": leaf, "result": leaf * 2, "plain": torch.zeros(1)})
    assert got["leaf"].requires_grad and got["result"].requires_grad
    assert got["result"].grad_fn is None  # a fresh leaf: data only
    assert not got["plain"].requires_grad


def test_zero_dim_and_empty_tensors():
    got = roundtrip([torch.tensor(3.25), torch.empty(0, 5)])
    assert got[0].shape == () and got[0].item() == 3.25
    assert got[1].shape == (0, 5)


def test_complex_tensor_is_unsupported():
    assert isinstance(roundtrip(torch.ones(2, dtype=torch.complex64)), Unsupported)


def test_module_as_data():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3),
                              torch.nn.Dropout(0.5), torch.nn.Linear(3, 2))
    net[0].weight.requires_grad_(False)
    net.eval()
    net[2].train()
    got = roundtrip(net)
    assert isinstance(got, ModuleData) and got.type == "Sequential" and not got.training
    assert got.n_parameters() == 4 * 3 + 3 + 3 + 3 + 3 * 2 + 2
    assert not got.parameters["0.weight"].requires_grad
    assert got.parameters["3.bias"].requires_grad
    assert set(got.buffers) == {"1.running_mean", "1.running_var", "1.num_batches_tracked"}
    assert got.modules[0] == ("", "Sequential", False)
    assert ("2", "Dropout", True) in got.modules
    fresh = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3),
                                torch.nn.Dropout(0.5), torch.nn.Linear(3, 2))
    fresh.load_state_dict(got.state_dict())  # the data is enough to rebuild the network
    fresh.eval()
    x = torch.randn(5, 4)
    assert torch.equal(fresh(x), net.eval()(x))


def test_malformed_module_is_rejected():
    with pytest.raises(ResultRejected):
        ResultReader(-1, 10).decode({"$type": "module", "class": "X", "modules": "nope",
                                     "parameters": {"$type": "dict", "items": []},
                                     "buffers": {"$type": "dict", "items": []}})


def _driver(ns, x, factor=1):
    model = ns["Doubler"]()
    return {"out": model(torch.as_tensor(x)) * factor, "model": model}


def test_driver_gets_the_notebook_globals():
    ns = namespace("""
import torch
class Doubler(torch.nn.Module):
    def forward(self, x):
        return 2 * x
""")
    got = FakeStudent(ns)._run(_driver, np.array([1.0, 2.5]), factor=3)
    assert torch.equal(got["out"], torch.tensor([6.0, 15.0], dtype=torch.float64))
    assert got["model"].type == "Doubler" and got["model"].n_parameters() == 0


def test_driver_must_be_a_named_function():
    with pytest.raises(TypeError):
        FakeStudent({})._run(lambda ns: 1)


def test_an_array_over_the_limit_is_refused_before_it_is_written(monkeypatch):
    from course.bridge import kernel_side

    monkeypatch.setattr(kernel_side, "_LIMIT", [1000])
    with pytest.raises(ResultRejected, match="too large"):
        roundtrip({"fine": np.zeros(10), "huge": torch.zeros(2000)})
