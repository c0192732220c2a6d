"""A picture of the camera model: every degradation, primitive and light op
of pytorch_cnn.py at three strengths on the same digits (like the one picture
per transform of the kornia and albumentations documentation).

    .venv/bin/python tools/camera_sheet.py [--out results/camera_model.png]

One row per op, named as in DEGRADATIONS, PRIMITIVES and LIGHT; in each row
the same four test digits at strength 0.2, 0.6 and 1.0 (1: about as bad as a
person can still read). Each op draws from a generator seeded by its row, so
the sheet is the same on every run.
"""
import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
import pytorch_cnn as P  # noqa: E402
import splits  # noqa: E402
from plots import draw_rows  # noqa: E402

STRENGTHS = (0.2, 0.6, 1.0)
DIGITS = 4


def ops():
    """[(row label, op)]: the camera's degradations, then the primitives, then
    the light ops that are not primitives too."""
    rows = [(f"camera: {name}", op) for name, op in P.DEGRADATIONS.items()]
    rows += [(f"primitive: {name}", op) for name, op in P.PRIMITIVES.items()]
    return rows + [(f"light: {name}", op) for name, op in P.LIGHT.items() if name not in P.PRIMITIVES]


def rows(x):
    """draw_rows' rows: each op on x (DIGITS, 1, 28, 28) at every strength."""
    out = []
    for i, (label, op) in enumerate(ops()):
        images = torch.cat([op(x, torch.full((len(x),), s), torch.Generator().manual_seed(i)).clamp(0, 1)
                            for s in STRENGTHS])
        captions = [f"s = {s}" if k == 0 else "" for s in STRENGTHS for k in range(len(x))]
        out.append((label, images, captions, [False] * len(images)))
    return out


def main(argv=None):
    parser = P.Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "results" / "camera_model.png"),
                        help="where the sheet goes (default: results/camera_model.png)")
    args = parser.parse_args(argv)
    x, _ = splits.images("test", DIGITS)
    sheet = rows(x)
    draw_rows(sheet, args.out, f"The camera model of pytorch_cnn.py: {len(sheet)} ops, each at strength "
              f"{', '.join(map(str, STRENGTHS))} on the same {DIGITS} test digits", n=DIGITS * len(STRENGTHS))
    print(f"wrote {args.out} ({len(sheet)} ops)")
    return [label for label, *_ in sheet]


if __name__ == "__main__":
    main()
