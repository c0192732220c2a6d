"""Tests of pytorch_cnn.py: models, classify's contract, the camera model,
the light ops, the split, training and its resumption, saving and loading
model.pt, the shipped model.pt."""
import ast
import json
import math
import os
from pathlib import Path

import pytest
import torch

import check_submission
import pytorch_cnn as P
from conftest import ROOT, assert_one_error_line, digits, g, run_main, saved, truncated, untrained_state


@pytest.fixture(scope="module")
def shipped_model(committed_model_path):
    return P.load_model(committed_model_path)


# ---------------------------------------------------------------- models

@pytest.mark.parametrize("cls", [P.FCNet, P.SimpleCNN, P.MyNet])
@pytest.mark.parametrize("batch", [1, 7])
def test_models_output_log_probabilities(cls, batch):
    out = cls().eval()(torch.rand(batch, 1, 28, 28))
    assert out.shape == (batch, 10)
    assert torch.allclose(out.exp().sum(dim=1), torch.ones(batch), atol=1e-5)


def test_reference_models_follow_the_template():
    cnn = P.SimpleCNN()
    assert (cnn.conv.in_channels, cnn.conv.out_channels, cnn.conv.kernel_size,
            cnn.conv.stride, cnn.conv.padding) == (1, 10, (3, 3), (2, 2), (1, 1))
    assert cnn.fc.in_features == 28 * 28 * 10 // 4
    assert P.FCNet().fc.in_features == 784


def test_mynet_small_and_argument_free():
    model = P.get_model_class(None)[0]()
    assert P.get_model_class(None) == [P.MyNet]
    n_bytes = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    assert n_bytes <= 1_000_000


def test_mynet_cancels_gain_and_offset():
    """Input standardisation inside the model: a*x + b classifies as x."""
    model = P.MyNet().eval()
    x = torch.rand(4, 1, 28, 28, generator=g())
    with torch.no_grad():
        assert torch.allclose(model(x), model(0.3 * x + 0.5), atol=1e-4)


# ---------------------------------------------------------------- classify

def test_classify_contract_shape_dtype_and_mode():
    model = P.MyNet()
    model.train()
    x = torch.rand(5, 1, 28, 28, generator=g())
    labels = P.classify(model, x)
    assert labels.shape == (5,) and labels.dtype == torch.int64
    assert model.training, "classify must leave the model's mode as it found it"
    assert all(p.grad is None for p in model.parameters())


def test_classify_is_right_whatever_mode_the_model_was_left_in(shipped_model, mnist_test):
    """In train mode MyNet's outputs change (dropout, BatchNorm's batch statistics),
    so classify must switch to eval for the labels to be eval's."""
    x = P.apply_degradations(mnist_test[0][:256].float() / 255, P.SUITE["night shot"], g(5))
    expected = P.classify(shipped_model.eval(), x)
    shipped_model.train()
    try:
        with torch.no_grad():
            assert not torch.equal(shipped_model(x).argmax(1), expected)   # train mode does differ
        assert torch.equal(P.classify(shipped_model, x), expected) and shipped_model.training
    finally:
        shipped_model.eval()


def test_an_images_label_does_not_depend_on_its_batch_neighbours(shipped_model, mnist_test):
    """Each image alone, in a batch of clean digits, in a batch of noise, and
    across classify's chunks: the same label (no batch statistics at inference)."""
    x = P.apply_degradations(mnist_test[0][:64].float() / 255, P.SUITE["cheap camera"], g(6))
    together = P.classify(shipped_model, x)
    alone = torch.cat([P.classify(shipped_model, x[i:i + 1]) for i in range(len(x))])
    noise = torch.rand(64, 1, 28, 28, generator=g(7))
    mixed = P.classify(shipped_model, torch.cat([noise, x]))[64:]
    chunked = P.classify(shipped_model, x, batch_size=5)
    assert torch.equal(together, alone) and torch.equal(together, mixed) and torch.equal(together, chunked)


def test_classify_accepts_other_forms():
    model = P.MyNet().eval()
    x = torch.rand(3, 1, 28, 28, generator=g())
    expected = P.classify(model, x)
    for variant in [x[:, 0], x.reshape(3, 784), x.double(), x.numpy(),
                    (x * 255).round().to(torch.uint8)]:
        assert torch.equal(P.classify(model, variant), expected)


def test_classify_survives_nan_inf_and_empty():
    model = P.MyNet().eval()
    x = torch.rand(2, 1, 28, 28, generator=g())
    x[0, 0, 0, 0], x[1, 0, 5, 5], x[1, 0, 6, 6] = math.nan, math.inf, -math.inf
    assert P.classify(model, x).shape == (2,)
    empty = P.classify(model, torch.empty(0, 1, 28, 28))
    assert empty.shape == (0,) and empty.dtype == torch.int64


@pytest.mark.parametrize("shape", [(2, 3, 28, 28), (2, 28), (28, 28, 1, 2), (2, 1, 32, 32), (784,)])
def test_classify_rejects_other_shapes(shape):
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\).*got"):
        P.classify(P.MyNet(), torch.rand(shape))


def test_classify_rejects_integer_types_other_than_uint8():
    with pytest.raises(ValueError, match="uint8"):
        P.classify(P.MyNet(), torch.ones(1, 1, 28, 28, dtype=torch.int32))


def test_autocast_is_bf16_only_where_native():
    cpu = torch.device("cpu")
    with P.autocast(cpu, enabled=False):
        assert not torch.is_autocast_enabled("cpu")
    with P.autocast(cpu):
        assert torch.is_autocast_enabled("cpu") == P.bf16_native(cpu)


def test_classify_in_bf16_agrees_with_float32(shipped_model, mnist_test, monkeypatch):
    """Where bf16 is native classify runs in it; it may change at most 0.2 % of
    labels, on clean and noisy digits. Forced on here (emulated on a CPU without
    bf16), so that the comparison runs on every machine."""
    images = mnist_test[0][:1000].float() / 255
    noisy = P.apply_degradations(images, P.SUITE["night shot"], g(3))
    monkeypatch.setattr(P, "bf16_native", lambda device: True)
    for x in (images, noisy):
        with torch.no_grad():
            float32 = shipped_model(x)
            with P.autocast(torch.device("cpu")):
                assert shipped_model(x).dtype == torch.bfloat16    # bf16 really ran
        labels = P.classify(shipped_model, x)
        assert (labels == float32.argmax(dim=1)).float().mean() >= 0.998


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_classify_on_cuda_model_returns_cpu_labels():
    model = P.MyNet().cuda()
    labels = P.classify(model, torch.rand(4, 1, 28, 28))
    assert labels.device.type == "cpu" and labels.shape == (4,)


# ---------------------------------------------------------------- camera model

@pytest.mark.parametrize("name", list(P.DEGRADATIONS))
def test_each_degradation_keeps_shape_and_grows_with_strength(name):
    x = digits()
    op = P.DEGRADATIONS[name]
    mild = op(x, torch.full((64,), 0.05), g(1)).clamp(0, 1)
    heavy = op(x, torch.full((64,), 1.0), g(1)).clamp(0, 1)
    assert heavy.shape == x.shape and heavy.dtype == x.dtype and torch.isfinite(heavy).all()
    change_mild, change_heavy = (mild - x).abs().mean(), (heavy - x).abs().mean()
    assert change_heavy > 0.005, f"{name} at full strength barely changes the image"
    assert change_heavy > 1.2 * change_mild, f"{name}: strength does not scale the change"


def test_read_noise_has_the_intended_sigma():
    x = torch.zeros(200, 1, 28, 28)
    noise = P.read_noise(x, torch.full((200,), 0.5), g()) - x
    assert noise.std().item() == pytest.approx(0.02 + 0.58 * 0.5, rel=0.03)   # sigma 0.02 .. 0.6


def test_salt_pepper_hits_the_intended_fraction():
    x = torch.full((200, 1, 28, 28), 0.5)
    out = P.salt_pepper(x, torch.full((200,), 1.0), g())
    assert (out != 0.5).float().mean().item() == pytest.approx(0.25, rel=0.05)
    assert set(out.unique().tolist()) == {0.0, 0.5, 1.0}


def test_defocus_spreads_a_point_by_sigma():
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, 14, 14] = 1
    out = P.defocus(x, torch.tensor([0.5]), g())[0, 0]   # sigma = 0.4 + 1.6 * 0.5 = 1.2
    r = torch.arange(28.0) - 14
    var_y = (out.sum(1) * r ** 2).sum() / out.sum()
    assert out.sum().item() == pytest.approx(1, rel=1e-4)
    assert math.sqrt(var_y) == pytest.approx(1.2, rel=0.05)


def test_motion_blur_is_a_streak_of_the_intended_length():
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, 14, 14] = 1
    out = P.motion_blur(x, torch.tensor([1.0]), g())[0, 0]      # 9 px streak
    lit = (out > 0.02).nonzero().float()
    extent = (lit.max(0).values - lit.min(0).values).norm().item()
    assert 7 <= extent <= 10.5


def test_contrast_and_exposure_ranges():
    x = digits()
    low = P.contrast(x, torch.ones(64), g())
    spread = low.amax(dim=(1, 2, 3)) - low.amin(dim=(1, 2, 3))
    x_spread = x.amax(dim=(1, 2, 3)) - x.amin(dim=(1, 2, 3))
    assert torch.allclose(spread, 0.08 * x_spread, atol=1e-5)
    ex = P.exposure(torch.full((64, 1, 28, 28), 0.1), torch.ones(64), g())
    gains = ex[:, 0, 0, 0] / 0.1
    assert gains.min() >= math.exp(-1.6) - 1e-4 and gains.max() <= math.exp(1.6) + 1e-4
    assert gains.max() / gains.min() > 5, "gain is drawn per sample, in both directions"


def test_quantise_and_low_resolution():
    x = digits()
    assert len(P.quantise(x, torch.ones(64), g()).unique()) == 2
    small = P.low_resolution(x, torch.ones(64), g())          # 7 x 7 sensor
    for img in small[:, 0]:
        assert len(img.unique()) <= 7 * 7 * 16                 # at most bilinear mixes of 49 cells
    blocks = torch.nn.functional.avg_pool2d(x, 4)
    assert (torch.nn.functional.avg_pool2d(small, 4) - blocks).abs().mean() < 0.08


def test_jpeg_quantises_8x8_dct_blocks():
    x = digits(8)
    heavy = P.jpeg(x, torch.ones(8), g())
    d = P.dct_matrix(8, x)
    block = (heavy[0, 0, 8:16, 8:16] * 255 - 128)
    coef = d @ block @ d.T
    assert (coef.abs() < 1e-3).float().mean() > 0.5, "most DCT coefficients are zeroed at quality 3"
    assert torch.allclose(d @ d.T, torch.eye(8), atol=1e-5)


def test_hand_held_moves_the_digit_by_a_few_pixels():
    x = digits()
    out = P.hand_held(x, torch.ones(64), g())
    grid = torch.arange(28.0)

    def centre(imgs):
        m = imgs[:, 0]
        return torch.stack([(m.sum(2) * grid).sum(1), (m.sum(1) * grid).sum(1)], 1) / m.sum((1, 2))[:, None]
    shift = (centre(out) - centre(x)).norm(dim=1)
    assert shift.max() < 8 and shift.mean() > 0.5


def camera(x, gen, ops=tuple(P.DEGRADATIONS), clean_fraction=0.2, ops_per_image=4.0):
    return P.camera_noise(x, gen, ops, clean_fraction, ops_per_image)


def test_camera_noise_range_reproducibility_and_per_sample_draws():
    x = digits(1).expand(256, 1, 28, 28).contiguous()
    a, b = camera(x, g(7)), camera(x, g(7))
    assert a.shape == x.shape and a.dtype == torch.float32
    assert a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, b), "same seed, same images"
    assert not torch.equal(a, camera(x, g(8)))
    distinct = len({img.numpy().tobytes() for img in a})
    assert distinct > 150, "each image of the batch gets its own degradations"
    unchanged = (a == x).flatten(1).all(1).float().mean().item()
    assert 0.1 < unchanged < 0.35, "about clean_fraction (0.2) of the images stay clean"
    assert torch.equal(camera(x, g(7), clean_fraction=1.0), x)


def test_camera_noise_draws_only_the_ops_it_is_given(monkeypatch):
    calls = []
    for name in P.DEGRADATIONS:
        monkeypatch.setitem(P.DEGRADATIONS, name, lambda x, s, gen, name=name: calls.append(name) or x)
    camera(digits(8).repeat(32, 1, 1, 1), g(0), ops=("defocus", "jpeg"), ops_per_image=1.5)
    assert set(calls) == {"defocus", "jpeg"}


# ---------------------------------------------------------------- random primitives

@pytest.mark.parametrize("name", list(P.PRIMITIVES))
def test_each_primitive_keeps_shape_is_seeded_and_changes_the_image(name):
    x = digits(16)
    s = torch.linspace(0, 1, 16)
    a, b = P.PRIMITIVES[name](x, s, g(3)), P.PRIMITIVES[name](x, s, g(3))
    assert a.shape == x.shape and torch.isfinite(a).all()
    assert torch.equal(a, b), "same seed, same output"
    changed = ((a - x).abs().amax(dim=(1, 2, 3)) > 1e-3).float().mean().item()
    assert changed >= 0.75, "nearly every image changes (ink loss may fade only paper)"


def test_random_tone_swaps_polarity_in_some_images():
    x = digits(256)
    y = P.random_tone(x, torch.ones(256), g(0))
    ink, paper = x > 0.5, x < 0.1
    ink_level = (y * ink).sum((1, 2, 3)) / ink.sum((1, 2, 3))
    paper_level = (y * paper).sum((1, 2, 3)) / paper.sum((1, 2, 3))
    swapped = (ink_level < paper_level).float().mean().item()
    assert 0.35 < swapped < 0.65, "falling curves (a quarter) and about half of the wiggly ones"


def test_ink_loss_fades_about_the_intended_share_of_the_ink():
    x = torch.ones(64, 1, 28, 28)
    for s, share in ((0.0, 0.05), (1.0, 0.35)):
        y = P.ink_loss(x, torch.full((64,), s), g(1))
        faded = (y < 1).float().mean().item()
        assert share * 0.6 < faded < share * 1.4, (s, faded)


def test_coarse_pixels_makes_blocks():
    x = torch.rand(8, 1, 28, 28, generator=g(0))
    y = P.coarse_pixels(x, torch.ones(8), g(0))
    distinct = [len(img.unique()) for img in y]
    assert max(distinct) <= 15 ** 2 and min(distinct) >= 5 ** 2, "2 to 6 px blocks on 28 px"


def test_primitive_mix_touches_only_its_share_and_is_seeded():
    x = digits(256)
    assert torch.equal(P.primitive_mix(x, g(0), 0.0), x)
    a = P.primitive_mix(x, g(5), 0.3)
    assert torch.equal(a, P.primitive_mix(x, g(5), 0.3))
    changed = (a != x).flatten(1).any(1).float().mean().item()
    assert 0.2 < changed < 0.4
    assert a.min() >= 0 and a.max() <= 1


# ---------------------------------------------------------------- light: haze, glare, shadows

@pytest.mark.parametrize("name", list(P.LIGHT))
def test_each_light_op_keeps_shape_is_seeded_and_grows_with_strength(name):
    x, op = digits(32), P.LIGHT[name]
    ones = torch.ones(len(x))
    weak, strong = op(x, 0.1 * ones, g(1)).clamp(0, 1), op(x, ones, g(1)).clamp(0, 1)
    assert weak.shape == x.shape and torch.equal(strong, op(x, ones, g(1)).clamp(0, 1))
    assert (strong - x).abs().mean() > (weak - x).abs().mean() > 0


def test_haze_lowers_the_digits_contrast_to_its_share():
    """At full strength the strokes keep 0.2 of their contrast over the veil."""
    x = digits(64)
    out = P.haze(x, torch.ones(len(x)), g(2))
    ink, paper = x > 0.9, x < 0.05
    contrast = [(o[i].mean() - o[p].mean()).item() for o, i, p in zip(out, ink, paper)]
    assert max(contrast) < 0.3 and min(contrast) > 0.0


def test_glare_brightens_only_and_washes_strokes_out_where_it_falls():
    x = digits(64)
    out = P.glare(x, torch.ones(len(x)), g(3))
    assert (out >= x - 1e-6).all() and out.max() <= 1 + 1e-6
    lit = (out - x > 0.5) & (x < 0.05)                     # paper lifted towards the strokes' level
    assert lit.flatten(1).any(1).float().mean() > 0.8


def test_light_mix_touches_only_its_share_and_at_zero_draws_nothing():
    x = digits(256)
    gen = g(4)
    state = gen.get_state()
    assert P.light_mix(x, gen, 0.0) is x and torch.equal(gen.get_state(), state)
    out = P.light_mix(x, gen, 0.3)
    changed = (out - x).flatten(1).abs().amax(1) > 1e-6
    assert 0.2 < changed.float().mean() < 0.4


# ---------------------------------------------------------------- the input stage

def test_top_hats_remove_light_and_keep_strokes():
    """A 3 px bar on a light ramp with a hard-edged bright region: the bright
    top-hat is the bar alone (up to the ramp's rise over 3 px at the border),
    the dark one nearly empty; with the polarity swapped, the other way round."""
    yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    bar = ((xx - 7).abs() < 1.5).float()
    light = 0.2 + 0.4 * yy / 27 + 0.3 * (xx >= 18).float()
    bright, dark = P.top_hats((light + 0.5 * bar)[None, None])[0]
    assert (bright - 0.5 * bar).abs().max() < 0.05 and dark.abs().max() < 0.05
    bright, dark = P.top_hats((1 - light - 0.5 * bar)[None, None])[0]
    assert (dark - 0.5 * bar).abs().max() < 0.05 and bright.abs().max() < 0.05


@pytest.mark.parametrize("k", [1, 3, 7, 9])
def test_window_max_equals_max_pooling(k):
    x = torch.randn(3, 2, 28, 17, generator=g(k))
    assert torch.equal(P.window_max(x, k), torch.nn.functional.max_pool2d(x, k, 1, k // 2))


def test_stroke_channels_widen_only_the_first_layer():
    plain, wide = P.MyNet(stroke_channels=False), P.MyNet(stroke_channels=True)
    assert wide.features[0][0].in_channels == 3 and plain.features[0][0].in_channels == 1
    assert [k for k in wide.state_dict()] == [k for k in plain.state_dict()]


def test_a_missing_or_broken_init_is_one_error_line(tmp_path, capsys):
    argv = ["--dry-run", "--init", str(tmp_path / "nope.pt"), "--data-dir", str(ROOT / "data")]
    assert_one_error_line(*run_main(P.main, argv, capsys), "error: --init", "nope.pt not found")
    broken = tmp_path / "broken.pt"
    broken.write_bytes(truncated(saved(untrained_state())))
    argv[2] = str(broken)
    status, err = run_main(P.main, argv, capsys)
    assert_one_error_line(status, err, "error: --init", "broken.pt does not load with torch.load(weights_only=True): it is truncated", "--init ''")
    assert "git checkout" not in err          # not a file of this checkout: no advice to restore it


def test_an_init_of_another_architecture_is_one_error_line(tmp_path, capsys):
    other = tmp_path / "simple.pt"
    other.write_bytes(saved(P.cpu_state_dict(P.SimpleCNN())))
    argv = ["--dry-run", "--init", str(other), "--data-dir", str(ROOT / "data")]
    assert_one_error_line(*run_main(P.main, argv, capsys), "--init", "does not fit MyNet", "Missing key(s)")


def test_shipped_recipe_starts_from_the_committed_base():
    cfg = P.Config()
    assert Path(cfg.init) == Path("results/mynet-base.pt") and (ROOT / cfg.init).exists()
    base = torch.load(ROOT / cfg.init, weights_only=True)
    assert base["features.0.0.weight"].shape[1] == 1, "the base has no stroke channels"
    assert cfg.stroke_channels and P.MyNet().stroke_channels, "the shipped model has them"


def test_load_model_reads_the_base_without_stroke_channels():
    model = P.load_model(ROOT / "results" / "mynet-base.pt")
    assert model.stroke_channels is False and not model.training


def test_warm_start_from_a_one_channel_model_keeps_its_outputs(tmp_path):
    torch.manual_seed(0)
    old = P.MyNet(stroke_channels=False).eval()
    torch.save(old.state_dict(), tmp_path / "old.pt")
    new = P.MyNet(stroke_channels=True)
    P.warm_start(new, tmp_path / "old.pt")
    x = digits(8)
    with torch.no_grad():
        assert torch.allclose(new.eval()(x), old(x), atol=1e-5)


def test_camera_ops_names():
    assert P.parse_camera_ops("all") == tuple(P.DEGRADATIONS) and len(P.DEGRADATIONS) == 26
    assert P.parse_camera_ops("jpeg, defocus") == ("jpeg", "defocus")
    with pytest.raises(P.UserError, match="unknown"):
        P.parse_camera_ops("jpeg,blurr")


def test_threshold_binarises_at_full_strength():
    out = P.threshold(digits(), torch.ones(64), g())
    assert ((out < 0.05) | (out > 0.95)).float().mean() > 0.97


def test_sharpen_adds_halos_beside_blurred_strokes():
    x = P.defocus(digits(), torch.full((64,), 0.5), g())
    out = P.sharpen(x, torch.ones(64), g())
    assert out.min() < -0.05 and out.max() > x.max() + 0.05, "over- and undershoot at edges"
    assert torch.allclose(out.mean(), x.mean(), atol=0.02), "a sharpening kernel sums to 1"


def test_periodic_adds_a_grating_of_the_intended_amplitude():
    x = torch.zeros(64, 1, 28, 28)
    out = P.periodic(x, torch.ones(64), g())
    amplitude = out.amax(dim=(1, 2, 3))
    assert amplitude.min() > 0.3 and amplitude.max() <= 0.4 + 1e-5


def test_smudge_covers_a_soft_region():
    x = digits()
    out = P.smudge(x, torch.ones(64), g())
    changed = ((out - x).abs() > 0.05).flatten(1).float().sum(1)
    assert 10 < changed.median() < 28 * 28 / 2


def bend(x):
    """Range (px) of the centroid column of a vertical line over rows 2..25, per image."""
    rows = x[..., 2:26, :]
    column = (rows * torch.arange(28.0)).sum(-1) / rows.sum(-1).clamp_min(1e-6)
    return column.amax(dim=(1, 2)) - column.amin(dim=(1, 2))


def test_lens_distortion_bends_straight_lines_more_when_stronger():
    x = torch.zeros(64, 1, 28, 28)
    x[..., :, 8] = 1                                       # a straight line off the centre
    mild, heavy = (bend(P.lens_distortion(x, torch.full((64,), s), g())) for s in (0.0, 1.0))
    assert heavy.median() > 1.0 and heavy.median() > 4 * mild.median()


def test_low_resolution_picks_the_interpolation_per_image():
    x = digits(1).repeat(64, 1, 1, 1)
    out = P.low_resolution(x, torch.ones(64), g())                 # all 7 x 7, one size group
    levels = torch.tensor([len(img.unique()) for img in out[:, 0]])
    assert (levels <= 49).any() and (levels > 49).any(), "nearest and bilinear in one group"


def test_suite_names_are_known_degradations():
    for steps in P.SUITE.values():
        for name, strength in steps:
            assert name in P.DEGRADATIONS and 0 <= strength <= 1


# ---------------------------------------------------------------- data

def test_split_is_disjoint_and_seeded():
    train, val = P.split_train_val(100, 20, seed=3)
    assert len(val) == 20 and len(set(train.tolist()) | set(val.tolist())) == 100
    assert torch.equal(val, P.split_train_val(100, 20, seed=3)[1])


# ---------------------------------------------------------------- training

def test_training_lowers_the_loss(mnist_test):
    torch.manual_seed(0)
    images, labels = mnist_test[0][:512], mnist_test[1][:512]
    model = P.MyNet()
    cfg = P.Config(batch_size=64, lr=3e-3)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.ConstantLR(opt, factor=1.0)
    gen = g(0)
    first = P.train_one_epoch(model, opt, sched, images, labels, cfg, gen)
    for _ in range(3):
        last = P.train_one_epoch(model, opt, sched, images, labels, cfg, gen)
    assert last < first - 0.3


def small_mnist(monkeypatch, n=400):
    """load_mnist cut to its first n images: a run of a few batches."""
    load = P.load_mnist
    monkeypatch.setattr(P, "load_mnist", lambda root, train: tuple(t[:n] for t in load(root, train)))


def tiny(tmp_path, name, **changes):
    """A Config of 4 epochs of 3 batches, writing under tmp_path/name."""
    return P.Config(epochs=4, batch_size=100, val_size=100, val_epochs=2, init="", device="cpu",
                    model_path=str(tmp_path / f"{name}.pt"), history_path=str(tmp_path / f"{name}.json"),
                    **changes)


def interrupt_at(monkeypatch, call):
    """train_one_epoch raises KeyboardInterrupt on its `call`-th call (1-based)."""
    calls, run = [0], P.train_one_epoch
    def epoch(*args, **kwargs):
        calls[0] += 1
        if calls[0] == call:
            raise KeyboardInterrupt
        return run(*args, **kwargs)
    monkeypatch.setattr(P, "train_one_epoch", epoch)


def test_interrupted_then_resumed_equals_uninterrupted_bit_for_bit(tmp_path, monkeypatch):
    """2 epochs, Ctrl-C, --resume for the last 2 == 4 epochs in a row: the same
    weights, history and best score (CPU, float32)."""
    small_mnist(monkeypatch)
    whole = P.train(tiny(tmp_path, "whole"))
    assert not P.resume_path(tmp_path / "whole.pt").exists()          # finished: nothing to resume
    interrupt_at(monkeypatch, 3)
    with pytest.raises(P.Interrupted, match="is as it was .no epoch scored yet.*--resume .*parts.resume.pt"
                                            "` continues after epoch 2"):
        P.train(tiny(tmp_path, "parts"))
    monkeypatch.undo()
    small_mnist(monkeypatch)
    resumed = P.train(tiny(tmp_path, "parts", resume=str(tmp_path / "parts.resume.pt")))
    a, b = (torch.load(tmp_path / f"{name}.pt", weights_only=True) for name in ("whole", "parts"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    strip = lambda history: [{k: v for k, v in h.items() if k != "seconds"} for h in history]
    assert strip(resumed["history"]) == strip(whole["history"]) and resumed["best_val_mean"] == whole["best_val_mean"]
    written = json.loads((tmp_path / "parts.json").read_text())
    assert strip(written["epochs"]) == strip(whole["history"])
    assert written["trained_with"] == P.training_ops(tiny(tmp_path, "x"))


def test_an_interrupt_after_a_saved_epoch_says_which(tmp_path, monkeypatch, capsys):
    small_mnist(monkeypatch)
    interrupt_at(monkeypatch, 4)
    cfg = tiny(tmp_path, "m")
    with pytest.raises(SystemExit) as exit_info:
        P.main(["--epochs", "4", "--batch-size", "100", "--val-size", "100", "--val-epochs", "2", "--init", "",
                "--device", "cpu", "--model-path", cfg.model_path, "--history-path", cfg.history_path])
    err = capsys.readouterr().err
    assert exit_info.value.code == 130
    assert f"{cfg.model_path} holds epoch 3's weights (the best scored so far)" in err
    assert "continues after epoch 3" in err


def test_resume_refuses_other_knobs_in_one_line(tmp_path, monkeypatch, capsys):
    small_mnist(monkeypatch)
    interrupt_at(monkeypatch, 2)
    with pytest.raises(P.Interrupted):
        P.train(tiny(tmp_path, "m"))
    capsys.readouterr()                                                 # the first run's progress bar
    checkpoint = str(tmp_path / "m.resume.pt")
    argv = ["--epochs", "5", "--batch-size", "100", "--val-size", "100", "--val-epochs", "2", "--init", "",
            "--model-path", str(tmp_path / "m.pt"), "--resume", checkpoint]
    assert_one_error_line(*run_main(P.main, argv, capsys), "--epochs 4 (now 5)", "delete it to start over")
    (tmp_path / "junk.pt").write_bytes(saved({"a": torch.zeros(1)}))
    argv[-1] = str(tmp_path / "junk.pt")
    assert_one_error_line(*run_main(P.main, argv, capsys), "not a resumable checkpoint")


def test_training_ops_are_the_runs_own():
    base = P.Config(**P.PRESETS["base"])
    assert P.training_ops(base) == sorted(P.DEGRADATIONS)
    assert P.training_ops(P.Config(light=0.0)) == sorted({*P.DEGRADATIONS, *P.PRIMITIVES})
    assert P.training_ops(P.Config(camera_ops="jpeg", primitives=0.0, light=0.3)) == sorted({"jpeg", *P.LIGHT})


def test_dry_run_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    metrics = P.main(["--dry-run", "--epochs", "1", "--data-dir", str(ROOT / "data"),
                      "--device", "cpu", "--init", str(ROOT / "results" / "mynet-base.pt")])
    assert 0.5 < metrics["best_val_mean"] <= 1 and len(metrics["history"]) == 1   # the base reads digits
    assert set(metrics["history"][0]["val"]) == set(P.SUITE)
    assert list(tmp_path.iterdir()) == []
    assert capsys.readouterr().out.endswith("dry run: nothing written\n")


def test_help_shows_the_defaults(capsys):
    with pytest.raises(SystemExit):
        P.parse_args(["--help"])
    out = capsys.readouterr().out
    assert f"(default: {P.Config.epochs})" in out and "--dry-run" in out


@pytest.mark.parametrize("name", ["gpu", "cuda" if not torch.cuda.is_available() else "bogus"])
def test_bad_device_is_a_clear_error(name):
    with pytest.raises(P.UserError, match="--device"):
        P.resolve_device(name)


def test_boolean_knobs_switch_both_ways():
    assert P.parse_args(["--no-bf16"]).bf16 is False
    assert P.parse_args([]).bf16 is True
    assert P.parse_args(["--dry-run"]).dry_run is True


def test_only_the_last_epochs_are_scored():
    assert [e for e in range(1, 11) if P.scored(e, 10, 3)] == [8, 9, 10]
    assert [e for e in range(1, 11) if P.scored(e, 10, 0)] == [10]


@pytest.mark.parametrize("args", [["--epochs", "0"], ["--batch-size", "0"], ["--lr", "0"],
                                  ["--val-size", "-1"], ["--warmup", "1"], ["--primitives", "1.5"], ["--light", "-0.1"],
                                  ["--camera-ops", "fog"], ["--camera-ops", "jpeg", "--ops-per-image", "2"]])
def test_bad_settings_are_one_error_line(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        P.main(args)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1, err
    assert err.startswith("pytorch_cnn.py: error: ") and args[-2] in err


def test_presets_set_defaults_that_flags_override():
    """`full` is Config's defaults; `base` (make train-cnn-base) trains from
    scratch, one input channel, no primitives or light ops, 150 epochs."""
    assert P.PRESETS["full"] == {} and P.parse_args(["--preset", "full"]) == P.Config()
    base = P.parse_args(["--preset", "base"])
    assert (base.init, base.stroke_channels, base.primitives, base.light, base.epochs) == ("", False, 0.0, 0.0, 150)
    assert base == P.Config(**P.PRESETS["base"]) != P.Config()
    assert P.parse_args(["--preset", "base", "--epochs", "3"]).epochs == 3
    assert P.parse_args(["--epochs", "3", "--preset", "base"]).epochs == 3     # a flag wins in any order


def test_config_is_frozen():
    with pytest.raises(Exception, match="cannot assign"):
        P.Config().epochs = 3


def test_no_command_means_train_and_moved_commands_say_where():
    assert P.parse_args(["--epochs", "3"]) == P.parse_args(["train", "--epochs", "3"]) == P.Config(epochs=3)


def imported_modules(source):
    """Top-level package of every import in `source`, at any depth (a function's
    too), named as the grader's static check names them."""
    return {name for node in ast.walk(ast.parse(source)) if isinstance(node, (ast.Import, ast.ImportFrom))
            for name in check_submission.imported_packages(node)}


def test_the_graded_file_holds_the_lab_only():
    """No photo reading (PIL, cv2), plotting (matplotlib) or unpacking and
    checksumming (gzip, hashlib) anywhere in pytorch_cnn.py: those live beside it."""
    assert imported_modules("import gzip\ndef f():\n    from PIL import Image\n") == {"gzip", "PIL"}
    lab = {"argparse", "dataclasses", "difflib", "functools", "json", "math", "os", "pathlib", "sys",
           "time", "warnings", "torch", "torchvision", "tqdm"}
    assert imported_modules((ROOT / "pytorch_cnn.py").read_text()) <= lab


# ---------------------------------------------------------------- saving and loading model.pt

@pytest.mark.parametrize("kind", ["truncated", "corrupted", "missing"])
def test_load_model_broken_file_raises_one_line_user_error(tmp_path, kind):
    path = tmp_path / "model.pt"
    good = saved(untrained_state())
    if kind == "truncated":
        path.write_bytes(truncated(good))
    elif kind == "corrupted":
        path.write_bytes(good[:100] + bytes(200) + good[300:])
    with pytest.raises(P.UserError) as err:
        P.load_model(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message
    assert "make train-cnn" in message and "git checkout -- model.pt" in message


def test_cli_broken_model_prints_one_error_line(tmp_path, capsys):
    broken = tmp_path / "model.pt"
    broken.write_bytes(truncated(saved(untrained_state())))
    import evaluate
    status, err = run_main(evaluate.main, ["--model-path", str(broken)], capsys)
    assert_one_error_line(status, err, str(broken))


def test_save_atomic_replaces_the_file_whole(tmp_path):
    target = tmp_path / "model.pt"
    target.write_bytes(b"the previous model")
    state = untrained_state(seed=1)
    P.save_atomic(state, target)
    loaded = torch.load(target, weights_only=True)
    assert all(torch.equal(loaded[k], v) for k, v in state.items()) and loaded.keys() == state.keys()
    assert os.listdir(tmp_path) == ["model.pt"]


@pytest.mark.parametrize("interruption", [OSError(28, "No space left on device"), KeyboardInterrupt()],
                         ids=["disk-full", "ctrl-c"])
def test_save_interrupted_midway_keeps_the_previous_model_and_no_temp_file(tmp_path, monkeypatch,
                                                                          interruption):
    """torch.save writes half the file, then fails: model.pt is the previous one,
    still loadable; the half-written file was a hidden sibling (the same
    filesystem, so the rename is atomic; make_zip never picks it up) and is gone."""
    target = tmp_path / "model.pt"
    target.write_bytes(saved(untrained_state()))
    before = target.read_bytes()
    half = truncated(saved(untrained_state(seed=1)))
    written = []

    def save_half_then_fail(obj, f, *args, **kwargs):
        with open(f, "wb") as out:
            out.write(half)
        written.append(f)
        raise interruption

    monkeypatch.setattr(torch, "save", save_half_then_fail)
    with pytest.raises(type(interruption)):
        P.save_atomic(untrained_state(seed=1), target)
    monkeypatch.undo()
    assert len(written) == 1 and written[0] != target
    assert os.path.dirname(written[0]) == str(tmp_path) and os.path.basename(written[0]).startswith(".")
    assert target.read_bytes() == before                  # never opened for writing
    P.load_model(target)                                  # and still loads, strictly
    assert os.listdir(tmp_path) == ["model.pt"]           # no temp file left behind


# ---------------------------------------------------------------- the shipped model

def test_shipped_model_loads_like_the_grader(shipped_model, mnist_test, committed_model_path):
    state = torch.load(committed_model_path, weights_only=True)
    assert all(t.device.type == "cpu" for t in state.values())
    images, labels = mnist_test
    accuracy = (P.classify(shipped_model, images[:1000].float() / 255) == labels[:1000]).float().mean()
    assert accuracy >= 0.99


@pytest.mark.parametrize("name, minimum", [("read noise", 0.97), ("salt & pepper", 0.97),
                                           ("defocus", 0.97), ("low contrast", 0.95),
                                           ("cheap camera", 0.8)])
def test_shipped_model_survives_heavy_noise(shipped_model, mnist_test, name, minimum):
    images, labels = mnist_test[0][:1000].float() / 255, mnist_test[1][:1000]
    noisy = P.apply_degradations(images, P.SUITE[name], g(5))
    accuracy = (P.classify(shipped_model, noisy) == labels).float().mean()
    assert accuracy >= minimum
