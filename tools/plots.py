"""The plotting helpers the tools share: pyplot without a display, a row of
digits as one image, a sheet of such rows, a title and legend above panels.
Nothing here is graded; the graded files plot nothing but the NumPy lab's PNGs."""
from pathlib import Path

import torch


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend (no display needed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def digit_strip(x, gap, columns=None):
    """Digits x (n, 1, 28, 28) side by side in `columns` slots (default n) ->
    (28, columns (28 + gap) - gap), NaN (drawn as the background) in the gaps
    and empty slots: one image for a row of digits."""
    columns = columns or len(x)
    slots = torch.full((columns, 1, 28, 28 + gap), float("nan"))
    slots[:len(x), :, :, :28] = x[:columns]
    return slots.permute(2, 0, 3, 1).reshape(28, -1)[:, :-gap]


def title_legend_save(fig, ax, path, room, legend_at, title):
    """Above the panels, `room` inches for the title (at the top) and, `legend_at`
    inches above the panels, one row of the legend of ax's models; then save
    fig at `path` (its folder made) and close it."""
    plt, height = pyplot(), fig.get_figheight()
    handles, labels = ax.get_legend_handles_labels()
    top = 1 - room / height
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize=10, frameon=False,
               bbox_to_anchor=(0.5, top + legend_at / height))
    fig.suptitle(title, fontsize=11, y=1 - 0.08 / height, va="top")
    fig.tight_layout(rect=(0, 0, 1, top))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def draw_rows(rows, path, title, n=8, gap=6):
    """A sheet: one row per (label, images (m, 1, 28, 28), captions [m], red [m]),
    up to n images per row, `gap` px of paper between them. Each row is one
    strip image with its captions as text: one axes a row, not one an image,
    draws a sheet of a hundred rows in seconds."""
    plt = pyplot()
    fig, axes = plt.subplots(len(rows), 1, figsize=(n * 0.95 + 3.2, len(rows) * 1.15), squeeze=False)
    side = 28 + gap
    for ax, (label, images, captions, red) in zip(axes[:, 0], rows):
        for k in range(min(len(images), n)):
            ax.text(k * side + 13.5, 30, captions[k], ha="center", va="top", fontsize=8,
                    color="red" if red[k] else "black")
        ax.imshow(digit_strip(images, gap, n).numpy(), cmap="gray", vmin=0, vmax=1,
                  interpolation="nearest")
        ax.text(-gap, 13.5, label, ha="right", va="center", fontsize=8)
        ax.axis("off")
    fig.suptitle(title, fontsize=10, y=1 - 0.08 / fig.get_figheight(), va="top")
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
