"""Accuracy of model.pt on a second unseen suite, written by others: public
augmentations of kornia and torchvision, never trained on, never used to pick
a checkpoint.

    .venv/bin/python tools/library_suite.py [--model-path model.pt] [--n 2000] [--json PATH]
        [--failures results/failures.png]

TRANSFORMS holds transforms of `kornia.augmentation` and
`torchvision.transforms.v2` that a bad camera, scan, print or paper could do to
a photographed digit. Each is scored at two settings (so two entries):
"default", the library's default parameters (where the library has no default,
or its default does nothing, the example of its own documentation, noted in
the row), and "harsher", one setting chosen by how the images look, never by
a model's score. Every entry is applied with p = 1.

The images are the first --n images of a split (`splits.images`: the
development images by default, --split test for the shipped model's report), in MNIST polarity (light ink on black paper). Photometric
transforms see the photo a camera takes, dark ink on white paper (1 - x), and
the result is turned back; geometric ones work in MNIST polarity, so what they
bring in from outside the frame is paper (0). kornia draws per-image
parameters for the batch; torchvision v2 draws one set per call, so it runs
image by image. Entry i runs under torch's global generator seeded SEED + i
(inside `torch.random.fork_rng`, the caller's state is left alone): the same
--n gives the same images, whatever other entries ran before.

`readable` marks the entries a person can read, from the kept blind readings
of tools/read_by_eye.py (at least 22 of 24 development digits read right; an
entry where the model scores 95 % or more needed no reading). The
unreadable entries stay out of the readable mean. A first look at 12 test
digits per entry (`--sheet PATH` draws them) had flagged some entries; its
one-line reasons are kept as notes, the flags are the readings'. The report puts the
readable mean and worst readable entry beside tools/unseen_suite.py's unseen
mean and held-out mean, and `--failures` draws the worst entries of both
suites (`failure_sheet`).
"""
import inspect
import json
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
import pytorch_cnn as P  # noqa: E402
import splits  # noqa: E402
import unseen_suite as U  # noqa: E402
from plots import draw_rows  # noqa: E402

SEED = U.SEED
DEFAULT, HARSHER = "default", "harsher"
PHOTO, MNIST = True, False   # the polarity a transform sees (True: dark ink on white paper)


@dataclass(frozen=True)
class Transform:
    """One library transform at its two settings.

    make: "kornia.Class" or "torchvision.Class"; default, harsher: keyword
    arguments (p = 1 is added where the class has p); photo: it sees dark ink
    on white paper; rgb: it wants 3 channels (grey is repeated, the mean taken
    back); uint8: it wants 0..255 integers; unreadable: {setting: one-line
    reason} for the settings a person cannot read; note: where "default" is
    not the library's own default, whence it comes."""
    make: str
    default: dict
    harsher: dict
    photo: bool
    rgb: bool = False
    uint8: bool = False
    unreadable: dict = None
    note: str = ""


DOC = "no default (or an identity one): the documentation's example"
CROP = {DEFAULT: "crops of 8-100 % of the frame: the small ones cut the digit to a stroke or miss it",
        HARSHER: "crops of 5-50 % of the frame: most show a stroke or nothing of the digit"}
SOLAR = ("in MNIST polarity: on the photo it swaps paper and ink, which a camera does not do "
         "(unseen_suite.py leaves inversion out for the same reason)")
T_ = Transform
TRANSFORMS = [
    # -- light, exposure and tone (on the photo)
    T_("kornia.RandomBrightness", dict(brightness=(0.8, 1.2)), dict(brightness=(0.5, 1.5)), PHOTO, note=DOC),
    T_("kornia.RandomContrast", dict(contrast=(0.8, 1.2)), dict(contrast=(0.2, 0.5)), PHOTO, note=DOC),
    T_("kornia.RandomGamma", dict(gamma=(0.8, 1.2)), dict(gamma=(0.25, 4.0)), PHOTO, note=DOC),
    T_("kornia.RandomSolarize", dict(), dict(thresholds=0.4, additions=0.3), MNIST, note=SOLAR),
    T_("kornia.RandomPosterize", dict(), dict(bits=1), PHOTO),
    T_("kornia.RandomSharpness", dict(), dict(sharpness=(5.0, 10.0)), PHOTO),
    T_("kornia.RandomClahe", dict(), dict(clip_limit=(80.0, 80.0), grid_size=(4, 4)), PHOTO),
    T_("kornia.RandomPlasmaBrightness", dict(), dict(roughness=(0.5, 0.9), intensity=(0.5, 1.0)), PHOTO),
    T_("kornia.RandomPlasmaContrast", dict(), dict(roughness=(0.7, 1.0)), PHOTO),
    T_("kornia.RandomPlasmaShadow", dict(), dict(shade_intensity=(-0.7, -0.4), shade_quantity=(0.2, 0.6)), PHOTO),
    T_("kornia.RandomLinearIllumination", dict(), dict(gain=(0.4, 0.6)), PHOTO),
    T_("kornia.RandomLinearCornerIllumination", dict(), dict(gain=(0.4, 0.6)), PHOTO),
    T_("kornia.RandomGaussianIllumination", dict(), dict(gain=(0.4, 0.6), sigma=(0.2, 0.5)), PHOTO),
    T_("torchvision.ColorJitter", dict(brightness=0.5, contrast=0.5), dict(brightness=0.8, contrast=0.8),
       PHOTO, note=DOC),
    T_("torchvision.RandomPhotometricDistort", dict(),
       dict(brightness=(0.3, 1.7), contrast=(0.2, 1.8), saturation=(0.0, 2.0), hue=(-0.5, 0.5)), PHOTO, rgb=True),
    T_("torchvision.RandomAdjustSharpness", dict(sharpness_factor=2.0), dict(sharpness_factor=12.0), PHOTO,
       note=DOC),
    T_("torchvision.RandomSolarize", dict(threshold=0.75), dict(threshold=0.3), MNIST, note=DOC + "; " + SOLAR),
    T_("torchvision.RandomPosterize", dict(bits=2), dict(bits=1), PHOTO, uint8=True, note=DOC),
    # -- sensor noise and compression
    T_("kornia.RandomGaussianNoise", dict(std=0.1), dict(std=0.4), PHOTO, note="std 1 (its default) is pure noise: the documentation's 0.1"),
    T_("kornia.RandomSaltAndPepperNoise", dict(), dict(amount=(0.15, 0.25)), PHOTO),
    T_("kornia.RandomJPEG", dict(), dict(jpeg_quality=(1.0, 10.0)), PHOTO, rgb=True),
    T_("torchvision.GaussianNoise", dict(), dict(sigma=0.4), PHOTO),
    T_("torchvision.JPEG", dict(quality=(5, 50)), dict(quality=(1, 5)), PHOTO, uint8=True, note=DOC),
    # -- blur (linear filters: in MNIST polarity, so that their zero padding is paper)
    T_("kornia.RandomGaussianBlur", dict(kernel_size=(3, 3), sigma=(0.1, 2.0)),
       dict(kernel_size=(9, 9), sigma=(1.5, 2.5)), MNIST, note=DOC),
    T_("kornia.RandomMotionBlur", dict(kernel_size=3, angle=35.0, direction=0.5),
       dict(kernel_size=7, angle=90.0, direction=1.0), MNIST, note=DOC),
    T_("kornia.RandomMedianBlur", dict(), dict(kernel_size=(5, 5)), MNIST),
    T_("kornia.RandomBoxBlur", dict(), dict(kernel_size=(5, 5)), MNIST),
    T_("torchvision.GaussianBlur", dict(kernel_size=5), dict(kernel_size=9, sigma=(1.5, 2.5)), MNIST,
       note="kernel_size has no default: 5, as in its documentation's gallery"),
    # -- occlusion (on the photo: erased with black, a dark sticker or a finger)
    T_("kornia.RandomErasing", dict(), dict(scale=(0.2, 0.4), value=0.5), PHOTO,
       unreadable={DEFAULT: "ink-coloured patches of 2-33 % of the frame hide the telling part of many digits",
                   HARSHER: "grey patches of 20-40 % of the frame hide the telling part of many digits"}),
    T_("torchvision.RandomErasing", dict(), dict(scale=(0.2, 0.4), value=0.5), PHOTO,
       unreadable={DEFAULT: "ink-coloured patches of 2-33 % of the frame hide the telling part of many digits",
                   HARSHER: "grey patches of 20-40 % of the frame hide the telling part of many digits"}),
    # -- geometry (in MNIST polarity: paper comes in from outside)
    T_("kornia.RandomAffine", dict(degrees=(-15.0, 20.0)),
       dict(degrees=30.0, translate=(0.15, 0.15), scale=(0.7, 1.2), shear=20.0), MNIST, note=DOC),
    T_("kornia.RandomRotation", dict(degrees=45.0), dict(degrees=60.0), MNIST, note=DOC),
    T_("kornia.RandomShear", dict(shear=(-15.0, 20.0)), dict(shear=(-35.0, 35.0)), MNIST, note=DOC),
    T_("kornia.RandomTranslate", dict(translate_x=(-0.2, 0.2), translate_y=(-0.1, 0.1)),
       dict(translate_x=(-0.3, 0.3), translate_y=(-0.3, 0.3)), MNIST, note=DOC),
    T_("kornia.RandomPerspective", dict(), dict(distortion_scale=0.8), MNIST),
    T_("kornia.RandomElasticTransform", dict(), dict(alpha=(6.0, 6.0)), MNIST),
    T_("kornia.RandomThinPlateSpline", dict(), dict(scale=0.4), MNIST),
    T_("kornia.RandomFisheye",
       dict(center_x=torch.tensor([-0.3, 0.3]), center_y=torch.tensor([-0.3, 0.3]), gamma=torch.tensor([0.9, 1.0])),
       dict(center_x=torch.tensor([-0.5, 0.5]), center_y=torch.tensor([-0.5, 0.5]), gamma=torch.tensor([0.4, 0.6])),
       MNIST, note=DOC),
    T_("kornia.RandomResizedCrop", dict(size=(28, 28)), dict(size=(28, 28), scale=(0.05, 0.5)), MNIST,
       note="size has no default: the image's own, 28 x 28", unreadable=CROP),
    T_("torchvision.RandomAffine", dict(degrees=(30, 70), translate=(0.1, 0.3), scale=(0.5, 0.75)),
       dict(degrees=(-90, 90), translate=(0.3, 0.3), scale=(0.4, 0.6), shear=30), MNIST, note=DOC,
       unreadable={DEFAULT: "turned 30-70 degrees one way and halved: 1s become dashes, 4, 5, 9 other shapes",
                   HARSHER: "turned up to 90 degrees, shrunk to 40-60 % and pushed to the edge or out"}),
    T_("torchvision.RandomRotation", dict(degrees=(0, 180)), dict(degrees=(-180, 180)), MNIST, note=DOC,
       unreadable={DEFAULT: "turned up to 180 degrees: 6 and 9, 2 and 5 upside down cannot be told apart",
                   HARSHER: "turned up to 180 degrees either way: 6 and 9, 2 and 5 cannot be told apart"}),
    T_("torchvision.RandomPerspective", dict(), dict(distortion_scale=0.8), MNIST),
    T_("torchvision.ElasticTransform", dict(), dict(alpha=75.0, sigma=5.0), MNIST),
    T_("torchvision.RandomResizedCrop", dict(size=28), dict(size=28, scale=(0.05, 0.5)), MNIST,
       note="size has no default: the image's own, 28", unreadable=CROP),
    T_("torchvision.RandomZoomOut", dict(), dict(side_range=(4.0, 6.0)), MNIST,
       unreadable={DEFAULT: "shrunk up to 4 times: the smallest digits are 5-7 px blobs",
                   HARSHER: "shrunk 4-6 times: digits of 3-7 px, blobs"}),
    # -- the libraries' policies: random chains of the above
    T_("torchvision.RandAugment", dict(), dict(num_ops=3, magnitude=15), MNIST, uint8=True),
    T_("torchvision.AugMix", dict(), dict(severity=10, mixture_width=5), MNIST, uint8=True),
]


@dataclass(frozen=True)
class Entry:
    name: str           # "kornia.RandomGamma (default)"
    transform: Transform
    setting: str        # DEFAULT or HARSHER
    readable: bool
    reason: str         # why a person cannot read it ("" when readable)


def read_unreadable():
    """The entries that the kept blind readings call unreadable (`read_by_eye.kept_unreadable`)."""
    import read_by_eye   # imports this module lazily: no cycle at import time
    return read_by_eye.kept_unreadable("library")


def entries(transforms=TRANSFORMS, readings=True):
    """The suite: every transform at its default, then its harsher setting.
    `readable` comes from the kept blind readings (a person reads at least 22
    of 24 development digits, or nobody needed to read it: the model scores
    95 % or more); `reason`, for an unreadable one, says so and adds what a
    first look had said against it."""
    out = []
    unread = read_unreadable() if readings else frozenset()   # readings=False: what the readings sample
    for t in transforms:
        for setting in (DEFAULT, HARSHER):
            name = f"{t.make} ({setting})"
            look = (t.unreadable or {}).get(setting, "")
            reason = "read blind: fewer than 22 of 24 right" + (f"; a look: {look}" if look else "")
            out.append(Entry(name, t, setting, name not in unread, reason if name in unread else ""))
    return out


def build(make, kwargs):
    """'kornia.Class' or 'torchvision.Class' with kwargs, p = 1 where it has p."""
    library, cls_name = make.split(".")
    if library == "kornia":
        import kornia.augmentation as module   # a tools-only dependency (requirements-dev.txt)
    else:
        import torchvision.transforms.v2 as module
    cls = getattr(module, cls_name)
    if "p" in inspect.signature(cls).parameters:
        kwargs = {**kwargs, "p": 1.0}
    return cls(**kwargs)


def fit(y, size):
    """y (n, C, h, w) resized to size (H, W) when it differs (zoom out enlarges
    the canvas): bilinear with antialiasing, as a camera's downscaling."""
    if y.shape[-2:] == tuple(size):
        return y
    dtype = y.dtype
    y = F.interpolate(y.float(), size=tuple(size), mode="bilinear", antialias=True, align_corners=False)
    return y.round().clamp(0, 255).to(dtype) if dtype == torch.uint8 else y


def run_transform(t, kwargs, x):
    """The library transform on x (n, 1, H, W) in [0, 1], MNIST polarity, drawing
    from torch's global generator -> (n, 1, H, W) in [0, 1]."""
    aug = build(t.make, kwargs)
    y = 1 - x if t.photo else x
    if t.rgb:
        y = y.expand(-1, 3, -1, -1)
    if t.uint8:
        y = (y * 255).round().to(torch.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")    # deprecation notes of the libraries' internals
        if t.make.startswith("kornia"):
            y = aug(y)
        else:                              # torchvision v2 draws one set per call: image by image
            y = torch.cat([fit(aug(img)[None], x.shape[-2:]) for img in y])
    y = y.float() / 255 if t.uint8 else y.float()
    y = fit(y.mean(dim=1, keepdim=True), x.shape[-2:]).clamp(0, 1)
    return 1 - y if t.photo else y


def apply(entry, x, seed):
    """entry on x (n, 1, H, W) in [0, 1] under torch's generator seeded `seed`
    (forked: the caller's state is left as it was)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        kwargs = entry.transform.default if entry.setting == DEFAULT else entry.transform.harsher
        return run_transform(entry.transform, kwargs, x)


def degraded(suite, x, seed=SEED, names=None):
    """(entry name, x under the entry) for the entries in `names` (default: all),
    one at a time (the whole suite at once would not fit in memory); entry i
    of the suite is seeded seed + i."""
    for i, e in enumerate(suite):
        if names is None or e.name in names:
            yield e.name, apply(e, x, seed + i)


def library_correct(model, x, y, suite, seed=SEED):
    """{entry name: per-image correctness (n,) bool} of model on x (n, 1, 28, 28) in [0, 1], y (n,)."""
    return {name: P.classify(model, xd) == y for name, xd in degraded(suite, x, seed)}


def library_accuracy(model, x, y, suite, seed=SEED):
    """{entry name: accuracy} of `library_correct`."""
    return {name: c.float().mean().item() for name, c in library_correct(model, x, y, suite, seed).items()}


def readable_summary(accuracy, suite, below=0.9):
    """-> (readable mean, (worst readable name, accuracy), count of readable entries below `below`)."""
    kept = {e.name: accuracy[e.name] for e in suite if e.readable}
    mean, worst = P.summarise(kept)
    return mean, worst, sum(a < below for a in kept.values())


def sample_sheet(suite, x, path, seed=SEED, n=12):
    """Every entry on the first n images of x: what `readable` was judged on."""
    rows = []
    for name, xd in degraded(suite, x[:n], seed):
        flag = "" if next(e for e in suite if e.name == name).readable else " [unreadable]"
        rows.append((name + flag, xd, [""] * len(xd), [False] * len(xd)))
    draw_rows(rows, path, "Library suite: every entry on the same test digits", n=n)


def unseen_images(x, names, seed=U.SEED):
    """{name: x under that unseen_suite entry} for the entries in `names`, exactly as
    U.unseen_accuracy draws them: every entry in turn from one generator."""
    kept = {}
    for name, fn in U.degradations(torch.Generator().manual_seed(seed)).items():
        xd = fn(x)                  # run every entry: the draws of the later ones depend on it
        if name in names:
            kept[name] = xd
    return kept


def failure_row(model, label, xd, y, n=8):
    """A sheet row: up to n images of xd (m, 1, 28, 28), the model's mistakes first,
    captioned "answer (true label)", mistakes in red."""
    pred = P.classify(model, xd)
    wrong = (pred != y).nonzero().flatten().tolist()
    right = (pred == y).nonzero().flatten().tolist()
    pick = (wrong + right)[:n]
    return (label, xd[pick], [f"{pred[i]} (true {y[i]})" for i in pick], [i in wrong for i in pick])


def failure_sheet(model, x, y, suite, accuracy, unseen, path, worst=6, n=8):
    """The `worst` entries of each unseen suite (of the library suite, the readable
    ones), worst first, n images each with the model's mistakes first, drawn at
    `path`. -> the entries' names, in the sheet's order."""
    readable = {e.name: accuracy[e.name] for e in suite if e.readable}
    lib_worst = sorted(readable, key=readable.get)[:worst]
    unseen_worst = sorted(unseen, key=unseen.get)[:worst]
    images = {**unseen_images(x, set(unseen_worst)), **dict(degraded(suite, x, names=set(lib_worst)))}
    rows = [failure_row(model, f"{suite_name}: {name}\n{acc[name]:.1%}", images[name], y, n)
            for suite_name, names, acc in (("unseen", unseen_worst, unseen), ("library", lib_worst, accuracy))
            for name in names]
    draw_rows(rows, path, f"Worst entries of the unseen suite (unseen_suite.py) and the library suite "
                          f"(library_suite.py, readable entries) on {len(x)} test digits:\n"
                          f"the model's answer (true label), its mistakes first and in red", n=n)
    return unseen_worst + lib_worst


def parse_args(argv):
    parser = splits.suite_parser(__doc__)
    parser.add_argument("--failures", metavar="PATH", default="",
                        help="also draw the worst entries of both suites here (`make evaluate`: "
                             "results/failures.png; default: none)")
    parser.add_argument("--sheet", metavar="PATH", help="only draw every entry on 12 test digits here")
    return parser.parse_args(argv)


@P.one_line_errors
def main(argv=None):
    args = parse_args(argv)
    suite = entries()
    x, y = splits.images(args.split, args.n)
    if args.sheet:
        sample_sheet(suite, x, args.sheet)
        print(f"wrote {args.sheet}")
        return None
    model = P.load_model(args.model_path)
    start = time.perf_counter()
    accuracy = library_accuracy(model, x, y, suite)
    for e in suite:
        print(f"{e.name:48s} {accuracy[e.name]:7.2%}" + ("" if e.readable else f"   unreadable: {e.reason}"))
    mean, (worst_name, worst), below = readable_summary(accuracy, suite)
    unseen = U.unseen_accuracy(model, x, y)
    unseen_mean = P.summarise(unseen)[0]
    held_out = U.held_out_mean(unseen, U.held_out(U.trained_with(args.model_path)))
    n_readable = sum(e.readable for e in suite)
    print(f"library suite: {len(TRANSFORMS)} transforms x 2 settings on {len(x)} images")
    print(f"{'readable mean':48s} {mean:7.2%}   ({n_readable} of {len(suite)} entries readable)")
    print(f"{'worst readable':48s} {worst:7.2%}   ({worst_name}); {below} readable entries below 90%")
    print(f"{'unseen mean (unseen_suite.py)':48s} {unseen_mean:7.2%}")
    print(f"{'held-out mean (unseen_suite.py)':48s} " + ("-" if held_out is None else f"{held_out:7.2%}"))
    if args.failures:
        failure_sheet(model, x, y, suite, accuracy, unseen, args.failures)
        print(f"wrote {args.failures}")
    print(f"{time.perf_counter() - start:.1f} s ({torch.get_num_threads()} threads)")
    result = {"n": len(x), "seed": SEED, "accuracy": accuracy,
              "readable": {e.name: e.readable for e in suite}, "readable_mean": mean,
              "worst_readable": {"name": worst_name, "accuracy": worst}, "readable_below_90": below,
              "unseen_mean": unseen_mean, "held_out_mean": held_out}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
