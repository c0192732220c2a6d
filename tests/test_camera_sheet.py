"""Tests of tools/camera_sheet.py: a picture of every op of the camera model."""
import pytorch_cnn as P
import camera_sheet
from conftest import digits


def test_every_degradation_primitive_and_light_op_has_a_row_at_three_strengths():
    rows = camera_sheet.rows(digits(camera_sheet.DIGITS))
    names = [label.split(": ")[1] for label, *_ in rows]
    assert names == [*P.DEGRADATIONS, *P.PRIMITIVES, *[n for n in P.LIGHT if n not in P.PRIMITIVES]]
    for label, images, captions, red in rows:
        assert images.shape == (camera_sheet.DIGITS * len(camera_sheet.STRENGTHS), 1, 28, 28)
        assert 0 <= images.min() and images.max() <= 1 and len(captions) == len(images) and not any(red)
