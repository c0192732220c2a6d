"""Errors a user can fix are one line naming the problem and the fix; each
command's --help shows what it takes; `make` builds into build/ and leaves the
committed files alone."""
import gc
import io
import shutil
import subprocess

import numpy as np
import pytest
import torch

import numpy_nn
import pytorch_cnn as P
from conftest import ROOT, assert_one_error_line, run_main, saved


# -------------------- tools: a missing model is one line

def test_score_runs_on_a_pattern_that_matched_nothing(tmp_path, monkeypatch, capsys):
    import score_runs
    monkeypatch.chdir(tmp_path)   # a clone has no logs/
    assert_one_error_line(*run_main(score_runs.main, ["logs/*.pt"], capsys), "no file matches logs/*.pt",
                          "make train-cnn")


def test_unseen_suite_on_a_missing_model(capsys):
    import unseen_suite
    assert_one_error_line(*run_main(unseen_suite.main, ["--model", "/nope"], capsys),
                          "/nope not found", "git checkout -- model.pt")


def test_bench_cnn_on_a_missing_model_it_was_told_to_time(capsys):
    import bench_cnn
    assert_one_error_line(*run_main(bench_cnn.main, ["--model-path", "/nope.pt"], capsys),
                          "/nope.pt not found")


def test_photo_bench_on_a_missing_model_fails_before_drawing(capsys):
    import photo_bench
    status, err = run_main(photo_bench.main, ["--model-path", "/nope.pt"], capsys)
    assert_one_error_line(status, err, "/nope.pt not found")     # one line: no "drawing ..." before it


@pytest.mark.parametrize("tool", ["check_submission", "compat", "make_zip"])
def test_a_check_given_a_missing_input_says_so_in_one_line(tool, tmp_path, capsys):
    """Exit 2, the caller's mistake, apart from 1, a check that failed."""
    module = __import__(tool)
    nope = str(tmp_path / "nope")
    argv = {"check_submission": [nope, "--data", str(tmp_path)], "compat": ["--source", nope],
            "make_zip": [str(tmp_path / "out.zip"), "--root", nope]}[tool]
    assert module.main(argv) == 2
    captured = capsys.readouterr()
    assert_one_error_line(2, captured.err, nope)
    assert captured.out == ""


def test_compat_on_a_folder_without_the_graded_files_is_a_failed_check(tmp_path, capsys):
    import compat
    assert compat.main(["--source", str(tmp_path)]) == 1
    assert "lacks numpy_nn.py" in capsys.readouterr().err


# Every command: the root's scripts and the tools that have a command line.
COMMANDS = sorted(p.stem for p in [*ROOT.glob("*.py"), *(ROOT / "tools").glob("*.py")]
                  if "\ndef main(" in p.read_text())
POSITIONAL = {"photo_reader": ["digit.png"], "read_by_eye": ["score"], "score_runs": ["model.pt"]}


def test_the_commands_are_found():
    assert {"pytorch_cnn", "numpy_nn", "photo_reader", "make_zip", "unseen_suite"} <= set(COMMANDS)


@pytest.mark.parametrize("script", COMMANDS)
def test_every_command_names_a_bad_flag_in_one_line(script, capsys):
    main = __import__(script).main
    with pytest.raises(SystemExit) as exit_info:
        main([*POSITIONAL.get(script, []), "--no-such-flag"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1 and "--no-such-flag" in err and "--help" in err, err


# -------------------- broken data and model files

def good_npz_bytes():
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x_train=np.zeros((4, 28, 28), np.uint8), y_train=np.arange(4),
                        x_test=np.zeros((4, 28, 28), np.uint8), y_test=np.arange(4))
    return buffer.getvalue()


@pytest.mark.parametrize("content", [
    pytest.param(lambda: b"\x80\x04garbage" * 50, id="pickle-garbage"),
    pytest.param(lambda: good_npz_bytes()[:300], id="truncated"),
    pytest.param(lambda: b"PK\x03\x04" + bytes(500), id="zeroed-zip"),
])
def test_numpy_nn_on_a_damaged_npz_says_make_data(tmp_path, content, recwarn, capsys):
    path = tmp_path / "full-mnist.npz"
    path.write_bytes(content())
    status, err = run_main(numpy_nn.main, ["--data", str(path)], capsys)
    assert_one_error_line(status, err, "make data", str(path))
    assert "allow_pickle" not in err
    gc.collect()   # an unclosed file warns when it is collected
    assert not [w for w in recwarn if issubclass(w.category, ResourceWarning)], "left the file open"


def renamed_keys(state):
    return {"renamed." + k: v for k, v in state.items()}


@pytest.mark.parametrize("content, problem", [
    pytest.param(lambda: saved(P.cpu_state_dict(P.MyNet()))[:2000], "does not load with torch.load(weights_only=True): it is truncated, corrupted or not a state_dict",
                 id="truncated"),
    pytest.param(lambda: b"\x80\x04garbage" * 50, "does not load with torch.load(weights_only=True): it is truncated, corrupted or not a state_dict", id="garbage"),
    pytest.param(lambda: saved(renamed_keys(P.cpu_state_dict(P.MyNet()))),
                 "does not fit MyNet (Missing key(s) in state_dict; Unexpected key(s) in state_dict)",
                 id="other-architecture"),
    pytest.param(lambda: saved(torch.zeros(3)), "does not fit MyNet (Expected state_dict to be dict-like",
                 id="a-tensor"),
])
def test_broken_model_is_named_without_torchs_message(tmp_path, content, problem, recwarn):
    path = tmp_path / "model.pt"
    path.write_bytes(content())
    with pytest.raises(P.UserError) as err:
        P.load_model(path)
    message = str(err.value)
    assert not [str(w.message) for w in recwarn if issubclass(w.category, UserWarning)], \
        "torch's warnings reach the user beside the one line"
    assert message.startswith(f"{path} {problem}") and "\n" not in message, message
    assert message.endswith("(`make train-cnn` writes build/model.pt)"), message   # whole, not cut


# -------------------- the command line

def parse_error(capsys, argv):
    """What argparse prints for pytorch_cnn.py argv: one line, exit status 2."""
    with pytest.raises(SystemExit) as exit_info:
        P.parse_args(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1, err   # no usage block
    return err.strip()


def test_a_bad_value_names_its_flag_only(capsys):
    line = parse_error(capsys, ["--epochs", "-3"])
    assert line == ("pytorch_cnn.py: error: --epochs must be positive, got -3 "
                    "(see pytorch_cnn.py --help)")


def test_a_moved_or_mistyped_command_says_what_to_run(capsys):
    line = parse_error(capsys, ["evalute"])
    assert "unknown command 'evalute': did you mean 'evaluate'?" in line
    for word, where in P.MOVED.items():
        assert f"{word!r} moved out of the graded file: run {where}" in parse_error(capsys, [word])


def help_of(capsys, argv, parse=P.parse_args):
    with pytest.raises(SystemExit) as exit_info:
        parse(argv)
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def test_help_lists_every_knob_and_how_to_turn_flags_off(capsys):
    out = help_of(capsys, ["--help"])
    assert all("--" + f.name.replace("_", "-") in out for f in P.fields(P.Config))
    assert "--no-bf16" in out and "--preset" in out and "--resume" in out
    assert "--no-deskew" in help_of(capsys, ["--help"], numpy_nn.parse_args)


# -------------------- make: builds into build/, the committed files stay

def fake_checkout(tmp_path):
    """The Makefile with every file its rules read, installed and unpacked, by
    their names only: `make -n` prints what would run without running it."""
    root = tmp_path / "repo"
    for name in ("Makefile", "requirements.txt", "requirements-dev.txt", "results/mynet-base.pt", "numpy_nn.py", "pytorch_cnn.py", "model.pt",
                 "numpy_nn_training.png", "numpy_nn_classification.png", "full-mnist.npz",
                 ".venv/.installed", "data/MNIST/raw/train-images-idx3-ubyte", "tools/robustness.py",
                 "tools/unseen_suite.py", "tools/library_suite.py", "tools/score_runs.py"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("")
    shutil.copy(ROOT / "Makefile", root / "Makefile")
    return root


def make_n(root, *targets):
    if shutil.which("make") is None:
        pytest.skip("no make")
    proc = subprocess.run(["make", "-n", "PYTHON=python3", *targets], cwd=root, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_make_writes_only_into_build_and_the_zip(tmp_path):
    root = fake_checkout(tmp_path)
    commands = make_n(root)
    assert "pytorch_cnn.py train --preset full --model-path build/partial/model.pt" in commands
    assert "numpy_nn.py --out-dir build" in commands and "make_zip.py submission.zip" in commands
    for flag in ("--model-path", "--history-path", "--out-dir", "--out", "--library-out", "--gallery-path",
                 "--curves-path"):
        for value in commands.split(f"{flag} ")[1:]:
            written = value.split()[0]
            assert written.rstrip("/") == "build" or written.startswith("build/"), f"{flag} {written}"
    assert "cp " not in commands and "mv build/" in commands
    # robustness.py's plots default to results/: make names both outputs
    assert "--out build/pytorch_cnn_robustness.png" in commands
    assert "--library-out build/robustness_library.png" in commands


def test_a_second_make_trains_nothing(tmp_path):
    root = fake_checkout(tmp_path)
    built = ("numpy_nn_training.png", "numpy_nn_classification.png", "model.pt",
             "pytorch_cnn_history.json", "pytorch_cnn_gallery.png", "pytorch_cnn_training.png",
             "pytorch_cnn_robustness.png", "robustness_library.png", "comparison.md")
    (root / "build").mkdir()
    for name in built:   # written after their sources, as a first `make` leaves them
        (root / "build" / name).write_text("")
    commands = make_n(root)
    assert not any(run in commands for run in ("pytorch_cnn.py train", "numpy_nn.py", "evaluate --model-path"))
    (root / "pytorch_cnn.py").write_text("# changed")
    assert "pytorch_cnn.py train --preset full" in make_n(root)


def test_build_is_ignored_by_git():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    proc = subprocess.run(["git", "check-ignore", "-q", "build/model.pt"], cwd=ROOT, timeout=60)
    assert proc.returncode == 0


def test_make_ship_copies_the_build_over_the_committed_files(tmp_path):
    root = fake_checkout(tmp_path)
    commands = make_n(root, "ship")
    assert "cp build/model.pt build/numpy_nn_training.png build/numpy_nn_classification.png ." in commands
    assert "build/pytorch_cnn_robustness.png build/robustness_library.png results/" in commands
    assert "make_zip.py submission.zip" in commands

