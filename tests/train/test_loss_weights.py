"""Event-balanced loss weights, and training from another model's weights (``--init``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from aemon.train.loss_weights import MAX_EVENT_WEIGHT, event_balanced_weights

torch = pytest.importorskip("torch")

from aemon.cli import main  # noqa: E402

TINY = """
name = "tiny-init"
architecture = "inceptiontime"
[signal]
window = 4096
[frontend]
filters = 8
kernel = 32
stride = 8
activation = "silu"
[[blocks]]
kernels = [5, 9]
filters = {filters}
bottleneck = 8
modules = 1
pool = 2
activation = "silu"
[training]
window = 2048
batch_size = 4
epochs = 1
steps_per_epoch = 2
val_windows = 8
bursts_per_window = [1, 2]
short_burst_us = {short_burst_us}
"""


def test_short_runs_weigh_like_the_reference_length() -> None:
    target = np.zeros((2, 2, 100), np.float32)
    target[0, 0, 10:13] = 1  # 3 bins
    target[0, 1, 20:35] = 1  # 15 bins
    target[1, 0, 40:100] = 1  # 60 bins, reaching the end
    target[1, 1, 0:1] = 1  # 1 bin at the start
    w = event_balanced_weights(target, reference_bins=30.0)
    assert w.shape == target.shape and w.dtype == np.float32
    np.testing.assert_allclose(w[0, 0, 10:13], MAX_EVENT_WEIGHT)  # 30 / 3 = 10, capped
    np.testing.assert_allclose(w[0, 1, 20:35], 2.0)
    np.testing.assert_allclose(w[1, 0, 40:100], 1.0)
    np.testing.assert_allclose(w[1, 1, 0], MAX_EVENT_WEIGHT)
    outside = target < 0.5
    np.testing.assert_array_equal(w[outside], 1.0)
    # each short run's total weight equals the reference length (uncapped cases)
    assert float(w[0, 1].sum() - (100 - 15)) == pytest.approx(30.0)


def test_weights_are_plain_without_a_reference_or_bursts() -> None:
    target = np.zeros((3, 50), np.float32)
    np.testing.assert_array_equal(event_balanced_weights(target, 20.0), 1.0)
    target[1, 5:7] = 1
    np.testing.assert_array_equal(event_balanced_weights(target, 0.0), 1.0)


def _train(tmp_path: Path, name: str, filters: int, short_us: float, *extra: str) -> Path:
    config = tmp_path / f"{name}.toml"
    config.write_text(TINY.format(filters=filters, short_burst_us=short_us), encoding="utf-8")
    out = tmp_path / name
    argv = ["train", str(config), "--out", str(out), "--threads", "1", "--no-progress"]
    argv += ["--eval-bursts", "20", *extra]
    assert main(argv) == 0
    return out


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model trained for two steps."""
    torch.set_num_threads(1)
    return _train(tmp_path_factory.mktemp("init"), "first", 8, 0.0)


def test_init_starts_from_the_given_weights_and_short_bursts_train(
    first: Path, tmp_path: Path
) -> None:
    tuned = _train(tmp_path, "tuned", 8, 300.0, "--init", str(first), "--lr", "1e-9")
    before = torch.load(first / "model.pt", weights_only=True)
    after = torch.load(tuned / "model.pt", weights_only=True)
    convs = [k for k, v in before.items() if k.endswith("weight") and v.dim() == 3]
    assert convs
    for key in convs:  # a learning rate of 1e-9 leaves the loaded weights in place
        torch.testing.assert_close(after[key], before[key], rtol=1e-4, atol=1e-6)
    fresh = _train(tmp_path, "fresh", 8, 300.0, "--lr", "1e-9")
    other = torch.load(fresh / "model.pt", weights_only=True)
    assert any(not torch.allclose(other[k], before[k]) for k in convs)
    card = (tuned / "model_card.json").read_text(encoding="utf-8")
    assert "--init" in card and '"short_burst_us": 300.0' in card


def test_init_from_another_architecture_is_refused(
    first: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "wide.toml"
    config.write_text(TINY.format(filters=12, short_burst_us=0.0), encoding="utf-8")
    assert main(["train", str(config), "--out", str(tmp_path / "w"), "--init", str(first)]) == 2
    err = capsys.readouterr().err.strip()
    assert "size mismatch" in err and "same architecture" in err and len(err.splitlines()) == 1
    assert main(["train", str(config), "--out", str(tmp_path / "v"), "--init", str(tmp_path)]) == 2
    assert "no detector model" in capsys.readouterr().err
    assert not (tmp_path / "w" / "model.onnx").exists()


def test_command_line_sets_short_bursts_and_the_kept_epoch_score(tmp_path: Path) -> None:
    out = _train(tmp_path, "flags", 8, 0.0, "--short-burst-us", "250", "--keep-best-by", "event_f1")
    card = json.loads((out / "model_card.json").read_text(encoding="utf-8"))
    assert card["training"]["best_by"] == "validation event F1"
    assert "--short-burst-us 250 --keep-best-by event_f1" in card["reproduce"]
    assert '"short_burst_us": 250.0' in (out / "model_card.json").read_text(encoding="utf-8")
    with pytest.raises(SystemExit):  # argparse refuses an unknown score
        main(["train", "x.toml", "--out", str(tmp_path / "o"), "--keep-best-by", "loss"])
