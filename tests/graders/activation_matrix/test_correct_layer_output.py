"""Hidden grader of get_layer_output(model, X, layer)."""

from hypothesis import given
from hypothesis import strategies as st

import reference.activations as ref
from course.graders.compare import expect_array

from .cases import ACTIVATIONS, model_cases, trained_subset

GRADES = ("get_layer_output",)
SENDS = ()

# Hidden layers: a hand-written logistic (1 / (1 + exp(-z))) differs from sklearn's
# expit by an ulp or two; anything wrong is off by far more than this.
HIDDEN = {"rtol": 1e-9, "atol": 1e-12}
# The output layer equals predict_proba: exactly for sklearn's own functions, up to the
# rounding of a hand-written softmax/logistic otherwise.
OUTPUT = {"rtol": 1e-12, "atol": 1e-15}


@given(case=model_cases())
def test_input_layer(student, case):
    """Layer 1 (the input layer) is X itself."""
    got = student.get_layer_output(case.model, case.X, 1)
    expect_array(got, case.X, what="get_layer_output(model, X, 1)", rtol=0, atol=0)


@given(case=model_cases())
def test_hidden_layers(student, case):
    """Hidden layers (2 .. n_layers_ - 1) apply the model's activation to a @ W + b."""
    for layer in range(2, case.model.n_layers_):
        got = student.get_layer_output(case.model, case.X, layer)
        expect_array(got, ref.get_layer_output(case.model, case.X, layer),
                     what=f"get_layer_output(model, X, {layer}) with activation "
                          f"{case.model.activation!r}", **HIDDEN)


@given(case=model_cases(n_classes=st.integers(3, 10)))
def test_output_layer(student, case):
    """The output layer (layer n_layers_) equals model.predict_proba(X)."""
    layer = case.model.n_layers_
    got = student.get_layer_output(case.model, case.X, layer)
    expect_array(got, case.model.predict_proba(case.X),
                 what=f"get_layer_output(model, X, {layer}) (the output layer)", **OUTPUT)


@given(case=model_cases(n_classes=st.just(2)))
def test_binary_output_layer(student, case):
    """Binary models: the output layer equals predict_proba, two columns [1 - p, p]."""
    layer = case.model.n_layers_
    got = student.get_layer_output(case.model, case.X, layer)
    expect_array(got, case.model.predict_proba(case.X),
                 what=f"get_layer_output(model, X, {layer}) of a 2-class model", **OUTPUT)


@given(case=model_cases(kinds=("integers",)))
def test_integer_input_gives_floats(student, case):
    """Integer inputs (raw 0-255 pixels): layer 1 is X as a float array, not integers."""
    got = student.get_layer_output(case.model, case.X, 1)
    what = "get_layer_output(model, X, 1) for integer X"
    arr = expect_array(got, case.X, what=what, rtol=0, atol=0)
    assert arr.dtype.kind == "f", (
        f"{what}: expected a float array (as the text asks), got dtype {arr.dtype}")


@given(data=st.data())
def test_every_hidden_activation(student, data):
    """Each hidden activation (relu, logistic, tanh, identity) is computed as the text says."""
    for activation in ACTIVATIONS:
        case = data.draw(model_cases(activations=(activation,), max_rows=10), label=activation)
        for layer in range(2, case.model.n_layers_):
            got = student.get_layer_output(case.model, case.X, layer)
            expect_array(got, ref.get_layer_output(case.model, case.X, layer),
                         what=f"get_layer_output(model, X, {layer}) with activation "
                              f"{activation!r}", **HIDDEN)


def test_trained_mnist(student):
    """On an MLP (64, 32) trained on MNIST, every layer 1-4 is right for 300 test digits."""
    nn, X, _, _ = trained_subset(300)
    for layer in range(1, nn.n_layers_ + 1):
        expected = nn.predict_proba(X) if layer == nn.n_layers_ else ref.get_layer_output(
            nn, X, layer)
        got = student.get_layer_output(nn, X, layer)
        expect_array(got, expected, what=f"trained model: get_layer_output(nn, X, {layer})",
                     **(OUTPUT if layer == nn.n_layers_ else HIDDEN))
