"""Training histories: what a model was trained with, and its per-epoch record.

`pytorch_cnn.train` writes NAME.json (or --history-path) beside each model:
{"trained_with": the run's own op names, "config": its knobs, "epochs": [...]}.
A fine-tune's config names its --init; what that model was trained with is in
the init's own history, which `trained_with` follows. The unseen suite's
held-out figure is computed from it.
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import pytorch_cnn as P  # noqa: E402


def history_beside(model_path):
    """A model file's history by the project's names: NAME.json or
    NAME_history.json beside NAME.pt; results/pytorch_cnn_history.json for the
    shipped model.pt, pytorch_cnn_history.json beside any other model.pt. -> Path or None."""
    path = Path(model_path)
    if path.resolve() == ROOT / "model.pt":
        return ROOT / "results" / "pytorch_cnn_history.json"
    candidates = [path.with_suffix(".json"), path.with_name(f"{path.stem}_history.json")]
    if path.stem == "model":
        candidates.append(path.with_name("pytorch_cnn_history.json"))
    return next((c for c in candidates if c.is_file()), None)


def read_history(path):
    """A history file -> (per-epoch records, its config dict, the op names of
    that run or None). A plain list of epochs (before the ops were recorded)
    gives ({}, None) for the last two."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise P.UserError(f"cannot read the history {path} ({type(err).__name__}): train again to "
                          f"rewrite it, or name another with --history-path") from None
    if isinstance(data, list):
        return data, {}, None
    return data["epochs"], data.get("config", {}), data.get("trained_with")


def trained_with(model_path, seen=()):
    """The op names a model was trained with: its history's, and those of the
    --init it was fine-tuned from, followed back (an init path relative to the
    checkout, where `make` trains). Without a history, or on a chain that
    loops back on itself, every op of today's training, so nothing is called
    held out that might have been seen. Sorted."""
    everything = P.training_ops(P.Config())
    path = history_beside(model_path)
    if path is None or Path(model_path).resolve() in seen:
        return everything
    _, config, ops = read_history(path)
    if ops is None:
        return everything
    init = config.get("init")
    if init:
        init = Path(init) if Path(init).is_absolute() else ROOT / init
        ops = set(ops) | set(trained_with(init, {*seen, Path(model_path).resolve()}))
    return sorted(ops)
