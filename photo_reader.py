"""Read photos of handwritten digits with MyNet: a phone picture of a digit or
a whole number on paper (a sheet on a desk, any pen) -> MNIST-style 28 x 28
frames, one per digit -> the label, or the number read left to right.

    .venv/bin/python photo_reader.py IMAGE [IMAGE ...] [--model-path model.pt]

Prints `IMAGE: label` per file (`number.jpg: 42`; `no digit found` for a page
without one); a file that is not a readable image gets an `error:` line and
the others are still read (exit 2 at the end). Not graded: the upload system
never reads photos; it imports pytorch_cnn.py, whose `classify` this calls.
Contents, in order (each step's helpers above it):

    dark_ink, remove_light, denoise, otsu   the ink, bright on dark, without the light and noise
    segment_digits, split_wide              the ink grouped into digits, left to right
    find_page                               a sheet on a desk, found and straightened
    to_mnist_frame                          one digit -> (28, 28) as MNIST frames it
    read_ink, photo_to_mnist                a grey photo -> (k, 28, 28), its k digits
    read_photo                              an image file -> grey, colours on their main axis
    classify_files, main                    files -> labels; the command line
"""
import argparse
import math
import sys
from pathlib import Path

import cv2   # opencv-python-headless (requirements-dev.txt): regions, the sheet's outline and warp
import numpy as np
import torch
import torch.nn.functional as F
import torchvision

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
import pytorch_cnn as P  # noqa: E402

# Work happens on a copy whose longest side is PHOTO_SIDE pixels, so every
# window below is a fixed share of the frame whatever the photo's size.
PHOTO_SIDE = 512      # a fine pen (0.15 % of the frame) still darkens 0.8 px; a digit a tenth of the frame spans 50
PAGE_SIDE = 256       # the sheet is found on a copy this size: its outline, not its strokes
MAX_SIDES = 3         # a sheet may touch this many sides of the frame; at three, only with a sharp edge
SHARP_EDGE = 0.2      # edge_sharpness of a cut sheet (0.25 and more) against a shadow's soft edge (mostly under 0.15)
LIGHT_SIDE = 64       # the light is estimated on a 64 px copy: cheap, and averages the noise out
LIGHT_WINDOW = 17     # a quarter of the frame: wider than any stroke, narrower than a shadow's gradient
MNIST_DIGIT, MNIST_SIDE, MNIST_CENTRE = 20, 28, 14.0   # MNIST's box, frame and mean centre of mass
MNIST_INK = 95.0      # mean ink sum of a MNIST test digit (pixels in [0, 1])


def resize_longest(img, side):
    """(H, W) -> (h, w) with max(h, w) = side, aspect kept, anti-aliased."""
    h, w = img.shape
    s = side / max(h, w)
    size = (max(round(h * s), 1), max(round(w * s), 1))
    return F.interpolate(img[None, None], size=size, mode="bilinear", antialias=True,
                         align_corners=False)[0, 0]


def box_max(x, k):
    """Max over a k x k window (k odd), (H, W) -> (H, W); the frame's edge is ignored."""
    return P.window_max(x[None, None], k)[0, 0]


def robust_sigma(x):
    """Noise level of x: 1.4826 x median absolute deviation (the Gaussian sigma;
    a minority of ink pixels does not move it)."""
    return 1.4826 * (x - x.median()).abs().median()


def dark_ink(img, band=0.1, keep=0.6):
    """Is the ink darker than the paper? The frame's edge (a band `band` of its
    size wide) is mostly paper: fit its light as a quadratic surface in x and y
    (least squares, refitted on the `keep` share of band pixels closest to it,
    so a digit touching the edge stops pulling it), then compare the whole
    image's residual tails beyond 3 of the band's noise sigmas: the ink is the
    side with more mass out there."""
    small = resize_longest(img, LIGHT_SIDE)
    h, w = small.shape   # pixel coordinates in [-1, 1]
    grid = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    yy, xx = [t.flatten() for t in grid]
    basis = torch.stack([torch.ones_like(xx), xx, yy, xx * yy, xx ** 2, yy ** 2], 1)
    values = small.flatten()
    edge = chosen = torch.maximum(xx.abs(), yy.abs()) >= 1 - 2 * band
    for _ in range(3):
        coef = torch.linalg.lstsq(basis[chosen], values[chosen, None]).solution
        residual = values - (basis @ coef)[:, 0]
        chosen = edge & (residual.abs() <= residual[edge].abs().quantile(keep))
    s = 3 * robust_sigma(residual[edge])
    return (-residual - s).clamp_min(0).sum() > (residual - s).clamp_min(0).sum()


def remove_light(ink):
    """Ink bright on darker paper (H, W) -> ink minus the paper's light (H, W).
    The light is a morphological opening (min then max over LIGHT_WINDOW), which
    deletes every stroke narrower than the window and keeps gradients and soft
    shadows, smoothed, on a LIGHT_SIDE copy, then scaled back up."""
    k = LIGHT_WINDOW
    small = resize_longest(ink, LIGHT_SIDE)
    opened = P.opening(small[None, None], k)[0, 0]
    smooth = F.avg_pool2d(opened[None, None], k, stride=1, padding=k // 2, count_include_pad=False)
    light = F.interpolate(smooth, size=ink.shape, mode="bilinear", align_corners=False)[0, 0]
    return ink - light


def noise_sigma(x):
    """Pixel noise of x (H, W): robust_sigma of x minus its 3 x 3 mean (strokes
    and light vary more slowly than the noise; 1.1: that residual keeps 8/9 of it)."""
    local = F.avg_pool2d(x[None, None], 3, stride=1, padding=1, count_include_pad=False)[0, 0]
    return 1.1 * robust_sigma(x - local)


def denoise(x, noise, upscale=1.0):
    """Gaussian blur (H, W) -> (H, W) just strong enough for the noise: sigma
    grows with it from 1 px (a clean photo keeps a fine pen's 1 px line) to
    2.4 px (a noisy one evens out), so that about 0.01 of noise is left. A
    photo smaller than PHOTO_SIDE was enlarged `upscale` times: its noise is
    that much coarser than it measures, and at least 1.2 of its own pixels
    are blurred over."""
    sigma = noise * upscale / (2 * math.sqrt(math.pi) * 0.01)
    sigma = float(min(max(sigma, 1.0, 1.2 * upscale), 2.4))
    k = 2 * math.ceil(3 * sigma) + 1
    return torchvision.transforms.functional.gaussian_blur(x[None], [k, k], [sigma, sigma])[0]


def otsu(x, bins=256):
    """Otsu's threshold of the values in x: maximises the between-class variance."""
    lo, hi = x.min(), x.max()
    hist = torch.histc(x, bins, lo.item(), hi.item())
    centres = lo + (hi - lo) * (torch.arange(bins, dtype=x.dtype) + 0.5) / bins
    w0 = hist.cumsum(0)
    m0 = (hist * centres).cumsum(0)
    w1, m1 = w0[-1] - w0, m0[-1] - m0
    between = w0 * w1 * (m0 / w0.clamp_min(1) - m1 / w1.clamp_min(1)) ** 2
    return centres[between.argmax()]


def regions(mask, weight):
    """Connected regions (8-neighbours, OpenCV) of a bool mask (H, W) -> (labels
    (H, W) int, 0 off the mask; mass (K,), the sum of weight over each; boxes
    (K, 4) top, left, bottom, right inclusive), region k labelled k + 1."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.numpy().astype(np.uint8), connectivity=8)
    labels = torch.from_numpy(labels.astype(np.int64))
    mass = torch.zeros(count).index_add_(0, labels.flatten(), weight.flatten())[1:]
    s = torch.from_numpy(stats[1:].astype(np.int64))
    left, top, width, height = s[:, :4].unbind(1)
    return labels, mass, torch.stack([top, left, top + height - 1, left + width - 1], 1)


def x_overlap(a, b):
    """Overlap of two boxes' column ranges, as a share of the narrower one."""
    inter = min(a[3], b[3]) - max(a[1], b[1]) + 1
    return max(inter, 0) / min(a[3] - a[1] + 1, b[3] - b[1] + 1)


def union(a, b):
    return [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]


def segment_digits(labels, mass, boxes, min_mass=0.05, body=0.5, near=0.12):
    """The digits of a line of ink, left to right -> [(region ids, box)].

    The anchor is the heaviest region (one touching the frame's edge counts a
    quarter: a table or the page's edge). Regions on its line (their middle
    within its rows widened by 0.6 of its height: the anchor may be a digit's
    lower half, broken off its top) with at least min_mass of its ink
    are kept; those at least `body` of its height tall and with a fifth of its
    ink (a 1 beside an 8) are digits' bodies, the rest (a 5's hat, a broken stroke) join the body they overlap or lie
    nearest to, within `near` of the height. Neighbouring bodies merge when
    they overlap in x (the two strokes of a 4), or lie within 2 x near of the
    height, together are at most 0.9 of it wide and are not both three
    quarters of it tall (a broken digit, not two, nor the 11 of 1211).
    A region touching the frame's edge is never a body but the anchor, and
    joins a body only when it hardly widens it (a digit's part cut by the
    frame, not the page's edge along it). A box wider than
    `wide` x its height is split later (`split_wide`)."""
    H, W = labels.shape
    edge = (boxes[:, 0] == 0) | (boxes[:, 1] == 0) | (boxes[:, 2] == H - 1) | (boxes[:, 3] == W - 1)
    anchor = int((mass * torch.where(edge, 0.25, 1.0)).argmax())
    top, bottom = boxes[anchor, 0].item(), boxes[anchor, 2].item()
    height = bottom - top + 1
    kept = [j for j in range(len(mass)) if mass[j] >= min_mass * mass[anchor]
            and top - height * 0.6 <= (boxes[j, 0] + boxes[j, 2]).item() / 2 <= bottom + height * 0.6]
    tall = [j for j in kept if boxes[j, 2] - boxes[j, 0] + 1 >= body * height and mass[j] >= 0.2 * mass[anchor]
            and (j == anchor or not edge[j])]
    groups = [([j], boxes[j].tolist()) for j in sorted(tall, key=lambda j: boxes[j, 1].item())]
    merged = []
    for ids, box in groups:   # left to right: merge into the previous digit when it is one digit with it
        both = merged and union(merged[-1][1], box)
        full = merged and min(merged[-1][1][2] - merged[-1][1][0], box[2] - box[0]) + 1 >= 0.75 * height
        if merged and (x_overlap(merged[-1][1], box) > 0.3 or (box[1] - merged[-1][1][3] <= 2 * near * height
                                                                and both[3] - both[1] + 1 <= 0.9 * height
                                                                and not full)):
            merged[-1] = (merged[-1][0] + ids, union(merged[-1][1], box))
        else:
            merged.append((ids, box))
    for j in kept:
        if j in tall:
            continue
        b = boxes[j].tolist()
        gaps = [max(b[1] - box[3], box[1] - b[3], 0) for _, box in merged]
        k = min(range(len(merged)), key=lambda i: (-x_overlap(merged[i][1], b), gaps[i]))
        grown = union(merged[k][1], b)
        inside = all(abs(g - o) <= near * height for g, o in zip(grown, merged[k][1]))
        if (x_overlap(merged[k][1], b) > 0 or gaps[k] <= near * height) and (inside or not edge[j]):
            merged[k] = (merged[k][0] + [j], grown)
    return merged


def split_wide(ink, box, wide=1.45, valley=0.35):
    """A digit's box [top, left, bottom, right] -> boxes. A box wider than
    `wide` x its height holds touching digits: round(width / (0.8 height))
    parts, each cut at the emptiest column within a third of a part of the
    even cut, where the ink's column sum falls below `valley` of its median (a
    wide 0 or a long-armed 7 has no such valley and stays whole)."""
    top, left, bottom, right = box
    h, w = bottom - top + 1, right - left + 1
    parts = round(w / (0.8 * h)) if w > wide * h else 1
    if parts < 2:
        return [box]
    columns = ink[top:bottom + 1, left:right + 1].sum(0)
    floor = valley * columns[columns > 0].median()
    cuts, step = [], w / parts
    for k in range(1, parts):
        lo, hi = int(k * step - step / 3), int(k * step + step / 3)
        at = lo + int(columns[lo:hi].argmin())
        if columns[at] <= floor:
            cuts.append(at)
    edges = [0] + cuts + [w]
    return [[top, left + a, bottom, left + b - 1] for a, b in zip(edges, edges[1:]) if b > a]


def edge_sharpness(u8, outline, contrast):
    """How sharp a region's edge is inside the frame: the median brightness
    gradient (Sobel, per px, on the blurred copy u8) along its outline, away
    from the frame's border, over the brightness step `contrast` across it.
    On the benchmark's seed 0 a sheet's cut edge gave 0.25 to 0.33, the soft
    edge of a shadow or a gradient mostly under 0.15 (sensor noise lifts it)."""
    gx, gy = cv2.Sobel(u8, cv2.CV_32F, 1, 0) / 8, cv2.Sobel(u8, cv2.CV_32F, 0, 1) / 8
    grad = np.sqrt(gx ** 2 + gy ** 2) / 255
    h, w = u8.shape
    xs, ys = outline[:, 0, 0], outline[:, 0, 1]
    inside = (xs > 2) & (xs < w - 3) & (ys > 2) & (ys < h - 3)
    if not inside.any():
        return 0.0
    near = cv2.dilate(grad, np.ones((5, 5), np.uint8))      # the outline may sit a pixel or two off the step
    return float(np.median(near[ys[inside], xs[inside]]) / max(contrast, 1e-6))


def find_page(img, min_share=0.12, max_share=0.92, min_contrast=0.12):
    """A sheet of paper on a darker desk -> the sheet, straightened; else img.

    On a PAGE_SIDE copy: the bright side of Otsu's threshold, closed over the
    ink (21 px: wider than a stroke at this size); its largest region is the sheet if it covers min_share .. max_share
    of the frame, touches at most three sides of it (and at three, has a sharp
    edge inside the frame, `edge_sharpness`: the light side of a shadow's
    soft edge touches three too), is solid and roughly a quadrilateral (a convex hull filling most of its smallest rectangle), and
    is min_contrast brighter than what surrounds it. Its four corners
    (approxPolyDP, else that rectangle's) are moved 6 % inwards (the sheet's
    edge and its shadow stay out) and warped to a rectangle of img's resolution."""
    small = resize_longest(img, PAGE_SIDE).numpy()
    u8 = (cv2.GaussianBlur(small, (0, 0), 1.5) * 255).clip(0, 255).astype(np.uint8)
    _, bright = cv2.threshold(u8, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, np.ones((21, 21), np.uint8))   # over the strokes
    count, labels, stats, _ = cv2.connectedComponentsWithStats(bright, connectivity=4)
    if count < 2:
        return img
    k = 1 + int(stats[1:, cv2.CC_STAT_AREA].argmax())
    sheet = (labels == k).astype(np.uint8)
    h, w = sheet.shape
    share = sheet.mean()
    sides = int(sheet[0].any()) + int(sheet[-1].any()) + int(sheet[:, 0].any()) + int(sheet[:, -1].any())
    if not min_share <= share <= max_share or sides > MAX_SIDES:
        return img
    outline = max(cv2.findContours(sheet, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[0], key=cv2.contourArea)
    hull = cv2.convexHull(outline)
    rect = cv2.minAreaRect(hull)
    hull_area = cv2.contourArea(hull)
    if cv2.contourArea(outline) < 0.85 * hull_area or hull_area < 0.85 * rect[1][0] * rect[1][1]:
        return img
    contrast = small[sheet > 0].mean() - small[sheet == 0].mean()
    if contrast < min_contrast or (sides > 2 and edge_sharpness(u8, outline, contrast) < SHARP_EDGE):
        return img
    quad = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True).reshape(-1, 2).astype(np.float32)
    if len(quad) != 4:
        quad = cv2.boxPoints(rect).astype(np.float32)
    centre = quad.mean(0)
    quad = centre + 0.94 * (quad - centre)
    by_angle = quad[np.argsort(np.arctan2(quad[:, 1] - centre[1], quad[:, 0] - centre[0]))]
    start = int(np.argmin(by_angle.sum(1)))                    # the top-left corner first, then clockwise
    corners = np.roll(by_angle, -start, axis=0) * (max(img.shape) / max(h, w))
    width = int(max(np.linalg.norm(corners[1] - corners[0]), np.linalg.norm(corners[2] - corners[3])))
    height = int(max(np.linalg.norm(corners[3] - corners[0]), np.linalg.norm(corners[2] - corners[1])))
    target = np.float32([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]])
    warp = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    page = cv2.warpPerspective(img.numpy().astype(np.float32), warp, (width, height), flags=cv2.INTER_AREA,
                               borderMode=cv2.BORDER_REPLICATE)
    return torch.from_numpy(page)


def to_mnist_frame(ink):
    """Ink (h, w) in [0, 1] cropped to the digit -> (28, 28): longest side 20 px
    (anti-aliased), thickened when thinner than MNIST's strokes, centre of mass
    on MNIST's, as LeCun et al. built MNIST."""
    small = resize_longest(ink, MNIST_DIGIT)
    small = small / small.max().clamp_min(1e-6)
    for _ in range(3):     # a thin pen on a big page fades when shrunk: widen it towards MNIST's pens
        if small.sum() < MNIST_INK / 2:
            small = F.max_pool2d(F.pad(small, (0, 1, 0, 1))[None, None], 2, stride=1)[0, 0]
    h, w = small.shape
    yy, xx = torch.arange(h, dtype=small.dtype), torch.arange(w, dtype=small.dtype)
    total = small.sum()
    cy, cx = (small.sum(1) * yy).sum() / total, (small.sum(0) * xx).sum() / total
    top = min(max(round(MNIST_CENTRE - cy.item()), 0), MNIST_SIDE - h)
    left = min(max(round(MNIST_CENTRE - cx.item()), 0), MNIST_SIDE - w)
    return F.pad(small, (left, MNIST_SIDE - w - left, top, MNIST_SIDE - h - top))


def read_ink(page, min_contrast, min_snr, min_size):
    """`photo_to_mnist` on one grey image (H, W), the sheet already found -> (k, 28, 28)."""
    upscale = max(PHOTO_SIDE / max(page.shape), 1.0)
    img = resize_longest(page, PHOTO_SIDE)
    if min(img.shape) < MNIST_DIGIT / 2:   # a sliver of a frame: no room for a digit
        return torch.empty(0, 28, 28)
    if dark_ink(img):
        img = 1 - img
    light_free = remove_light(img)
    ink = denoise(light_free, noise_sigma(light_free), upscale)
    paper, sigma = ink.median(), robust_sigma(ink)
    mask = ink > max(otsu(ink), paper + 4 * sigma)
    if not mask.any():
        return torch.empty(0, 28, 28)
    # regions on a half-size copy: fewer pixels, and a hairline gap stays joined
    half = box_max(mask.float(), 3)[::2, ::2] > 0
    weight = F.avg_pool2d(ink[None, None], 2, ceil_mode=True)[0, 0] - paper
    labels, mass, boxes = regions(half, weight.clamp_min(0))
    if not len(mass):
        return torch.empty(0, 28, 28)
    frames = []
    for ids, box in segment_digits(labels, mass, boxes):
        digit = torch.isin(labels, torch.tensor(ids) + 1)
        digit = F.interpolate(digit[None, None].float(), size=ink.shape, mode="nearest")[0, 0] > 0
        digit &= mask
        if not digit.any():
            continue
        level = ink[digit].quantile(0.75)
        rows, cols = digit.nonzero(as_tuple=True)
        size = max(rows.max() - rows.min(), cols.max() - cols.min()).item() + 1
        if level - paper < max(min_contrast, min_snr * sigma) or size < min_size * max(img.shape):
            continue
        near = box_max(digit.float(), 5) > 0    # the strokes' anti-aliased rim, not other specks
        soft = ((ink - paper) / (level - paper)).clamp(0, 1) * near
        full = [rows.min().item(), cols.min().item(), rows.max().item(), cols.max().item()]
        for t, l, b, r in split_wide(soft, full):
            crop = soft[t:b + 1, l:r + 1]
            if crop.sum() > 0:
                frames.append(to_mnist_frame(crop))
    return torch.stack(frames) if frames else torch.empty(0, 28, 28)


def photo_to_mnist(img, min_contrast=0.08, min_snr=6.0, min_size=0.06):
    """A grey photo (H, W) float (paper and ink on a [0, 1] scale) -> the digits
    it holds, left to right, as MNIST frames (k, 28, 28) (light digit on dark,
    longest side 20 px, centre of mass at MNIST's); k = 0 when there is no
    digit: no ink min_contrast above the paper and min_snr noise sigmas above
    it, or ink smaller than min_size of the frame.

    Steps: find a sheet on a desk and straighten it (find_page; the whole
    frame again when the sheet holds no digit); shrink to
    PHOTO_SIDE; make the ink bright (dark_ink); subtract the paper's light
    (remove_light); blur out the pixel noise (denoise); threshold at Otsu's
    level but at least 4 noise sigmas; group the ink into digits
    (segment_digits, split_wide); scale each one's ink to [0, 1] between the
    paper and its strokes."""
    img = img.float()
    page = find_page(img)
    frames = read_ink(page, min_contrast, min_snr, min_size)
    if not len(frames) and page is not img:   # a sheet with nothing on it: read the whole frame
        frames = read_ink(img, min_contrast, min_snr, min_size)
    return frames


LUMA = (0.299, 0.587, 0.114)   # ITU-R 601, Pillow's "L"


def backdrop(rgb, alpha):
    """The colour (3,) under transparent pixels of rgb (H, W, 3), alpha (H, W, 1):
    the paper's (median opaque colour) when opaque pixels cover most of the
    frame (a photo with clear corners), else white under a dark drawing and
    black under a light one (a digit drawn on transparency stays visible)."""
    if alpha.mean() > 0.5:
        return rgb[alpha[..., 0] > 0.5].median(0).values
    drawn = ((rgb @ torch.tensor(LUMA)) * alpha[..., 0]).sum() / alpha.sum().clamp_min(1e-6)
    return torch.ones(3) if drawn < 0.5 else torch.zeros(3)


def ink_axis(colours):
    """Colours (N, 3) -> weights (3,) summing to 1 in absolute value: the first
    principal axis of the colours, so a green pen on purple paper of the same
    brightness still stands out; on grey images it is (1, 1, 1) / 3, the mean
    of the channels. Luma when the colours do not vary."""
    centred = colours - colours.mean(0)
    values, vectors = torch.linalg.eigh(centred.T @ centred)
    axis = vectors[:, -1]
    if values[-1] <= 0:
        return torch.tensor(LUMA)
    axis = axis if axis.sum() >= 0 else -axis          # brighter stays brighter where it can
    return axis / axis.abs().sum()


def read_photo(path):
    """An image file -> grey (H, W) float, EXIF rotation applied, the longest
    side at most 2 x PHOTO_SIDE. Transparent pixels are laid on a backdrop
    (backdrop), then the colours are projected on the axis along which they
    vary most (ink_axis)."""
    from PIL import Image, ImageOps   # a torchvision dependency; imported here, used only here
    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            img.thumbnail((2 * PHOTO_SIDE, 2 * PHOTO_SIDE))   # resizes RGBA premultiplied
            rgba = torch.from_numpy(np.asarray(img.convert("RGBA"), dtype=np.float32) / 255)
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise P.UserError(f"cannot read {path} as an image: {err}") from None
    rgb, alpha = rgba[..., :3], rgba[..., 3:]
    if alpha.min() < 1:
        rgb = rgb * alpha + backdrop(rgb, alpha) * (1 - alpha)
    return rgb @ ink_axis(rgb.reshape(-1, 3))


def classify_files(model, paths):
    """Image files (PNG, JPEG, ...) -> [(path, digits)]: the digits read left to
    right as a string ("7", "42"), None when the image holds none
    (photo_to_mnist). Read with Pillow (read_photo)."""
    frames = [photo_to_mnist(read_photo(path)) for path in paths]
    found = [f for f in frames if len(f)]
    labels = iter(P.classify(model, torch.cat(found)).tolist() if found else [])
    return [(p, "".join(str(next(labels)) for _ in f) if len(f) else None) for p, f in zip(paths, frames)]


def classify_command(model, paths):
    """A line per file, in order, `path: digits` or `path: no digit found`; a
    file that is not a readable image gets an `error:` line on stderr and the
    others are still read. -> {path: digits}; exits 2 after the last file if
    any could not be read."""
    results, unreadable = {}, 0
    for path in paths:
        try:
            (_, results[path]), = classify_files(model, [path])
        except P.UserError as err:
            print(f"error: {err}", file=sys.stderr)
            unreadable += 1
            continue
        print(f"{path}: {'no digit found' if results[path] is None else results[path]}", flush=True)
    if unreadable:
        sys.exit(2)
    return results


@P.one_line_errors
def main(argv=None):
    parser = P.Parser(prog="photo_reader.py", description=__doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="+", help="image files, any format Pillow reads")
    parser.add_argument("--model-path", default=str(ROOT / "model.pt"),
                        help="MyNet's state_dict, read as the grader reads it (default: model.pt)")
    args = parser.parse_args(argv)
    return classify_command(P.load_model(args.model_path), args.images)


if __name__ == "__main__":
    main()
