"""Accuracy of model.pt on a suite of degradations that the camera model does not make.

    .venv/bin/python tools/unseen_suite.py [--model-path model.pt] [--n 2000] [--json PATH]

A stand-in for the course's hidden camera: FAMILIES holds 40 families of
degradations that a camera, a scanner or a print can produce and that the
training augmentation (`camera_noise` in pytorch_cnn.py) does not make, or
makes only in a much weaker range: other noise laws (strong Gaussian, grey
impulses, correlated noise, a phone's median denoiser), other blur kernels
(pillbox defocus, curved shake), sharpening halos, ghosting, large geometric
changes (rotation, small and large digits, aspect, perspective tilt, barrel
and pincushion lens distortion, elastic, rolling-shutter wobble, interlacing,
off-centre framing, tight crop), morphology beyond 3 x 3, broken and smudged
ink, 1-bit binarisation and halftone print, extreme vignetting, hard shadows,
big occluders, real JPEG (Pillow) at very low quality, ruled and squared
paper, moire, dead and stuck sensor lines, a coloured ink through a Bayer
mosaic, pixelation, and four combinations of two. Each family is a function
fn(x, s, g) of a strength s in [0, 1] (1: about as bad as a person can still
read, or beyond) and is scored at two strengths, "moderate" and "strong"
(SUITE_STRENGTHS), so 80 entries.

The suite was fixed before any training run of issue 10 and is only printed
(or written with --json): never used to train or to pick a checkpoint. It is
independent of the camera model's code: from pytorch_cnn it uses only
load_model, load_mnist, classify and summarise. Deterministic: the first --n
test images, one generator seeded 123 shared by all entries, applied in the
order of `degradations(g)` (so the numbers are reproducible for a given --n).
For plots, `degrade(family, x, s, g)` or `degradations(g, strength=s)` give
every family at any strength; strength 0 leaves the image (nearly) as it is.

Polarity inversion is left out on purpose: a camera does not swap ink and
paper; that is the reader's job (`classify_files` already handles either
polarity). The degradations work in MNIST polarity (0 paper, 1 ink), so
light falling on the paper is x -> 1 - L (1 - x) (shadows and vignetting make
the paper ink-coloured, not the other way round).
"""
import io
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
import pytorch_cnn as P  # noqa: E402
from histories import trained_with  # noqa: E402,F401  (held_out(trained_with(path)))
import splits  # noqa: E402

SEED = 123
MODERATE, STRONG = "moderate", "strong"

# ----------------------------------------------------------------------------
# Helpers (our own: nothing from the camera model). x is (n, 1, H, W) in [0, 1].
# ----------------------------------------------------------------------------


def rand(g, *shape, lo=0.0, hi=1.0):
    return lo + (hi - lo) * torch.rand(shape, generator=g)


def sign(g, n):
    return torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)


def coords(h=28, w=28):
    """Pixel-centre coordinates in grid_sample's [-1, 1] units: yy (1, H, W), xx (1, H, W)."""
    ys = (torch.arange(h) + 0.5) / h * 2 - 1
    xs = (torch.arange(w) + 0.5) / w * 2 - 1
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    return yy[None], xx[None]


def pixels(h=28, w=28):
    """Pixel coordinates (1, 1, H, 1) rows and (1, 1, 1, W) columns."""
    return torch.arange(h, dtype=torch.float32).view(1, 1, h, 1), \
        torch.arange(w, dtype=torch.float32).view(1, 1, 1, w)


def sample(x, src_x, src_y):
    """out[i, :, r, c] = x[i] at source (src_x, src_y) (n, H, W) in [-1, 1] units;
    bilinear, blank paper (0) outside the frame."""
    grid = torch.stack([src_x, src_y], dim=-1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def shift(x, dy, dx):
    """Shift each image by (dy, dx) pixels, tensors (n,), sub-pixel, zeros brought in."""
    n, _, h, w = x.shape
    yy, xx = coords(h, w)
    return sample(x, xx - (2 * dx / w).view(n, 1, 1), yy - (2 * dy / h).view(n, 1, 1))


def affine(x, a, b, c, d, ty=0.0, tx=0.0):
    """Output pixel p samples source A p + t, A = [[a, b], [c, d]] per image (n,)."""
    n = x.shape[0]
    yy, xx = coords(*x.shape[-2:])
    v = lambda t: torch.as_tensor(t, dtype=torch.float32).expand(n).view(n, 1, 1)
    return sample(x, v(a) * xx + v(b) * yy + v(tx), v(c) * xx + v(d) * yy + v(ty))


def blur_matrix(n_out, sigma, pad=0):
    """(n_out, n_out + 2 pad) matrix of a 1-D Gaussian blur, zero (paper) outside,
    output i centred on input i + pad: blurring is two matrix products (fast)."""
    i = torch.arange(n_out, dtype=torch.float32).view(-1, 1) + pad
    j = torch.arange(n_out + 2 * pad, dtype=torch.float32).view(1, -1)
    k = torch.exp(-(j - i) ** 2 / (2 * sigma ** 2)) * ((j - i).abs() <= math.ceil(3 * sigma))
    return k / torch.exp(-torch.arange(-math.ceil(3 * sigma), math.ceil(3 * sigma) + 1) ** 2
                         / (2 * sigma ** 2)).sum()


def gauss_blur(x, sigma):
    """Separable Gaussian blur of sigma px, zero (paper) padding."""
    if sigma <= 0:
        return x
    h, w = x.shape[-2:]
    return blur_matrix(h, sigma) @ x @ blur_matrix(w, sigma).T


def disk_kernel(radius, supersample=8):
    """Antialiased pillbox (a real defocus PSF), sums to 1."""
    r = max(1, math.ceil(radius))
    t = (torch.arange((2 * r + 1) * supersample) + 0.5) / supersample - r - 0.5
    yy, xx = torch.meshgrid(t, t, indexing="ij")
    inside = ((yy ** 2 + xx ** 2) <= max(radius, 0.5) ** 2).float()
    k = F.avg_pool2d(inside[None, None], supersample)[0, 0]
    return k / k.sum()


def conv_same(x, k):
    r = k.shape[-1] // 2
    return F.conv2d(F.pad(x, (r,) * 4), k.view(1, 1, *k.shape))


def morph(x, radius, dilate):
    """Grey dilation (max) or erosion (min) by a disk of `radius` px: the integer
    offsets inside the disk plus 16 sub-pixel ones on its rim (bilinear)."""
    if radius <= 0:
        return x
    r = math.floor(radius)
    offsets = [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1)
               if dy * dy + dx * dx <= radius * radius]
    out = x.clone()
    pick = torch.maximum if dilate else torch.minimum
    padded = F.pad(x, (r,) * 4)
    h, w = x.shape[-2:]
    for dy, dx in offsets:
        out = pick(out, padded[..., r + dy:r + dy + h, r + dx:r + dx + w])
    big = F.pad(x, (r + 1,) * 4)
    at = lambda iy, ix: big[..., r + 1 + iy:r + 1 + iy + h, r + 1 + ix:r + 1 + ix + w]
    for k in range(16):
        a = 2 * math.pi * k / 16
        dy, dx = radius * math.sin(a), radius * math.cos(a)
        y0, x0 = math.floor(dy), math.floor(dx)
        fy, fx = dy - y0, dx - x0
        rim = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) \
            + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1))
        out = pick(out, rim)
    return out


def smooth_noise(g, n, sigma, h=28, w=28, channels=1):
    """White noise blurred by a Gaussian of `sigma` px, rescaled to unit std per image."""
    pad = math.ceil(3 * sigma)
    z = torch.randn((n, channels, h + 2 * pad, w + 2 * pad), generator=g)
    z = blur_matrix(h, sigma, pad) @ z @ blur_matrix(w, sigma, pad).T
    return (z - z.mean(dim=(2, 3), keepdim=True)) / z.std(dim=(2, 3), keepdim=True)


def light(x, level):
    """Paper lit at `level` (1 normal, 0 black): the photo's intensity is scaled,
    in MNIST polarity x -> 1 - level (1 - x)."""
    return 1 - level * (1 - x)


def pillow_jpeg(x, quality):
    """Real JPEG: Pillow's libjpeg, greyscale baseline, encoded and decoded at an
    integer quality (torchvision's encode_jpeg gives the same bytes, but its image
    I/O is deprecated since torchvision 0.29). About 0.4 ms per image."""
    arr = (x.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    out = np.empty(arr.shape, dtype=np.uint8)
    for i in range(len(arr)):
        buf = io.BytesIO()
        Image.fromarray(arr[i, 0]).save(buf, format="JPEG", quality=int(quality))
        out[i, 0] = np.asarray(Image.open(buf))
    return torch.from_numpy(out).float() / 255


def jpeg_quality(s):
    """Strength -> JPEG quality: 95 at s = 0, 9 at 0.6, 4 at 0.85, 2 at 1."""
    return max(1, round(95 * (2 / 95) ** s))


def median3(x):
    n, c, h, w = x.shape
    patches = F.unfold(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3)    # (n, 9, H W)
    return patches.median(dim=1).values.view(n, c, h, w)


# ----------------------------------------------------------------------------
# The families: fn(x, s, g) with s a float in [0, 1]. The random draws (positions,
# angles, signs) never depend on s, so one seed gives the same draws at every
# strength and a plot of accuracy against strength is smooth.
# ----------------------------------------------------------------------------

def gaussian_noise(x, s, g):
    """Additive Gaussian noise, sigma = s (camera model: read noise <= 0.6)."""
    return x + s * torch.randn(x.shape, generator=g)


def grey_impulses(x, s, g):
    """60 s % of the pixels replaced by random greys (camera: 0/1 pixels, <= 25 %)."""
    hit = torch.rand(x.shape, generator=g) < 0.6 * s
    return torch.where(hit, torch.rand(x.shape, generator=g), x)


def correlated_noise(x, s, g):
    """Blotchy noise of a phone's demosaic and noise reduction: Gaussian noise
    correlated over 1.2 px, std 0.5 s (camera: white noise only)."""
    return x + 0.5 * s * smooth_noise(g, x.shape[0], 1.2)


def phone_denoise(x, s, g):
    """Gaussian noise of sigma 0.45 s, then a 3 x 3 median filter (a phone's
    noise reduction: blotches and eaten stroke ends)."""
    return median3((x + 0.45 * s * torch.randn(x.shape, generator=g)).clamp(0, 1))


def disk_blur(x, s, g):
    """Defocus with a real pillbox PSF of radius 4.5 s px (camera: Gaussian)."""
    return x if s <= 0 else conv_same(x, disk_kernel(4.5 * s))


def shake_blur(x, s, g):
    """Hand shake along a curved path of 12 s px (camera: straight, <= 9 px)."""
    n, _, h, w = x.shape
    steps, size = 25, 15
    theta0 = rand(g, n, 1, lo=0, hi=2 * math.pi)
    turn = rand(g, n, 1, lo=-2.0, hi=2.0)                 # total turn of the path, radians
    t = torch.linspace(-0.5, 0.5, steps).view(1, -1)
    angle = theta0 + turn * t
    ds = 12 * s / (steps - 1)
    py = torch.cumsum(torch.sin(angle) * ds, dim=1)
    px = torch.cumsum(torch.cos(angle) * ds, dim=1)
    py, px = py - py.mean(dim=1, keepdim=True), px - px.mean(dim=1, keepdim=True)
    r = torch.arange(size, dtype=torch.float32) - size // 2
    ky, kx = r.view(1, 1, -1, 1), r.view(1, 1, 1, -1)
    k = (1 - (ky - py[..., None, None]).abs()).clamp_min(0) * \
        (1 - (kx - px[..., None, None]).abs()).clamp_min(0)           # bilinear splats
    k = k.sum(dim=1)
    k = k / k.sum(dim=(1, 2), keepdim=True)                          # (n, size, size)
    padded = F.pad(x.transpose(0, 1), (size // 2,) * 4)
    return F.conv2d(padded, k.unsqueeze(1), groups=n).transpose(0, 1)


def unsharp_mask(x, s, g):
    """Over-sharpening halos: unsharp mask (radius 1.5 px) of amount 6 s on a grey
    paper (0.3 s), so the halos show as dark rings and clipped cores."""
    y = x * (1 - 0.4 * s) + 0.3 * s
    return y + 6 * s * (y - gauss_blur(y, 1.5))


def ghosting(x, s, g):
    """Double exposure or a reflection in glass: a copy of weight 0.45 s shifted
    by 6 s px in a random direction."""
    n = x.shape[0]
    a = rand(g, n, lo=0, hi=2 * math.pi)
    ghost = shift(x, 6 * s * torch.sin(a), 6 * s * torch.cos(a))
    return (1 - 0.45 * s) * x + 0.45 * s * ghost


def rotation(x, s, g):
    """Rotation by 60 s degrees, random sign (camera: <= 25)."""
    a = sign(g, x.shape[0]) * math.radians(60 * s)
    return affine(x, torch.cos(a), -torch.sin(a), torch.sin(a), torch.cos(a))


def small_digit(x, s, g):
    """The digit at scale 1 - 0.6 s, centred (camera: >= 0.8)."""
    k = 1 / (1 - 0.6 * s)
    return affine(x, k, 0, 0, k)


def large_digit(x, s, g):
    """Zoomed in to scale 1 + 0.8 s around a point up to 2 px off centre, the
    digit's ends cut by the frame (camera: <= 1.2)."""
    n = x.shape[0]
    k = 1 / (1 + 0.8 * s)
    ty, tx = rand(g, n, lo=-1, hi=1) * 2 / 14, rand(g, n, lo=-1, hi=1) * 2 / 14
    return affine(x, k, 0, 0, k, ty * s, tx * s)


def aspect(x, s, g):
    """Squeezed to 1 - 0.6 s of its width or of its height (camera: isotropic)."""
    horizontal = torch.rand(x.shape[0], generator=g) < 0.5
    k = 1 / (1 - 0.6 * s)
    return affine(x, torch.where(horizontal, k, 1.0), 0, 0, torch.where(horizontal, 1.0, k))


def perspective(x, s, g):
    """Perspective tilt (keystone): homography with tilt 0.8 s along a random
    direction, the near side magnified and the far side shrunk (camera: affine)."""
    n = x.shape[0]
    phi = rand(g, n, lo=0, hi=2 * math.pi).view(n, 1, 1)
    yy, xx = coords(*x.shape[-2:])
    denom = 1 + 0.8 * s * (torch.cos(phi) * xx + torch.sin(phi) * yy)
    return sample(x, xx / denom, yy / denom)


def radial(x, k, g):
    """Radial lens distortion around a centre up to 0.3 off the middle: source
    radius = r (1 + k r^2); k > 0 barrel, k < 0 pincushion."""
    n = x.shape[0]
    cy, cx = rand(g, n, 1, 1, lo=-0.3, hi=0.3), rand(g, n, 1, 1, lo=-0.3, hi=0.3)
    yy, xx = coords(*x.shape[-2:])
    dy, dx = yy - cy, xx - cx
    f = 1 + k * (dy ** 2 + dx ** 2)
    return sample(x, cx + dx * f, cy + dy * f)


def barrel(x, s, g):
    """Barrel distortion of a wide-angle lens, k = 1.2 s (camera: <= 2 px smooth warp)."""
    return radial(x, 1.2 * s, g)


def pincushion(x, s, g):
    """Pincushion distortion of a tele or phone lens, k = -0.45 s."""
    return radial(x, -0.45 * s, g)


def elastic(x, s, g):
    """Elastic distortion (bent paper, a shaky hand): a displacement field
    smoothed over 4 px, std 2 s px (camera: 4 x 4 cells, <= 2 px)."""
    n, _, h, w = x.shape
    field = smooth_noise(g, n, 4.0, h, w, channels=2) * 2.0 * s
    yy, xx = coords(h, w)
    return sample(x, xx + field[:, 0] * 2 / w, yy + field[:, 1] * 2 / h)


def wobble(x, s, g):
    """Rolling shutter with a vibrating camera: rows shifted by 2.5 s sin(2 pi y / 12 + phase) px."""
    n, _, h, w = x.shape
    phase = rand(g, n, 1, 1, lo=0, hi=2 * math.pi)
    yy, xx = coords(h, w)
    rows = torch.arange(h, dtype=torch.float32).view(1, h, 1)
    dx = 2.5 * s * torch.sin(2 * math.pi * rows / 12 + phase)
    return sample(x, xx - dx * 2 / w, yy.expand(n, h, w))


def interlacing(x, s, g):
    """Interlaced video: odd rows shifted by 5 s px against even rows (random side)."""
    n, _, h, w = x.shape
    d = sign(g, n) * 5 * s
    moved = shift(x, torch.zeros(n), d)
    odd = (torch.arange(h) % 2 == 1).view(1, 1, h, 1)
    return torch.where(odd, moved, x)


def off_centre(x, s, g):
    """Badly framed: the digit shifted by 9 s px towards a random side or corner,
    cut by the frame (camera: <= 4.5 px)."""
    n = x.shape[0]
    a = torch.randint(0, 8, (n,), generator=g).float() * math.pi / 4
    return shift(x, 9 * s * torch.sin(a), 9 * s * torch.cos(a))


def tight_crop(x, s, g):
    """Cropped too tightly: a band of 14 s px on a random side becomes paper."""
    n, _, h, w = x.shape
    side = torch.randint(0, 4, (n, 1, 1, 1), generator=g)
    r, c = pixels(h, w)
    band = 14 * s
    cut = ((side == 0) & (r < band)) | ((side == 1) & (r >= h - band)) | \
          ((side == 2) & (c < band)) | ((side == 3) & (c >= w - band))
    return torch.where(cut, torch.zeros(()), x)


def thick_strokes(x, s, g):
    """Bleeding ink or a felt pen: grey dilation by a disk of 3 s px (camera: 3 x 3)."""
    return morph(x, 3 * s, dilate=True)


def thin_strokes(x, s, g):
    """A fine pen or an over-exposed scan: grey erosion by a disk of 1.8 s px
    (camera: 3 x 3 minimum)."""
    return morph(x, 1.8 * s, dilate=False)


def broken_strokes(x, s, g):
    """A dry pen or worn print: blotchy gaps (1 px blobs) over 60 s % of the ink."""
    field = smooth_noise(g, x.shape[0], 1.0)
    cut = torch.special.ndtri(torch.tensor(max(min(0.6 * s, 0.999), 1e-6)))
    return x * (field > cut).float() if s > 0 else x


def smudge(x, s, g):
    """Ink smeared by a hand: within an elliptic patch around a random point the
    strokes are dragged by up to 14 s px in a random direction, plus a grey film."""
    n, _, h, w = x.shape
    a = rand(g, n, lo=0, hi=2 * math.pi)
    cy, cx = rand(g, n, 1, 1, 1, lo=8, hi=20), rand(g, n, 1, 1, 1, lo=8, hi=20)
    ry, rx = rand(g, n, 1, 1, 1, lo=6, hi=10), rand(g, n, 1, 1, 1, lo=6, hi=10)
    r, c = pixels(h, w)
    mask = torch.exp(-(((r - cy) / ry) ** 2 + ((c - cx) / rx) ** 2) ** 2)
    smear, total = torch.zeros_like(x), 0.0
    for k in range(1, 9):
        weight = 1 - k / 9
        smear = smear + weight * shift(x, 14 * s * k / 8 * torch.sin(a), 14 * s * k / 8 * torch.cos(a))
        total += weight
    smeared = torch.maximum(x, 0.8 * smear / total) + 0.2 * s
    return x + s * mask * (smeared - x)


def binarise(x, s, g):
    """A scanner's 1-bit mode with a high threshold: blur of 0.8 px, then
    threshold at 0.5 + 0.35 s of the image's brightest value (thin, broken
    strokes; camera: rounding to 2 levels only)."""
    y = gauss_blur(x, 0.8)
    return (y > (0.5 + 0.35 * s) * y.amax(dim=(2, 3), keepdim=True)).float()


def noisy_binarise(x, s, g):
    """1-bit binarisation (threshold 0.5) of a noisy capture, noise sigma 0.5 s."""
    return (x + 0.5 * s * torch.randn(x.shape, generator=g) > 0.5).float()


def halftone(x, s, g):
    """Printed with a clustered-dot halftone screen at 45 degrees, cell 1.5 + 4.5 s px."""
    n, _, h, w = x.shape
    period = 1.5 + 4.5 * s
    r, c = pixels(h, w)
    off = rand(g, n, 2, lo=0, hi=period)
    u = (r + c) / math.sqrt(2) + off[:, 0].view(n, 1, 1, 1)
    v = (r - c) / math.sqrt(2) + off[:, 1].view(n, 1, 1, 1)
    screen = 0.5 + 0.25 * (torch.cos(2 * math.pi * u / period) + torch.cos(2 * math.pi * v / period))
    return (gauss_blur(x, 0.5) > screen).float()


def vignetting(x, s, g):
    """Extreme vignetting of a cheap lens: light 1 - 0.9 s r^2 around a centre up
    to 0.3 off the middle, r = 1 at the edges' middles: the dark corners turn
    ink-coloured (camera: 1 - 0.9 r^2 / 4.5 at most, darkening the ink only)."""
    n = x.shape[0]
    cy, cx = rand(g, n, 1, 1, 1, lo=-0.3, hi=0.3), rand(g, n, 1, 1, 1, lo=-0.3, hi=0.3)
    yy, xx = coords(*x.shape[-2:])
    r2 = (yy[None] - cy) ** 2 + (xx[None] - cx) ** 2
    return light(x, (1 - 0.9 * s * r2).clamp_min(0))


def hard_shadow(x, s, g):
    """The hard-edged shadow of the phone over half the page: light 1 - 0.7 s
    beyond a random line through the middle 12 x 12 px (camera: smooth light only)."""
    n, _, h, w = x.shape
    a = rand(g, n, 1, 1, 1, lo=0, hi=2 * math.pi)
    py, px = rand(g, n, 1, 1, 1, lo=8, hi=20), rand(g, n, 1, 1, 1, lo=8, hi=20)
    r, c = pixels(h, w)
    side = torch.sigmoid(((r - py) * torch.sin(a) + (c - px) * torch.cos(a)) / 0.4)
    return light(x, 1 - 0.7 * s * side)


def big_occluder(x, s, g):
    """A fingertip over the digit: a soft grey disk of radius 12 s px whose centre
    lies 9 px from the middle in a random direction (camera: rectangles <= 12 px)."""
    n, _, h, w = x.shape
    a = rand(g, n, 1, 1, 1, lo=0, hi=2 * math.pi)
    grey = rand(g, n, 1, 1, 1, lo=0.2, hi=0.6)
    cy, cx = 13.5 + 9 * torch.sin(a), 13.5 + 9 * torch.cos(a)
    r, c = pixels(h, w)
    dist = torch.sqrt((r - cy) ** 2 + (c - cx) ** 2)
    inside = torch.sigmoid((12 * s - dist) / 0.7) * (s > 0)
    return x + inside * (grey - x)


def real_jpeg(x, s, g):
    """Real JPEG (Pillow) at quality 95 (2/95)^s: 9 at s = 0.6, 4 at 0.85
    (camera: its own DCT rounding, to quality 3)."""
    return pillow_jpeg(x, jpeg_quality(s))


def lines(x, s, g, period, both, strength):
    """Pre-printed paper lines every `period` px (random phase, tilt <= 4 degrees),
    1 px wide, intensity strength * s."""
    n, _, h, w = x.shape
    r, c = pixels(h, w)
    tilt = rand(g, n, 1, 1, 1, lo=-1, hi=1) * math.radians(4)
    phase = rand(g, n, 2, 1, 1, lo=0, hi=period)
    u = r * torch.cos(tilt) - c * torch.sin(tilt) + phase[:, :1]
    d = torch.remainder(u, period)
    ink = torch.exp(-torch.minimum(d, period - d) ** 2 / 0.5)
    if both:
        v = c * torch.cos(tilt) + r * torch.sin(tilt) + phase[:, 1:]
        e = torch.remainder(v, period)
        ink = torch.maximum(ink, torch.exp(-torch.minimum(e, period - e) ** 2 / 0.5))
    return torch.maximum(x, strength * s * ink)


def ruled_paper(x, s, g):
    """Notebook paper: ruled lines every 7 px, intensity 0.9 s (camera: <= 3 scratches)."""
    return lines(x, s, g, 7.0, False, 0.9)


def grid_paper(x, s, g):
    """Squared paper: a grid every 5 px, intensity 0.7 s."""
    return lines(x, s, g, 5.0, True, 0.7)


def moire(x, s, g):
    """Moire of a photographed screen or print: a fine grating (0.25 .. 0.45
    cycles per px, random angle) of amplitude 0.8 s."""
    n, _, h, w = x.shape
    f = rand(g, n, 1, 1, 1, lo=0.25, hi=0.45)
    a = rand(g, n, 1, 1, 1, lo=0, hi=math.pi)
    phase = rand(g, n, 1, 1, 1, lo=0, hi=2 * math.pi)
    r, c = pixels(h, w)
    wave = 0.5 + 0.5 * torch.cos(2 * math.pi * f * (r * torch.sin(a) + c * torch.cos(a)) + phase)
    return x + 0.8 * s * wave


def dead_lines(x, s, g):
    """Dead (0) or stuck (1) whole rows or columns of a sensor or a scanner bar:
    round(6 s) of them at random places."""
    n, _, h, w = x.shape
    k = 6
    active = (torch.arange(k).view(1, k, 1, 1) < round(k * s)).float()
    is_row = torch.rand((n, k, 1, 1), generator=g) < 0.5
    where = torch.randint(4, 24, (n, k, 1, 1), generator=g).float()
    value = (torch.rand((n, k, 1, 1), generator=g) < 0.5).float()
    r, c = pixels(h, w)
    hit = torch.where(is_row, r == where, c == where).float() * active     # (n, k, H, W)
    covered = hit.amax(dim=1, keepdim=True)
    val = (hit * value).amax(dim=1, keepdim=True)
    return torch.where(covered > 0, val, x)


def bayer_ink(x, s, g):
    """Coloured ink (random hue, saturation s) seen by a Bayer RGGB sensor, bilinear
    demosaic, then grey = 0.299 R + 0.587 G + 0.114 B: weak contrast in one
    channel, zipper artefacts along the strokes (camera: grey only)."""
    n, _, h, w = x.shape
    hue = rand(g, n, 1, lo=0, hi=2 * math.pi)
    base = torch.cat([torch.cos(hue - k * 2 * math.pi / 3) for k in range(3)], dim=1)   # (n, 3)
    absorb = (1 - s * (0.5 - 0.5 * base) * 1.8).clamp(0.02, 1).view(n, 3, 1, 1)   # per channel
    rgb = x * absorb                                        # ink strength per channel
    r, c = pixels(h, w)
    masks = torch.stack([((r % 2 == 0) & (c % 2 == 0)), ((r + c) % 2 == 1),
                         ((r % 2 == 1) & (c % 2 == 1))]).float().view(1, 3, h, w)
    mosaic = rgb * masks
    k = torch.tensor([[0.25, 0.5, 0.25], [0.5, 1, 0.5], [0.25, 0.5, 0.25]])
    kg = torch.tensor([[0, 0.25, 0], [0.25, 1, 0.25], [0, 0.25, 0]])
    padded = F.pad(mosaic, (1, 1, 1, 1), mode="reflect")
    kernels = torch.stack([k, kg, k]).view(1, 3, 3, 3, 1, 1)          # a 3 x 3 sum of slices
    demosaic = sum(kernels[:, :, i, j] * padded[..., i:i + h, j:j + w]
                   for i in range(3) for j in range(3))
    grey = (demosaic * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
    return grey


def pixelate(x, s, g):
    """Mosaic of round(28 (1/7)^s) blocks across (7 at s = 0.72, 6 at 0.8; camera: 7 at the
    very strongest, blurred or blocky)."""
    m = max(1, round(28 * (1 / 7) ** s))
    if m >= 28:
        return x
    return F.interpolate(F.adaptive_avg_pool2d(x, m), size=x.shape[-2:], mode="nearest")


def combine(f1, c1, f2, c2):
    """Two families at once: f2(f1(x, c1 s), c2 s), clipped in between."""
    def fn(x, s, g):
        return f2(f1(x, c1 * s, g).clamp(0, 1), c2 * s, g)
    fn.__doc__ = f"{f1.__name__} at {c1} s, then {f2.__name__} at {c2} s."
    return fn


# family -> (fn(x, s, g), (moderate strength, strong strength))
FAMILIES = {
    "gaussian noise": (gaussian_noise, (0.5, 0.75)),
    "grey impulses": (grey_impulses, (0.5, 0.75)),
    "correlated noise": (correlated_noise, (0.5, 0.8)),
    "phone denoise": (phone_denoise, (0.6, 1.0)),
    "disk blur": (disk_blur, (0.6, 0.85)),
    "shake blur": (shake_blur, (0.6, 1.0)),
    "unsharp mask": (unsharp_mask, (0.5, 1.0)),
    "ghosting": (ghosting, (0.6, 1.0)),
    "rotation": (rotation, (0.58, 0.75)),
    "small digit": (small_digit, (0.6, 0.8)),
    "large digit": (large_digit, (0.5, 0.75)),
    "aspect": (aspect, (0.6, 0.85)),
    "perspective": (perspective, (0.6, 1.0)),
    "barrel": (barrel, (0.5, 1.0)),
    "pincushion": (pincushion, (0.6, 0.9)),
    "elastic": (elastic, (0.6, 1.0)),
    "wobble": (wobble, (0.5, 1.0)),
    "interlacing": (interlacing, (0.4, 0.8)),
    "off-centre": (off_centre, (0.6, 0.9)),
    "tight crop": (tight_crop, (0.6, 0.85)),
    "thick strokes": (thick_strokes, (0.65, 0.95)),
    "thin strokes": (thin_strokes, (0.6, 0.85)),
    "broken strokes": (broken_strokes, (0.5, 0.8)),
    "smudge": (smudge, (0.6, 1.0)),
    "binarise": (binarise, (0.5, 1.0)),
    "noisy binarise": (noisy_binarise, (0.5, 0.8)),
    "halftone": (halftone, (0.5, 1.0)),
    "vignetting": (vignetting, (0.6, 1.0)),
    "hard shadow": (hard_shadow, (0.6, 1.0)),
    "big occluder": (big_occluder, (0.6, 0.85)),
    "real jpeg": (real_jpeg, (0.6, 0.85)),
    "ruled paper": (ruled_paper, (0.5, 1.0)),
    "grid paper": (grid_paper, (0.5, 1.0)),
    "moire": (moire, (0.5, 1.0)),
    "dead lines": (dead_lines, (0.5, 1.0)),
    "bayer ink": (bayer_ink, (0.6, 1.0)),
    "pixelate": (pixelate, (0.72, 0.8)),
    "blur + noise": (combine(disk_blur, 0.6, gaussian_noise, 0.5), (0.6, 1.0)),
    "tilt + shadow": (combine(perspective, 0.7, hard_shadow, 0.7), (0.6, 1.0)),
    "rotation + thick": (combine(rotation, 0.5, thick_strokes, 0.6), (0.6, 1.0)),
}
SUITE_STRENGTHS = {family: dict(zip((MODERATE, STRONG), strengths))
                   for family, (_, strengths) in FAMILIES.items()}


def degrade(family, x, s, g):
    """One family at strength s (a float in [0, 1]) on x (n, 1, 28, 28) in [0, 1],
    clipped back to [0, 1]."""
    return FAMILIES[family][0](x, float(s), g).clamp(0, 1)


def entry_name(family, level):
    return f"{family} ({level})"


def degradations(g, strength=None):
    """{name: x -> degraded x} drawing from generator g, in the suite's order.

    strength None: the suite, every family at its moderate and its strong
    strength ("gaussian noise (moderate)", ...). A float in [0, 1]: one entry
    per family at that strength, named by the family (for plots)."""
    if strength is not None:
        return {family: (lambda x, f=family: degrade(f, x, strength, g)) for family in FAMILIES}
    return {entry_name(family, level): (lambda x, f=family, s=s: degrade(f, x, s, g))
            for family, levels in SUITE_STRENGTHS.items() for level, s in levels.items()}


# Family -> the training ops (names in pytorch_cnn's DEGRADATIONS, PRIMITIVES
# and LIGHT) that make the same kind of change, in another form or range. A
# model trained with any of them has seen the family's kind: `held_out`
# leaves the family out of that model's held-out mean. tests/test_unseen_suite.py
# fails when a family's output comes close to an undeclared op's on the same images.
COUNTERPARTS = {
    "gaussian noise": ("read_noise",),
    "grey impulses": ("salt_pepper",),
    "correlated noise": (),
    "phone denoise": (),
    "disk blur": ("defocus", "motion_blur", "random_filter", "low_resolution"),
    "shake blur": ("motion_blur", "defocus", "random_filter"),
    "unsharp mask": ("sharpen",),
    "ghosting": (),
    "rotation": ("framing",),
    "small digit": ("framing",),
    "large digit": ("framing",),
    "aspect": (),
    "perspective": (),
    "barrel": ("lens_distortion",),
    "pincushion": ("lens_distortion",),
    "elastic": ("warp", "paper_warp"),
    "wobble": ("paper_warp",),
    "interlacing": (),
    "off-centre": ("framing",),
    "tight crop": ("framing",),
    "thick strokes": ("stroke_width",),
    "thin strokes": ("stroke_width",),
    "broken strokes": ("ink_loss",),
    "smudge": ("smudge",),
    "binarise": ("threshold",),
    "noisy binarise": ("threshold",),
    "halftone": (),
    "vignetting": ("illumination",),
    "hard shadow": ("light_shapes",),
    "big occluder": ("occlusion", "glare"),
    "real jpeg": ("jpeg",),
    "ruled paper": ("periodic", "scratches"),
    "grid paper": ("periodic", "scratches"),
    "moire": ("periodic",),
    "dead lines": ("scratches", "fixed_pattern"),
    "bayer ink": (),
    "pixelate": ("low_resolution", "coarse_pixels", "defocus", "random_filter"),
    "blur + noise": ("defocus", "read_noise", "random_filter"),
    "tilt + shadow": ("light_shapes",),
    "rotation + thick": ("framing", "stroke_width"),
}


def family_of(entry):
    """'elastic (strong)' -> 'elastic'."""
    return entry.rsplit(" (", 1)[0]


def held_out(ops):
    """The families none of whose COUNTERPARTS is in `ops` (the op names a model
    was trained with: `trained_with`), in suite order."""
    seen = set(ops)
    return [f for f in FAMILIES if not seen & set(COUNTERPARTS[f])]


def unseen_correct(model, x, y, seed=SEED):
    """{entry name: per-image correctness (n,) bool} of model on x (n, 1, 28, 28)
    in [0, 1], y (n,), every entry drawing in turn from one generator seeded `seed`."""
    return {name: P.classify(model, fn(x)) == y
            for name, fn in degradations(torch.Generator().manual_seed(seed)).items()}


def unseen_accuracy(model, x, y, seed=SEED):
    """{entry name: accuracy} of `unseen_correct`."""
    return {name: c.float().mean().item() for name, c in unseen_correct(model, x, y, seed).items()}


def held_out_mean(accuracy, families):
    """Mean accuracy over the entries of `families` (`held_out`); None when there are none."""
    kept = [a for name, a in accuracy.items() if family_of(name) in families]
    return sum(kept) / len(kept) if kept else None


@P.one_line_errors
def main(argv=None):
    args = splits.suite_parser(__doc__).parse_args(argv)
    start = time.perf_counter()
    model = P.load_model(args.model_path)
    x, y = splits.images(args.split, args.n)
    clean = P.classify(model, x) == y
    print(f"{'clean (reference, not in the mean)':32s} {splits.interval(clean)}")
    correct = unseen_correct(model, x, y)
    for name, c in correct.items():
        print(f"{name:32s} {splits.interval(c)}")
    accuracy = {name: c.float().mean().item() for name, c in correct.items()}
    mean, low, high = splits.mean_interval(torch.stack(list(correct.values())))
    worst_name, worst = P.summarise(accuracy)[1]
    families = held_out(trained_with(args.model_path))
    held = held_out_mean(accuracy, families)
    print(f"{'mean':32s} {100 * mean:6.2f} % [{100 * low:.2f}, {100 * high:.2f}]   "
          f"worst {worst:.2%} ({worst_name})")
    print(f"{'held-out mean':32s} " + ("-" if held is None else f"{held:7.2%}")
          + f"   ({len(families)} families without a counterpart in this model's training)")
    print(f"{len(FAMILIES)} families x 2 strengths on {len(x)} {args.split} images in "
          f"{time.perf_counter() - start:.1f} s ({torch.get_num_threads()} threads)")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"n": len(x), "split": args.split, "seed": SEED, "clean": clean.float().mean().item(),
             "accuracy": accuracy, "mean": mean, "held_out_families": families, "held_out_mean": held,
             "worst": {"name": worst_name, "accuracy": worst}}, indent=1) + "\n")
    return accuracy


if __name__ == "__main__":
    main()
