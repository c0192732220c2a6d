"""Tests of the benchmark scripts (tools/bench_*.py): they call the APIs they
measure directly, so they must keep up with them."""
import pytest


@pytest.mark.filterwarnings("ignore::DeprecationWarning")   # torchvision's JPEG, compared on purpose
def test_bench_cnn_runs_against_todays_api(capsys, committed_model_path):
    import bench_cnn
    bench_cnn.main(["--repeats", "1", "--model-path", str(committed_model_path)])
    out = capsys.readouterr().out
    assert "classify, batch 1000" in out and "training step, batch 128" in out and "jpeg" in out
