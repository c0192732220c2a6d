"""Accuracy of `photo_reader.py` on photo-like images of digits (a
benchmark that prints, not a timed test).

    .venv/bin/python tools/photo_bench.py [--n 300] [--blank 20] [--seed 0]
        [--model-path model.pt] [--out build/photo_bench]

Each image is one digit, a MNIST test digit (upscaled, put on paper) or a
DejaVu font digit, drawn with seeded random effects: any size and aspect, the
digit small, large or off-centre, dark-on-light or light-on-dark, grey or
coloured paper, a light gradient or a soft shadow, blur, sensor noise, and
saved as PNG, JPEG or a transparent PNG (digit in the alpha channel). `--blank`
adds pages without a digit, which must come back as "no digit found". The
images go through `classify_files`, exactly the path of the `classify`
command. Prints the accuracy, every failure with its effects, and the failure
count per effect; --out keeps the images in a new folder to look at.
"""
import argparse
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
import photo_reader  # noqa: E402
import pytorch_cnn as P  # noqa: E402
import splits  # noqa: E402

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_NAMES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
              "DejaVuSansMono.ttf", "DejaVuSansCondensed-Oblique.ttf", "DejaVuSans-Oblique.ttf")


def fonts():
    """The DejaVu fonts installed here; Pillow's built-in default font if none."""
    found = [FONT_DIR / name for name in FONT_NAMES if (FONT_DIR / name).exists()]
    return [str(p) for p in found] or [None]


def crop_to_ink(m):
    rows, cols = np.nonzero(m > 0.05)
    return m[rows.min():rows.max() + 1, cols.min():cols.max() + 1]


def font_digit(digit, font, rng):
    """Digit drawn in `font` (a path, or None: Pillow's default), slightly
    rotated -> (h, w) float ink coverage in [0, 1], cropped to the ink."""
    size = 120
    face = ImageFont.truetype(font, size) if font else ImageFont.load_default(size=size)
    canvas = Image.new("L", (2 * size, 2 * size), 0)
    ImageDraw.Draw(canvas).text((size // 2, size // 4), str(digit), fill=255, font=face)
    canvas = canvas.rotate(rng.uniform(-10, 10), resample=Image.BILINEAR)
    return crop_to_ink(np.asarray(canvas, dtype=np.float32) / 255)


def resize(m, h, w):
    return np.asarray(Image.fromarray(m.astype(np.float32), mode="F").resize((w, h), Image.BILINEAR))


def place(ink, rng, sizes=(64, 700)):
    """Ink (h, w) -> (page (H, W) coverage, tags): a page of random size (short
    side in `sizes`) and aspect; the digit 25-90 % of its short side, stretched 0.8-1.25 wide,
    anywhere on it."""
    short = int(rng.integers(*sizes))
    aspect = rng.uniform(0.6, 1.7)
    H, W = (short, int(short * aspect)) if rng.random() < 0.5 else (int(short * aspect), short)
    frac = rng.uniform(0.25, 0.9)
    h = max(int(frac * min(H, W)), 10)
    w = max(int(h * ink.shape[1] / ink.shape[0] * rng.uniform(0.8, 1.25)), 3)
    w = min(w, W - 2)
    page = np.zeros((H, W), np.float32)
    top, left = int(rng.integers(1, H - h)), int(rng.integers(1, W - w))
    page[top:top + h, left:left + w] = np.clip(resize(ink, h, w), 0, 1)
    tags = ["small"] if frac < 0.4 else []
    if abs((top + h / 2) / H - 0.5) > 0.2 or abs((left + w / 2) / W - 0.5) > 0.2:
        tags.append("off-centre")
    return page, tags


def lighting(H, W, rng):
    """A multiplicative light field (H, W) in (0, 1] and its tag: flat, a linear
    gradient (down to 45 %), or a soft-edged shadow (down to 50 %)."""
    kind = rng.choice(["flat", "gradient", "shadow"])
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    if kind == "flat":
        return np.ones((H, W), np.float32), []
    angle = rng.uniform(0, 2 * np.pi)
    t = (np.cos(angle) * xx / W + np.sin(angle) * yy / H)
    t = (t - t.min()) / (t.max() - t.min() + 1e-6)
    if kind == "gradient":
        return 1 - rng.uniform(0.25, 0.55) * t, ["gradient"]
    edge = rng.uniform(0.3, 0.7)
    softness = rng.uniform(0.05, 0.2)
    shadow = 1 / (1 + np.exp(-(t - edge) / softness))
    return 1 - rng.uniform(0.3, 0.5) * shadow, ["shadow"]


def paper_and_ink(rng):
    """(paper RGB, ink RGB, tags) in [0, 1]: grey or coloured paper, either polarity."""
    tags = []
    if rng.random() < 0.4:
        paper = rng.uniform([0.55, 0.55, 0.3], [1.0, 1.0, 0.9])[rng.permutation(3)]
        tags.append("coloured paper")
    else:
        paper = np.full(3, rng.uniform(0.55, 1.0))
        tags.append("grey paper" if paper[0] < 0.85 else "white paper")
    ink = rng.uniform(0.0, 0.25, 3) if rng.random() < 0.7 else np.eye(3)[rng.integers(3)] * 0.6
    if rng.random() < 0.3:   # light-on-dark: a blackboard, a screen, an inverted scan
        paper, ink = 1 - paper, 1 - ink
        tags.append("light on dark")
    return paper.astype(np.float32), ink.astype(np.float32), tags


def to_pil(rgb):
    return Image.fromarray((np.clip(rgb, 0, 1) * 255).round().astype(np.uint8))


def render(page, rng, fmt):
    """Coverage (H, W) -> (PIL image, tags): paper, ink, light, blur, noise."""
    paper, ink, tags = paper_and_ink(rng)
    light, light_tags = lighting(*page.shape, rng)
    rgb = (paper * (1 - page[..., None]) + ink * page[..., None]) * light[..., None]
    if rng.random() < 0.4:
        radius = rng.uniform(0.5, 2.0) * max(page.shape) / 300
        rgb = np.asarray(to_pil(rgb).filter(ImageFilter.GaussianBlur(radius)), np.float32) / 255
        tags.append("blur")
    sigma = rng.choice([0.0, 0.03, 0.08])
    if sigma:
        rgb = rgb + rng.normal(0, sigma, rgb.shape)
        tags.append("noise")
    return to_pil(rgb), tags + light_tags + [fmt]


def transparent(page, rng):
    """A digit on a transparent PNG: the ink colour everywhere, coverage in alpha."""
    colour = (0, 0, 0) if rng.random() < 0.7 else tuple(int(c) for c in rng.integers(0, 255, 3))
    rgba = np.zeros(page.shape + (4,), np.uint8)
    rgba[..., :3] = colour
    rgba[..., 3] = (page * 255).round().astype(np.uint8)
    return Image.fromarray(rgba, mode="RGBA"), ["alpha png"]


def save(img, path, fmt, rng):
    if fmt == "jpeg":
        img.save(path, quality=int(rng.integers(30, 90)))
    else:
        img.save(path)


def make_set(out, n, blank, seed, images, labels, sizes=(64, 700)):
    """Write n digit images and `blank` empty pages into `out`, short sides in `sizes` px.
    -> [(path, the true digits as a string or None, tags)]."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    font_files, cases = fonts(), []
    for i in range(n + blank):
        if i >= n:
            ink, label, tags = np.zeros((10, 10), np.float32), None, ["blank page"]
        elif i % 2:
            font = font_files[int(rng.integers(len(font_files)))]
            label = int(rng.integers(10))
            ink, tags = font_digit(label, font, rng), ["font " + Path(font or "default").stem]
        else:
            k = int(rng.integers(len(images)))
            ink = crop_to_ink(images[k].astype(np.float32) / 255)
            label, tags = int(labels[k]), ["mnist"]
        page, place_tags = place(ink, rng, sizes)
        if i >= n:
            place_tags = []
        fmt = rng.choice(["png", "jpeg", "alpha"], p=[0.45, 0.4, 0.15])
        if fmt == "alpha" and i < n:
            img, more = transparent(page, rng)
            fmt = "png"
        else:
            fmt = "png" if fmt == "alpha" else fmt
            img, more = render(page, rng, fmt)
        path = out / f"{i:04d}.{'jpg' if fmt == 'jpeg' else 'png'}"
        save(img, path, fmt, rng)
        cases.append((path, None if label is None else str(label), tags + place_tags + more))
    return cases


# -- The kinds of issue 23: a sheet on a desk, a thin pen on a big frame, a number

def desk(shape, rng):
    """A desk (H, W, 3): a brown, grey or dark base colour, wood-like grain
    (stripes along one axis, blurred) and blotches; darker than paper."""
    H, W = shape
    base = rng.choice([[0.45, 0.3, 0.18], [0.35, 0.35, 0.37], [0.2, 0.17, 0.15], [0.55, 0.42, 0.3]])
    base = np.asarray(base, np.float32) * rng.uniform(0.7, 1.15)
    grain = np.sin(np.linspace(0, rng.uniform(20, 80), W)[None, :] + rng.normal(0, 1.5, (H, 1)).cumsum(0) * 0.05)
    blotch = np.asarray(Image.fromarray(rng.normal(0, 1, (8, 8)).astype(np.float32), mode="F")
                        .resize((W, H), Image.BICUBIC))
    texture = 1 + rng.uniform(0.03, 0.12) * grain + rng.uniform(0.02, 0.08) * blotch
    return np.clip(base[None, None] * texture[..., None], 0, 1).astype(np.float32)


def on_desk(sheet_rgb, rng, frame_long=(600, 1600)):
    """A sheet image (h, w, 3) photographed on a desk -> (PIL image, tags): the
    sheet covers 45-85 % of the frame's area, turned up to 10 degrees, wholly inside."""
    h, w = sheet_rgb.shape[:2]
    cover = rng.uniform(0.45, 0.85)
    long = int(rng.integers(*frame_long))
    aspect = rng.uniform(1.2, 1.5)
    H, W = (long, int(long / aspect)) if h >= w else (int(long / aspect), long)
    scale = np.sqrt(cover * H * W / (h * w))
    angle = rng.uniform(-10, 10)
    sheet = to_pil(sheet_rgb).resize((max(int(w * scale), 8), max(int(h * scale), 8)), Image.BILINEAR)
    mask = Image.new("L", sheet.size, 255).rotate(angle, expand=True, resample=Image.BILINEAR)
    sheet = sheet.rotate(angle, expand=True, resample=Image.BILINEAR)
    sw, sh = sheet.size
    if sw >= W or sh >= H:            # turned, it no longer fits: shrink it to fit
        f = 0.95 * min(W / sw, H / sh)
        sheet, mask = (im.resize((int(sw * f), int(sh * f)), Image.BILINEAR) for im in (sheet, mask))
        sw, sh = sheet.size
    canvas = to_pil(desk((H, W), rng))
    canvas.paste(sheet, (int(rng.integers(0, W - sw + 1)), int(rng.integers(0, H - sh + 1))), mask)
    rgb = np.asarray(canvas, np.float32) / 255
    rgb = rgb + rng.normal(0, rng.choice([0.0, 0.02, 0.05]), rgb.shape)
    return to_pil(rgb), ["sheet on desk"]


def page_rgb(page, rng):
    """Coverage (H, W) -> RGB of dark ink on white or off-white paper."""
    paper = np.full(3, rng.uniform(0.8, 1.0), np.float32) * rng.uniform([0.95, 0.95, 0.85], 1.0)
    ink = rng.uniform(0.0, 0.25, 3).astype(np.float32)
    return paper * (1 - page[..., None]) + ink * page[..., None]


def thin_glyph(digit, height, stroke, rng):
    """A DejaVu Sans digit `height` px tall drawn with a pen `stroke` px wide ->
    (h, w) coverage: the glyph's skeleton (Lantuejoul's morphological
    skeleton, on a 200 px rendering), scaled up and dilated to the pen's width,
    so every stroke has that width (a font's own strokes vary)."""
    import cv2   # opencv-python-headless, as photo_reader
    small = 200
    face = ImageFont.truetype(str(FONT_DIR / "DejaVuSans.ttf"), int(small * 1.35)) \
        if (FONT_DIR / "DejaVuSans.ttf").exists() else ImageFont.load_default(int(small * 1.35))
    canvas = Image.new("L", (int(small * 1.6), int(small * 1.9)), 0)
    ImageDraw.Draw(canvas).text((int(small * 0.2), 0), str(digit), fill=255, font=face)
    canvas = canvas.rotate(rng.uniform(-8, 8), resample=Image.BILINEAR)
    m = (np.asarray(canvas) > 127).astype(np.uint8)
    cross, skeleton = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3)), np.zeros_like(m)
    while m.any():
        eroded = cv2.erode(m, cross)
        skeleton |= m - cv2.dilate(eroded, cross)
        m = eroded
    rows, cols = np.nonzero(skeleton)
    skeleton = skeleton[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    scale = height / skeleton.shape[0]
    big = cv2.resize(skeleton * 255, (max(int(skeleton.shape[1] * scale), 1), height), interpolation=cv2.INTER_LINEAR)
    pad = int(stroke) + 2
    big = np.pad((big > 0).astype(np.uint8), pad)
    r = max(int(round(stroke / 2)), 1)
    pen = cv2.dilate(big, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    return crop_to_ink(cv2.GaussianBlur(pen.astype(np.float32), (0, 0), 0.6))


def thin_pen_page(rng, long=(3000, 4000)):
    """A big photo of a digit written with a fine pen -> (coverage (H, W), label, tags):
    the frame's long side 3000-4000 px, the digit 15-40 % of the frame's height,
    its strokes 0.15-0.6 % of the long side."""
    L = int(rng.integers(*long))
    H, W = (L, int(L * 0.75)) if rng.random() < 0.5 else (int(L * 0.75), L)
    label = int(rng.integers(10))
    height = int(rng.uniform(0.15, 0.4) * H)
    glyph = thin_glyph(label, height, rng.uniform(0.0015, 0.006) * L, rng)
    h, w = glyph.shape
    page = np.zeros((H, W), np.float32)
    top, left = int(rng.integers(0, H - h)), int(rng.integers(0, W - w))
    page[top:top + h, left:left + w] = glyph
    return page, str(label), ["thin pen"]


def number_page(images, labels, rng, count):
    """`count` MNIST digits side by side, as one writes a number -> (coverage, digits, tags):
    gaps of 0 to 40 % of a digit's width (touching at 0), small vertical jitter."""
    picks = rng.integers(len(images), size=count)
    inks = [crop_to_ink(images[k].astype(np.float32) / 255) for k in picks]
    h = 100
    scaled = [np.clip(resize(m, h, max(int(h * m.shape[1] / m.shape[0]), 8)), 0, 1) for m in inks]
    gaps = [int(rng.uniform(0.05, 0.45) * h * 0.7) for _ in scaled]
    W = sum(m.shape[1] for m in scaled) + sum(gaps) + 2 * h
    H = int(h * rng.uniform(1.6, 2.6))
    page = np.zeros((H, W), np.float32)
    x = h
    for m, gap in zip(scaled, gaps):
        top = int((H - h) / 2 + rng.uniform(-0.08, 0.08) * h)
        page[top:top + h, x:x + m.shape[1]] = np.maximum(page[top:top + h, x:x + m.shape[1]], m)
        x += m.shape[1] + gap
    return page, "".join(str(int(labels[k])) for k in picks), [f"number of {count}"]


def make_kinds(out, seed, images, labels, desks=40, thin=20, numbers=40):
    """The three kinds of issue 23 -> [(path, digits, tags)], seeded."""
    rng = np.random.default_rng(seed + 10_000)
    cases = []
    for i in range(desks):
        k = int(rng.integers(len(images)))
        page, tags = place(crop_to_ink(images[k].astype(np.float32) / 255), rng, sizes=(300, 700))
        img, more = on_desk(page_rgb(page, rng), rng)
        path = out / f"desk{i:03d}.jpg"
        img.save(path, quality=int(rng.integers(50, 92)))
        cases.append((path, str(int(labels[k])), more + tags))
    for i in range(thin):
        page, label, tags = thin_pen_page(rng)
        path = out / f"thin{i:03d}.jpg"
        to_pil(page_rgb(page, rng) + rng.normal(0, 0.02, page.shape + (3,))).save(path, quality=90)
        cases.append((path, label, tags))
    for i in range(numbers):
        page, digits, tags = number_page(images, labels, rng, int(rng.integers(2, 5)))
        img, more = render(page, rng, "png")
        path = out / f"number{i:03d}.png"
        img.save(path)
        cases.append((path, digits, tags + more))
    return cases


def score(model, cases):
    """-> (accuracy, failures [(path, truth, got, tags)])."""
    results = photo_reader.classify_files(model, [c[0] for c in cases])
    failures = [(path, truth, got, tags)
                for (path, truth, tags), (_, got) in zip(cases, results) if got != truth]
    return 1 - len(failures) / max(len(cases), 1), failures


KINDS = ("photo-like", "sheet on desk", "thin pen", "number")


def kind_of(tags):
    return next((k for k in KINDS[1:] if any(t.startswith(k) for t in tags)), KINDS[0])


@P.one_line_errors
def main(argv=None):
    parser = P.Parser(description=__doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300, help="photo-like digit images (default: 300)")
    parser.add_argument("--blank", type=int, default=20, help="pages without a digit (default: 20)")
    parser.add_argument("--desk", type=int, default=40, help="sheets on a desk (default: 40)")
    parser.add_argument("--thin", type=int, default=20, help="thin pens on 3000-4000 px photos (default: 20)")
    parser.add_argument("--numbers", type=int, default=40, help="numbers of 2-4 digits (default: 40)")
    parser.add_argument("--seed", type=int, default=1,
                        help="seeds every draw (default: 1; the reader was tuned on seed 0)")
    parser.add_argument("--model-path", default=str(ROOT / "model.pt"), help="the MyNet state_dict that "
                        "reads the photos (default: model.pt)")
    parser.add_argument("--out", default=None,
                        help="a new or empty folder to keep the images in (default: a temporary "
                             "folder, deleted after scoring)")
    args = parser.parse_args(argv)
    if args.out and Path(args.out).exists() and not (Path(args.out).is_dir() and
                                                     not any(Path(args.out).iterdir())):
        raise P.UserError(f"--out {args.out} exists and is not an empty folder: name a new folder "
                          f"(the images would mix with what is there)")
    model = P.load_model(args.model_path)   # first: a missing model fails before minutes of drawing
    images, labels = P.load_mnist(ROOT / "data", train=False)
    out = Path(args.out or tempfile.mkdtemp(prefix="photo_bench_"))
    try:
        x, y = images[:, 0].numpy(), labels.numpy()
        print(f"drawing {args.n + args.blank + args.desk + args.thin + args.numbers} images (seed {args.seed}) ...",
              file=sys.stderr, flush=True)
        cases = make_set(out, args.n, args.blank, args.seed, x, y)
        cases += make_kinds(out, args.seed, x, y, args.desk, args.thin, args.numbers)
        print("reading them ...", file=sys.stderr, flush=True)
        accuracy, failures = score(model, cases)
    finally:
        if not args.out:   # only the temporary folder: never a folder the user named
            shutil.rmtree(out, ignore_errors=True)
    print(f"photo benchmark, seed {args.seed}: {args.n} photo-like digits + {args.blank} blank pages, "
          f"{args.desk} sheets on desks, {args.thin} thin pens, {args.numbers} numbers")
    failed_paths = {f[0] for f in failures}
    per_kind = {}
    for kind in KINDS:
        mine = [c for c in cases if kind_of(c[2]) == kind]
        if mine:
            right = sum(c[0] not in failed_paths for c in mine)
            low, high = splits.wilson(right, len(mine))
            per_kind[kind] = right / len(mine)
            print(f"  {kind:14s} {100 * right / len(mine):6.1f} % [{100 * low:.1f}, {100 * high:.1f}]  "
                  f"({right}/{len(mine)} read whole)")
    print(f"all: {accuracy:.1%} ({len(cases) - len(failures)}/{len(cases)} right)")
    for path, truth, got, tags in failures:
        show = lambda v: "no digit" if v is None else v   # noqa: E731
        print(f"  {path.name}: {show(truth)} read as {show(got)}  [{', '.join(tags)}]")
    seen = Counter(t for c in cases for t in c[2])
    failed = Counter(t for f in failures for t in f[3])
    if failures:
        print("failures per effect (failed / images with it):")
        for tag, count in failed.most_common():
            print(f"  {tag:28s} {count:3d} / {seen[tag]}")
    return {"accuracy": accuracy, "per_kind": per_kind, "failures": failures}


if __name__ == "__main__":
    main()
