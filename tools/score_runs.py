"""Score trained models for the run tables of docs/experiments.md: clean,
SUITE mean and worst on the 10,000 test images, and the unseen suite's mean,
worst and held-out mean (tools/unseen_check.py, 2,000 images).

    .venv/bin/python tools/score_runs.py logs/A0.pt logs/B0.pt ... [--json scores.json]

Prints one markdown row per model (in %), with the training time read from the
history file beside it (NAME.json next to NAME.pt) when there is one.
"""
import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
import pytorch_cnn as P  # noqa: E402
import unseen_check as U  # noqa: E402


def score(model_path, test, unseen_n=2000, test_seed=P.Config.test_seed):
    """-> {clean, suite_mean, suite_worst, unseen_mean, unseen_worst, held_out}, fractions."""
    model = P.load_model(model_path)
    images, labels = test
    suite = P.suite_accuracy(model, images, labels, P.SUITE, seed=test_seed)
    suite_mean, (_, suite_worst) = P.summarise(suite)
    unseen = U.unseen_accuracy(model, images[:unseen_n].float() / 255, labels[:unseen_n])
    unseen_mean, (_, unseen_worst) = P.summarise(unseen)
    return dict(clean=suite["clean"], suite_mean=suite_mean, suite_worst=suite_worst,
                cheap_camera=suite["cheap camera"], unseen_mean=unseen_mean,
                unseen_worst=unseen_worst, held_out=U.held_out_mean(unseen))


def training_minutes(model_path):
    """Sum of the epochs' seconds in the history beside model_path, in minutes, or None."""
    history = Path(model_path).with_suffix(".json")
    if not history.exists():
        return None
    return sum(h["seconds"] for h in json.loads(history.read_text())) / 60


COLUMNS = ("clean", "suite_mean", "cheap_camera", "unseen_mean", "unseen_worst", "held_out")


@P.one_line_errors
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="state_dict files of MyNet")
    parser.add_argument("--json", help="also write {model: scores} here")
    args = parser.parse_args(argv)
    for path in args.models:
        if not Path(path).is_file():
            wildcard = "*" in path or "?" in path   # the shell passes a pattern that matched nothing
            raise P.UserError(f"no file matches {path}: name saved MyNet state_dicts, e.g. model.pt "
                              f"build/model.pt (`make train-cnn` writes build/model.pt)" if wildcard
                              else f"{path} not found: name saved MyNet state_dicts")
    test = P.load_mnist(ROOT / "data", train=False)
    print("| model | " + " | ".join(COLUMNS) + " | minutes |")
    print("|---" * (len(COLUMNS) + 2) + "|")
    scores = {}
    for path in args.models:
        scores[path] = s = score(path, test)
        minutes = training_minutes(path)
        cells = [f"{100 * s[c]:.2f}" for c in COLUMNS] + ["-" if minutes is None else f"{minutes:.0f}"]
        print(f"| {path} | " + " | ".join(cells) + " |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(scores, indent=1) + "\n")
    return scores


if __name__ == "__main__":
    main()
