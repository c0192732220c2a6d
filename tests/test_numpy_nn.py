"""Tests of numpy_nn.py: the graded template API, gradients, shapes, errors, training, the main script."""

import inspect
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

import numpy_nn as nn
from conftest import ROOT, assert_one_error_line, is_png, run_main

# Bound on the relative error of every gradient check: float64 centred differences with
# eps = 1e-6 are off by about rounding / eps = 1e-16 / 1e-6, two orders below it; a wrong
# derivative is off by a factor, far above it.
TOL = 1e-7


def rng(seed=0):
    return np.random.default_rng(seed)


def linear_with(W, b):
    """A float64 Linear computing with the given W (D, H), b (1, H), written in place."""
    layer = nn.Linear(*np.shape(W), rng=rng())
    layer.W[...] = W
    layer.b[...] = b
    return layer


def away_from_zero(shape, seed=0):
    """float64 values with |x| in [0.1, 2]: no ReLU kink within a finite-difference step."""
    r = rng(seed)
    return r.uniform(0.1, 2.0, shape) * r.choice([-1.0, 1.0], shape)


# ---------------------------------------------------------------- template API and course values

TEMPLATE_W = [[1, 0.6], [0.2, -0.2], [-0.6, -1]]
TEMPLATE_B = [[-0.5, 0.5]]
TEMPLATE_X = np.array([[-2, -1.2, -0.4], [0.4, 1.2, 2]])


def test_linear_forward_backward_course_values():
    layer = linear_with(TEMPLATE_W, TEMPLATE_B)
    np.testing.assert_allclose(layer.forward(TEMPLATE_X), [[-2.5, -0.06], [-1.06, -1.5]], atol=1e-12)
    dx = layer.backward(np.array([[1, 1.3333], [1.6667, 2]]))
    np.testing.assert_allclose(dx, [[1.8, -0.0667, -1.9333], [2.8667, -0.0667, -3]], atol=1e-4)


def test_se_course_values():
    x = np.linspace(-5, 5, 9)
    loss = nn.SE()
    np.testing.assert_allclose(loss.forward(x, 0.5 * x), (0.5 * x) ** 2)  # elementwise, not averaged
    np.testing.assert_allclose(loss.backward(), np.linspace(-5, 5, 9))


def test_linear_init_shapes_and_scale():
    layer = nn.Linear(300, 200, rng=rng())
    assert layer.W.shape == (300, 200) and layer.b.shape == (1, 200)
    assert 0.008 < layer.W.std() < 0.012  # N(0, 1) / 100
    np.random.seed(0)  # without rng the template's global np.random state is used
    a = nn.Linear(3, 2).W
    np.random.seed(0)
    np.testing.assert_array_equal(a, nn.Linear(3, 2).W)


def test_getters_and_base_classes():
    assert nn.get_linear_class() == [nn.Linear]
    assert nn.get_relu_class() == [nn.ReLU]
    assert nn.get_sigmoid_class() == [nn.Sigmoid]
    assert nn.get_se_loss_class() == [nn.SE]
    for cls in (nn.Linear, nn.ReLU, nn.Sigmoid):
        assert issubclass(cls, nn.Layer)
    assert issubclass(nn.SE, nn.Loss)
    assert nn.ReLU().params() == {} and nn.Sigmoid().grads() == {}


def test_params_are_the_arrays_used_and_in_place_update_takes_effect():
    layer = linear_with(TEMPLATE_W, TEMPLATE_B)
    params = layer.params()
    assert params["W"] is layer.W and params["b"] is layer.b
    before = layer.forward(TEMPLATE_X)
    params["b"] += 1.0
    np.testing.assert_allclose(layer.forward(TEMPLATE_X), before + 1.0)


def test_template_update_rule_lowers_loss():
    """param -= lr * grads[name].mean(axis=0), as the template trains, decreases the loss."""
    r = rng(1)
    x = r.standard_normal((16, 5))
    y = x @ r.standard_normal((5, 3))  # a linear target the layer can fit
    layer, loss = nn.Linear(5, 3, rng=r), nn.SE()
    first = loss.forward(layer.forward(x), y).mean()
    for _ in range(20):
        loss.forward(layer.forward(x), y)
        layer.backward(loss.backward())
        grads = layer.grads()
        for name, param in layer.params().items():
            param -= 0.05 * grads[name].mean(axis=0)
    assert loss.forward(layer.forward(x), y).mean() < 0.5 * first


# ---------------------------------------------------------------- shapes, as the docstrings state them
# Each template class's docstring has lines `method: inputs -> outputs` (no arrow: no arguments),
# arrays as `name (shape)` or `none`; the module docstring defines the letters. These tests read
# them and run the code by them, so a docstring and the code cannot drift apart.

SPEC_METHODS = ("forward", "backward", "params", "grads", "batch_mean_grads")  # in calling order
DICT_METHODS = ("params", "grads", "batch_mean_grads")  # return {name: array}; dL/dW names key W
SPEC_LINE = re.compile(r"^ *(%s): +(.+?) *$" % "|".join(SPEC_METHODS), re.MULTILINE)
# B, D, H pairwise different, so a docstring naming the wrong letter gives a wrong shape
SIZES = [dict(B=1, D=2, H=3), dict(B=4, D=7, H=5), dict(B=9, D=3, H=8)]
TEMPLATE_CLASSES = [nn.Linear, nn.ReLU, nn.Sigmoid, nn.SE]


def shape_letters():
    """The letters the module docstring defines in 'Shapes: B = batch size, D = ...'."""
    legend = re.search(r"^Shapes: (.*?)\n\n", nn.__doc__, re.MULTILINE | re.DOTALL).group(1)
    return set(re.findall(r"\b([A-Z]) = ", legend))


def parse_arrays(text):
    """'x (B, D), y (...)' -> [('x', ['B', 'D']), ('y', ['...'])]; '' and 'none' -> []."""
    if text in ("", "none"):
        return []
    arrays = []
    for item in re.split(r",\s*(?![^()]*\))", text):  # the commas outside parentheses
        match = re.fullmatch(r"([\w/]+) \(([^()]*)\)", item)
        assert match, f"not `name (shape)`: {item!r} in {text!r}"
        arrays.append((match[1], [d.strip() for d in match[2].split(",") if d.strip()]))
    return arrays


def docstring_shapes(doc):
    """{method: (inputs, outputs)} from the lines `method: inputs -> outputs` of a docstring."""
    spec = {}
    for method, text in SPEC_LINE.findall(doc):
        assert method not in spec, f"{method} stated twice"
        inputs, _, outputs = text.rpartition("->")
        spec[method] = parse_arrays(inputs.strip()), parse_arrays(outputs.strip())
    return spec


def concrete(dims, sizes, any_shape):
    """['B', '1', '...'] -> (sizes['B'], 1, *any_shape)."""
    shape = []
    for d in dims:
        if d == "...":
            shape += any_shape
        elif d.isdigit():
            shape.append(int(d))
        else:
            assert d in sizes, f"dimension {d!r} is not defined in the module docstring's Shapes"
            shape.append(sizes[d])
    return tuple(shape)


def check_against_docstring(cls, doc, sizes, any_shape):
    """Build cls as `Name(letters)` in doc says (no arguments if absent), call every stated method
    with arrays of the stated input shapes, assert each result's shape (and dict keys)."""
    spec = docstring_shapes(doc)
    required = SPEC_METHODS if issubclass(cls, nn.Layer) else ("forward", "backward")
    assert sorted(spec) == sorted(required), f"{cls.__name__}: shape lines for {sorted(spec)}"
    constructor = re.search(rf"\b{cls.__name__}\(([^()]*)\)", doc)
    obj = cls(*concrete(parse_arrays(f"_ ({constructor[1]})")[0][1] if constructor else [], sizes, ()))
    r = rng(sum(sizes.values()))
    for method in required:  # forward first: backward and the gradients need what it saved
        inputs, outputs = spec[method]
        where = f"{cls.__name__}.{method} with {sizes}, ... = {any_shape}"
        assert len(inspect.signature(getattr(obj, method)).parameters) == len(inputs), \
            f"{where}: the docstring states {len(inputs)} arguments"
        result = getattr(obj, method)(*(r.standard_normal(concrete(dims, sizes, any_shape))
                                          for _, dims in inputs))
        expected = {name.replace("dL/d", "", 1): concrete(dims, sizes, any_shape) for name, dims in outputs}
        if method in DICT_METHODS:
            got = {name: np.shape(value) for name, value in result.items()}
        else:
            assert len(outputs) == 1, f"{where}: one output array expected"
            got = {next(iter(expected)): np.shape(result)}
        assert got == expected, f"{where}: docstring says {expected}, code gives {got}"


def test_docstrings_use_the_module_shape_letters():
    assert shape_letters() == set(SIZES[0])
    for cls in TEMPLATE_CLASSES:
        for inputs, outputs in docstring_shapes(cls.__doc__).values():
            for _, dims in inputs + outputs:
                assert all(d in shape_letters() or d == "..." or d.isdigit() for d in dims), \
                    f"{cls.__name__}: {dims}"


@pytest.mark.parametrize("sizes", SIZES, ids=lambda s: "B{B}-D{D}-H{H}".format(**s))
@pytest.mark.parametrize("cls", TEMPLATE_CLASSES, ids=lambda c: c.__name__)
def test_shapes_are_as_the_docstrings_state(cls, sizes):
    for any_shape in [(), (sizes["B"],), (sizes["B"], sizes["H"]), (sizes["H"], sizes["B"], sizes["D"])]:
        check_against_docstring(cls, cls.__doc__, sizes, any_shape)


@pytest.mark.parametrize("cls, right, wrong", [
    (nn.Linear, "dL/dW (B, D, H)", "dL/dW (B, H, D)"),
    (nn.Linear, "y (B, H)", "y (B, D)"),
    (nn.Linear, "dL/dx (B, D)", "dL/dx (D, B)"),
    (nn.Linear, "batch_mean_grads: dL/dW (D, H), dL/db (1, H)", "batch_mean_grads: dL/dW (D, H), dL/db (H,)"),
    (nn.Linear, "W (D, H), b (1, H)", "W (D, H)"),
    (nn.Linear, "dL/dy (B, H) -> ", ""),
    (nn.ReLU, "dL/dx (...)", "dL/dx (B, ...)"),
    (nn.Sigmoid, "params:           none", "params:           w (1,)"),
    (nn.SE, "L (...)", "L ()"),
    (nn.SE, "backward: dL/dx (...)\n", ""),
])
def test_a_wrong_docstring_shape_fails_the_check(cls, right, wrong):
    """The check can fail: each edit of a correct docstring makes it raise."""
    assert right in cls.__doc__
    with pytest.raises(AssertionError):
        check_against_docstring(cls, cls.__doc__.replace(right, wrong), SIZES[1], (4, 5))


@pytest.mark.parametrize("method, arguments", [("forward", ["x"]), ("backward", ["dL_wrt_output"]),
                                               ("params", []), ("grads", [])])
def test_template_signatures(method, arguments):
    """The graded template's methods take exactly these arguments (backward: the upstream gradient only)."""
    for cls in (nn.Linear, nn.ReLU, nn.Sigmoid):
        assert list(inspect.signature(getattr(cls, method)).parameters) == ["self", *arguments], cls
    assert list(inspect.signature(nn.SE.forward).parameters) == ["self", "x", "y"]
    assert list(inspect.signature(nn.SE.backward).parameters) == ["self"]


@pytest.mark.parametrize("batch", [1, 2, 7])
def test_batch_mean_grads_is_the_mean_of_grads(batch):
    layer, x = nn.Linear(7, 4, rng=rng()), rng(batch).standard_normal((batch, 7))
    layer.forward(x)
    layer.backward(rng(batch + 1).standard_normal((batch, 4)))
    grads, mean = layer.grads(), layer.batch_mean_grads()
    for name in ("W", "b"):  # the training loop's matrix-product gradient is the template's mean
        np.testing.assert_allclose(mean[name], grads[name].mean(axis=0), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("shape", [(5,), (2, 3), (2, 3, 4), (2, 1, 3, 4), (1, 2, 3, 2, 2)])
@pytest.mark.parametrize("cls", [nn.ReLU, nn.Sigmoid])
def test_activation_shapes_any_dimension(cls, shape):
    layer, x = cls(), away_from_zero(shape)
    y = layer.forward(x)
    assert y.shape == shape
    assert layer.backward(np.ones(shape)).shape == shape
    expected = np.maximum(x, 0) if cls is nn.ReLU else 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(y, expected, rtol=1e-12)


def test_sigmoid_extreme_inputs_finite_and_warning_free():
    for dtype in (np.float64, np.float32):
        layer = nn.Sigmoid()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with np.errstate(over="raise", invalid="raise", divide="raise"):
                y = layer.forward(np.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=dtype))
                dx = layer.backward(np.ones(5, dtype=dtype))
        assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx))
        np.testing.assert_allclose(y, [0, 0, 0.5, 1, 1], atol=1e-7)
        assert y[1] > 0  # no rounding to 0 at -50 in float64: exp(-50) ~ 2e-22
        assert dtype is np.float32 or y[1] == pytest.approx(np.exp(-50.0), rel=1e-12)


# ---------------------------------------------------------------- gradient checks

def test_gradient_check_linear():
    r = rng(2)
    x, y = r.standard_normal((4, 5)), r.standard_normal((4, 3))
    errors = nn.gradient_check(nn.Linear(5, 3, rng=r), nn.SE(), x, y)
    assert set(errors) == {"x", "W", "W (batch mean)", "b", "b (batch mean)"}
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4), (2, 2, 2, 3)])
@pytest.mark.parametrize("cls", [nn.ReLU, nn.Sigmoid])
def test_gradient_check_activations(cls, shape):
    x, y = away_from_zero(shape, 3), rng(4).standard_normal(shape)
    errors = nn.gradient_check(cls(), nn.SE(), x, y)
    assert max(errors.values()) < TOL, errors


def test_gradient_check_loss_alone():
    r = rng(5)
    errors = nn.gradient_check(None, nn.SE(), r.standard_normal((3, 2, 2)), r.standard_normal((3, 2, 2)))
    assert errors["x"] < TOL


def test_gradient_check_whole_network():
    r = rng(6)
    model = nn.build_mlp(6, (5, 4), 2, r)
    for layer in model.params().values():  # larger weights, so no gradient is negligibly small
        layer *= 50
    x, y = r.standard_normal((5, 6)), r.uniform(0, 1, (5, 2))
    errors = nn.gradient_check(model, nn.SE(), x, y)
    assert len(errors) == 1 + 2 * 6  # x and (per-sample, batch-mean) for 3 W and 3 b
    assert max(errors.values()) < TOL, errors


def test_gradient_check_detects_a_wrong_derivative():
    class BadSigmoid(nn.Sigmoid):
        def backward(self, dL_wrt_output):
            return dL_wrt_output * self.y  # forgot the (1 - y) factor

    x, y = away_from_zero((3, 2)), np.zeros((3, 2))
    assert nn.gradient_check(BadSigmoid(), nn.SE(), x, y)["x"] > 1e-2


def test_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    r = rng(7)
    model = nn.build_mlp(5, (4,), 2, r)
    for p in model.params().values():
        p *= 30
    x, y = r.standard_normal((6, 5)), r.uniform(0, 1, (6, 2))
    loss = nn.SE()
    loss.forward(model.forward(x), y)
    dx = model.backward(loss.backward())
    grads, params = model.grads(), model.params()

    t = {name: torch.tensor(p, requires_grad=True) for name, p in params.items()}
    tx = torch.tensor(x, requires_grad=True)

    def torch_loss(inputs, targets):
        hidden = torch.relu(inputs @ t["0.W"] + t["0.b"])
        return ((torch.sigmoid(hidden @ t["2.W"] + t["2.b"]) - targets) ** 2).sum()

    torch_loss(tx, torch.tensor(y)).backward()
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-14)
    for i in range(len(x)):  # per-sample gradients, one sample at a time
        ti = {name: torch.autograd.grad(torch_loss(tx[i:i + 1], torch.tensor(y[i:i + 1])), t[name])[0]
              for name in ("0.W", "2.b")}
        for name, value in ti.items():
            np.testing.assert_allclose(grads[name][i], value.numpy(), rtol=1e-10, atol=1e-14)


# ---------------------------------------------------------------- errors

def test_linear_wrong_width_names_shapes():
    layer = nn.Linear(784, 10, rng=rng())
    with pytest.raises(ValueError, match=r"\(batch, 784\).*\(5, 783\)"):
        layer.forward(np.zeros((5, 783)))
    with pytest.raises(ValueError, match=r"\(784,\)"):
        layer.forward(np.zeros(784))


def test_backward_before_forward_raises():
    for layer in (nn.Linear(3, 2, rng=rng()), nn.ReLU(), nn.Sigmoid()):
        with pytest.raises(RuntimeError, match="before forward"):
            layer.backward(np.ones((1, 2)))
    with pytest.raises(RuntimeError, match="before forward"):
        nn.SE().backward()
    layer = nn.Linear(3, 2, rng=rng())
    layer.forward(np.ones((1, 3)))
    with pytest.raises(RuntimeError, match="backward"):
        layer.grads()


def test_backward_wrong_shape_names_shapes():
    layer = nn.Linear(3, 2, rng=rng())
    layer.forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"\(4, 2\).*\(4, 3\)"):
        layer.backward(np.ones((4, 3)))
    relu = nn.ReLU()
    relu.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        relu.backward(np.ones((3, 2)))


def test_se_shape_mismatch_names_shapes():
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\)"):
        nn.SE().forward(np.zeros((4, 1)), np.zeros(4))


# ---------------------------------------------------------------- data

def write_fake_mnist(path, n_train=400, n_test=200, seed=0):
    """An npz like full-mnist.npz: digit d has a bright vertical bar at columns 2d..2d+3, plus noise."""
    r = rng(seed)
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        labels = r.integers(0, 10, n)
        images = r.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for k, d in enumerate(labels):
            images[k, 4:24, 2 * d + 2:2 * d + 6] = 220
        arrays[f"x_{split}"], arrays[f"y_{split}"] = images, labels.astype(np.int64)
    np.savez(path, **arrays)
    return arrays


def test_load_data_labels_shapes_standardising(tmp_path):
    raw = write_fake_mnist(tmp_path / "m.npz")
    x_train, y_train, x_test, y_test = nn.load_data(tmp_path / "m.npz", 4, 9)
    keep = np.isin(raw["y_train"], (4, 9))
    assert x_train.shape == (keep.sum(), 784) and y_train.shape == (keep.sum(), 1)
    assert x_test.shape == (np.isin(raw["y_test"], (4, 9)).sum(), 784) and y_test.shape[1] == 1
    np.testing.assert_array_equal(y_train[:, 0], raw["y_train"][keep] == 9)
    assert abs(x_train.mean()) < 1e-12 and abs(x_train.std() - 1) < 1e-12
    raw_x = raw["x_train"][keep].reshape(-1, 784).astype(float)  # test set uses the training statistics
    scale = raw_x.std()
    np.testing.assert_allclose(x_test * scale + raw_x.mean(),
                               raw["x_test"][np.isin(raw["y_test"], (4, 9))].reshape(-1, 784), atol=1e-9)


def test_load_data_class_b_zero(tmp_path):
    raw = write_fake_mnist(tmp_path / "m.npz")
    _, y_train, _, _ = nn.load_data(tmp_path / "m.npz", 3, 0)
    labels = raw["y_train"][np.isin(raw["y_train"], (3, 0))]
    np.testing.assert_array_equal(y_train[:, 0], labels == 0)
    assert 0 < y_train.mean() < 1


def test_load_data_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="make data"):
        nn.load_data(tmp_path / "missing.npz", 4, 9)
    with pytest.raises(ValueError, match="different"):
        nn.load_data(tmp_path / "missing.npz", 4, 4)
    with pytest.raises(ValueError, match="0..9"):
        nn.load_data(tmp_path / "missing.npz", 4, 10)
    np.savez(tmp_path / "partial.npz", x_train=np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match=r"lacks \['x_test', 'y_test', 'y_train'\]"):
        nn.load_data(tmp_path / "partial.npz", 4, 9)


def test_load_data_real_mnist():
    path = ROOT / "full-mnist.npz"
    if not path.exists():
        pytest.skip("full-mnist.npz missing: run `make data`")
    x_train, y_train, x_test, y_test = nn.load_data(path, 4, 9)
    assert x_train.shape == (5842 + 5949, 784) and x_test.shape == (982 + 1009, 784)
    assert y_train.sum() == 5949 and y_test.sum() == 1009  # the nines are label 1
    assert abs(x_train.std() - 1) < 1e-9


# ---------------------------------------------------------------- training

def separable_set(n, seed):
    """x (n, 10) Gaussian, y (n, 1) = 1 where x0 + x1 > 0."""
    x = rng(seed).standard_normal((n, 10))
    return x, (x[:, :2].sum(axis=1, keepdims=True) > 0).astype(float)


def test_short_training_lowers_loss():
    r = rng(8)
    x, y = separable_set(200, 8)
    model, loss = nn.build_mlp(10, (16,), 1, r), nn.SE()
    optimizer = nn.SGD(model.params(), lr=0.5, momentum=0.9)
    before = nn.evaluate(model, loss, x, y)
    for _ in range(10):
        nn.train_epoch(model, loss, optimizer, x, y, batch_size=16, rng=r)
    after = nn.evaluate(model, loss, x, y)
    assert after[0] < 0.3 * before[0] and after[1] < 0.1


def test_fit_restores_best_epoch_in_place():
    """An optimizer trains two epochs, then flips the output's sign once: fit must bring epoch 2 back."""
    r = rng(9)
    x, y = separable_set(256, 9)
    xv, yv = separable_set(128, 10)
    model, loss = nn.build_mlp(10, (8,), 1, r), nn.SE()
    good = nn.SGD(model.params(), lr=0.5, momentum=0.9)
    steps_per_epoch = 256 // 16

    class Wrecker:
        steps, lr = 0, 0.5

        def step(self, grads):
            Wrecker.steps += 1
            if Wrecker.steps <= 2 * steps_per_epoch:
                good.step(grads)
            elif Wrecker.steps == 2 * steps_per_epoch + 1:  # sigmoid(-z) = 1 - sigmoid(z): all flip
                model.params()["2.W"][...] *= -1
                model.params()["2.b"][...] *= -1

    arrays = {name: p for name, p in model.params().items()}
    history, best = nn.fit(model, loss, Wrecker(), (x, y, xv, yv), 4, 16, r, log=lambda line: None)
    assert best == 2 and len(history["val_error"]) == 4
    assert all(model.params()[name] is p for name, p in arrays.items())
    val_loss, val_error = nn.evaluate(model, loss, xv, yv)
    assert val_loss == pytest.approx(history["val_loss"][1], rel=1e-9)
    assert val_error < 0.1 and min(history["val_error"][2:]) > 0.9


def test_sgd_plain_momentum_and_weight_decay():
    p = np.array([[1.0, -2.0]])
    g = {"w": np.array([[0.5, 0.5]])}
    plain = nn.SGD({"w": p}, lr=0.1)
    plain.step(g)
    np.testing.assert_allclose(p, [[0.95, -2.05]])  # p -= lr g, in place
    heavy = nn.SGD({"w": p}, lr=0.1, momentum=0.5, weight_decay=0.2)
    heavy.step(g)  # v = g + 0.2 p
    heavy.step(g)  # v = 0.5 v + g + 0.2 p
    v1 = 0.5 + 0.2 * np.array([0.95, -2.05])
    p1 = np.array([0.95, -2.05]) - 0.1 * v1
    np.testing.assert_allclose(p[0], p1 - 0.1 * (0.5 * v1 + 0.5 + 0.2 * p1))


def test_cosine_schedule():
    lrs = nn.cosine_schedule(0.1, 0.01, 5)
    assert lrs.shape == (5,) and lrs[0] == pytest.approx(0.1)
    assert np.all(np.diff(lrs) < 0) and lrs[-1] > 0.01
    np.testing.assert_allclose(nn.cosine_schedule(0.1, 0.1, 3), 0.1)


def test_bilinear_sample_shifts_and_interpolates():
    image = rng(12).uniform(0, 1, (1, 5, 6)).astype(np.float32)
    yy, xx = np.meshgrid(np.arange(5.0), np.arange(6.0), indexing="ij")
    up = nn.bilinear_sample(image, yy[None] + 2, xx[None] + 1)  # +1 padding; +1 row: one row up
    np.testing.assert_allclose(up[0, :-1], image[0, 1:], rtol=1e-6)
    np.testing.assert_array_equal(up[0, -1], 0)  # the background comes in
    half = nn.bilinear_sample(image, yy[None] + 1, xx[None] + 1.5)
    np.testing.assert_allclose(half[0, :, :-1], (image[0, :, :-1] + image[0, :, 1:]) / 2, rtol=1e-6)


def shifted(image, dy, dx):
    """image (h, w) moved dy rows down and dx columns right, zeros flowing in."""
    h, w = image.shape
    out = np.zeros_like(image)
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        image[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def test_random_shift_moves_by_whole_pixels():
    images = rng(15).uniform(0.1, 1, (40, 28, 28)).astype(np.float32)
    moved = nn.random_shift(images, rng(), 1)
    offsets = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    seen = set()
    for image, out in zip(images, moved):
        match = [o for o in offsets if np.array_equal(out, shifted(image, *o))]
        assert len(match) == 1
        seen.add(match[0])
    assert len(seen) > 5  # random offsets, not one fixed shift
    x = images.reshape(40, -1) - 0.4  # rows with background -0.4, as main's standardised data
    out = nn.make_augment(nn.Config(shift=1), -0.4)(x, rng())
    assert out.shape == x.shape and np.isclose(out.min(), -0.4)


def test_deskew_straightens_a_slanted_bar():
    yy, xx = np.mgrid[0:28, 0:28]
    bar = (np.abs(xx - (10 + 0.4 * yy)) < 1.5) & (yy > 4) & (yy < 24)  # leans 0.4 px per row, off centre
    upright = nn.deskew(bar[None].astype(np.float32))[0]
    mass = upright.sum()
    my, mx = (upright * yy).sum() / mass, (upright * xx).sum() / mass
    slant = (upright * (yy - my) * (xx - mx)).sum() / (upright * (yy - my) ** 2).sum()
    assert abs(slant) < 0.02 and abs(my - 13.5) < 0.1 and abs(mx - 13.5) < 0.1
    assert mass == pytest.approx(bar.sum(), rel=0.05)


def test_digit_mosaic_frames_mistakes_in_red():
    images = rng(14).uniform(0, 1, (5, 28, 28))
    mosaic = nn.digit_mosaic(images, np.array([True, False, False, True, False]), columns=3, pad=2)
    assert mosaic.shape == (2 * 32, 3 * 32, 3)
    np.testing.assert_allclose(mosaic[0, 0], (0.85, 0.1, 0.1))  # frame of image 0
    np.testing.assert_allclose(mosaic[0, 32], 1.0)  # frame of image 1: white
    np.testing.assert_allclose(mosaic[32 + 2:64 - 2, 2:30, 0], 1 - images[3])  # image 3: row 1, column 0
    np.testing.assert_allclose(mosaic[32:, 64:], 1.0)  # the unused sixth cell stays white


def test_training_is_reproducible(tmp_path):
    write_fake_mnist(tmp_path / "m.npz")
    x_train, y_train, _, _ = nn.load_data(tmp_path / "m.npz", 2, 7)
    cfg = nn.Config(epochs=2, hidden=(8,), shift=1)
    runs = []
    for _ in range(2):
        r = rng(cfg.seed)
        data = nn.split_train_val(x_train.astype(np.float32), y_train.astype(np.float32), 0.5, r)
        model = nn.build_mlp(784, cfg.hidden, 1, r, np.float32)
        history, _ = nn.fit(model, nn.SE(), nn.SGD(model.params(), 0.1, 0.9), data, cfg.epochs, 16, r,
                            augment=nn.make_augment(cfg, x_train.min()), log=lambda line: None)
        runs.append((history, model.params()["0.W"]))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert nn.make_augment(nn.Config(shift=0), 0.0) is None


# ---------------------------------------------------------------- the script

def test_main_end_to_end_on_fake_data(tmp_path, capsys):
    write_fake_mnist(tmp_path / "m.npz", n_train=600)
    argv = ["--data", str(tmp_path / "m.npz"), "--out-dir", str(tmp_path), "--epochs", "3",
            "--hidden", "16", "--digits", "2", "7"]
    metrics = nn.main(argv)
    out = capsys.readouterr().out
    assert re.search(r"epoch +3/3", out)
    last = out.strip().splitlines()[-1]
    assert re.fullmatch(r"test accuracy: \d+\.\d\d%", last)
    assert last == f"test accuracy: {100 * metrics['test_accuracy']:.2f}%"
    assert metrics["test_accuracy"] > 0.95
    for name in ("numpy_nn_training.png", "numpy_nn_classification.png"):
        assert is_png(tmp_path / name)


def test_main_missing_data_says_make_data(tmp_path, capsys):
    assert_one_error_line(*run_main(nn.main, ["--data", str(tmp_path / "nope.npz")], capsys),
                          "nope.npz not found", "--data full-mnist.npz", "make data")
    assert_one_error_line(*run_main(nn.main, ["--data", str(tmp_path / "full-mnist.npz")], capsys),
                          "full-mnist.npz not found: run `make data` first")


def test_main_on_an_out_dir_it_cannot_make_fails_before_training(tmp_path, capsys):
    write_fake_mnist(tmp_path / "m.npz")
    (tmp_path / "a-file").write_text("")
    argv = ["--data", str(tmp_path / "m.npz"), "--out-dir", str(tmp_path / "a-file")]
    assert_one_error_line(*run_main(nn.main, argv, capsys), "--out-dir")
    assert "epoch" not in capsys.readouterr().out      # failed before the training


def test_cli_defaults_and_overrides():
    assert nn.parse_args([]) == nn.Config()
    cfg = nn.parse_args(["--digits", "3", "8", "--hidden", "64", "32", "--lr", "0.05", "--batch-size", "8"])
    assert (cfg.digits, cfg.hidden, cfg.lr, cfg.batch_size) == ((3, 8), (64, 32), 0.05, 8)
    assert nn.parse_args(["--no-deskew"]).deskew is False and nn.parse_args(["--deskew"]).deskew is True


@pytest.mark.parametrize("argv", [["--digits", "4", "4"], ["--digits", "4", "12"], ["--epochs", "0"],
                                  ["--val-fraction", "1"], ["--hidden", "0"], ["--lr", "-1"],
                                  ["--dtype", "int8"], ["--shift", "-1"], ["--shift", "1.5"], ["--batch-size", "0"],
                                  ["--momentum", "-1"], ["--weight-decay", "-1"], ["--lr-end", "-1"]])
def test_cli_rejects_bad_values(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        nn.parse_args(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1, err   # one line, no usage block
    assert err.startswith("numpy_nn.py: error: ") and argv[0] in err


@pytest.mark.parametrize("name", ["knob", "Parser", "add_knobs"])
def test_command_line_helpers_are_the_same_as_pytorch_cnns(name):
    """Both graded files carry a copy (each must stand alone): the copies stay identical."""
    pytorch_cnn = pytest.importorskip("pytorch_cnn")
    assert inspect.getsource(getattr(nn, name)) == inspect.getsource(getattr(pytorch_cnn, name))


def test_import_is_inert(tmp_path):
    """Importing trains nothing, writes nothing and pulls in neither pyplot nor torch."""
    code = ("import sys; sys.path.insert(0, %r); import numpy_nn; "
            "bad = {'torch', 'matplotlib.pyplot'} & set(sys.modules); assert not bad, bad" % str(ROOT))
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and list(tmp_path.iterdir()) == []
