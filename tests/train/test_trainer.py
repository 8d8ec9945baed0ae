"""Training, export, evaluation and data generation of burst detectors (torch, CPU, tiny models)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from aemon.cli import main  # noqa: E402
from aemon.detect.model_card import read_model_card  # noqa: E402
from aemon.errors import ConfigError  # noqa: E402
from aemon.train.config import load_model_config, model_config_from_dict  # noqa: E402
from aemon.train.data import (  # noqa: E402
    NO_AUGMENTATION,
    Augmentation,
    MixSource,
    WindowGenerator,
    binary_map,
)
from aemon.train.data_sources import simulator_mix  # noqa: E402
from aemon.train.export import check_parity, export_onnx  # noqa: E402
from aemon.train.models import build_model  # noqa: E402
from aemon.train.trainer import CHECKPOINT_FILE, TrainOptions, train  # noqa: E402

ROOT = Path(__file__).parents[2]
TINY = """
name = "tiny"
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
filters = 8
bottleneck = 8
modules = 2
pool = 2
activation = "silu"
[training]
window = 2048
batch_size = 8
epochs = 3
steps_per_epoch = 12
val_windows = 16
bursts_per_window = [1, 3]
learning_rate = 3e-3
"""


@pytest.fixture(scope="module")
def tiny_config_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained_dir(tiny_config_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Train the tiny model through the CLI once; later tests read its output."""
    out = tmp_path_factory.mktemp("models") / "my-tiny"  # not the config's name "tiny"
    torch.set_num_threads(1)
    code = main(
        [
            "train",
            str(tiny_config_path),
            "--out",
            str(out),
            "--threads",
            "1",
            "--no-progress",
            "--seed",
            "3",
        ]
    )
    assert code == 0
    return out


def _randomise_batch_norm(net, seed: int = 0) -> None:
    gen = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.3)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen) + 0.5)


@pytest.mark.parametrize(
    "path", sorted((ROOT / "aemon" / "models" / "configs").glob("*.toml")), ids=lambda p: p.stem
)
def test_every_architecture_builds_exports_and_matches_onnx(path: Path) -> None:
    config = load_model_config(path)
    # a short window keeps the thesis models quick; re-validated at that length
    small = model_config_from_dict(
        replace(config, signal=replace(config.signal, window=2048)).to_dict()
    )
    torch.manual_seed(0)
    net = build_model(small).eval()
    _randomise_batch_norm(net)
    x = torch.randn(2, 1, small.signal.window)
    with torch.no_grad():
        y = net(x)
    assert tuple(y.shape) == (2, len(small.signal.classes), small.output_bins)
    onnx_bytes = export_onnx(net, small)
    assert check_parity(net, small, onnx_bytes) <= 1e-4


def test_tiny_model_loss_decreases(trained_dir: Path) -> None:
    card = read_model_card(trained_dir)
    checkpoint = torch.load(trained_dir / "checkpoint.pt", weights_only=False)
    history = checkpoint["history"]
    assert len(history) == 3
    assert history[-1]["train_loss"] < 0.8 * history[0]["train_loss"]
    assert history[-1]["val_loss"] < history[0]["val_loss"]
    assert card.training["epochs_run"] == 3


def test_training_writes_a_complete_model_directory(trained_dir: Path) -> None:
    for name in (
        "model.onnx",
        "model.pt",
        "model_card.json",
        "README.md",
        "training.png",
        "roc.png",
        "examples.png",
        "evaluation.json",
    ):
        assert (trained_dir / name).stat().st_size > 0, name
    card = read_model_card(trained_dir)
    assert card.name == "my-tiny" and card.architecture["name"] == "tiny"  # --out names it
    assert card.reproduce.startswith("aemon train ") and "--seed 3" in card.reproduce
    assert card.training["onnx_parity_max_abs_diff"] <= 1e-4
    assert card.window == 4096 and card.bin_samples == 16 and card.output_bins == 256
    assert card.classes == ["low", "high"]
    for section in ("heldout_windows", "heldout_stream"):
        rep = card.metrics[section]
        assert set(rep["map"]) == {"accuracy", "precision", "recall", "f1", "roc_auc"}
        assert 0.5 < rep["map"]["roc_auc"] <= 1.0  # a few steps already beat chance
        assert rep["events"]["true_bursts"] > 50
    state = torch.load(trained_dir / "model.pt", weights_only=True)
    net = build_model(model_config_from_dict(card.architecture))
    net.load_state_dict(state)


def test_ctrl_c_before_the_first_checkpoint_leaves_no_empty_model_directory(
    tiny_config_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import signal
    import threading
    import time

    out = tmp_path / "interrupted"
    main_thread = threading.main_thread().ident
    assert main_thread is not None

    def press_ctrl_c_once_training() -> None:
        deadline = time.monotonic() + 120
        while not out.is_dir() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.5)  # inside the first epoch (100 000 steps: no checkpoint yet)
        signal.pthread_kill(main_thread, signal.SIGINT)

    watcher = threading.Thread(target=press_ctrl_c_once_training)
    watcher.start()
    try:
        status = main(["train", str(tiny_config_path), "--out", str(out), "--threads", "1",
                       "--no-progress", "--epochs", "1", "--steps", "100000"])  # fmt: skip
    finally:
        watcher.join()
    assert status == 130
    assert not out.exists()
    assert capsys.readouterr().err.strip().endswith("aemon: interrupted")


def test_evaluate_command_prints_table_4_3_and_writes_figures(
    trained_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "eval"
    assert main(["evaluate", str(trained_dir), "--out", str(out), "--windows", "16"]) == 0
    printed = capsys.readouterr().out
    assert "| data | accuracy | precision | recall | F1 (t=0.5) | ROC AUC |" in printed
    assert "heldout_stream" in printed
    report = json.loads((out / "evaluation.json").read_text())
    assert report["heldout_windows"]["windows"] == 16
    assert (out / "roc.png").stat().st_size > 10_000
    assert (out / "examples.png").stat().st_size > 10_000


def test_resume_continues_exactly(tiny_config_path: Path, tmp_path: Path) -> None:
    config = replace(load_model_config(tiny_config_path))
    config = replace(config, training=replace(config.training, epochs=2, steps_per_epoch=4))
    torch.set_num_threads(1)
    full = train(TrainOptions(config, tmp_path / "full", seed=1, progress=False))
    first = train(TrainOptions(config, tmp_path / "split", seed=1, progress=False, stop_after=1))
    assert not first.finished and len(first.history) == 1
    with pytest.raises(ConfigError, match="--resume"):
        train(TrainOptions(config, tmp_path / "split", seed=1, progress=False))
    second = train(TrainOptions(config, tmp_path / "split", seed=1, progress=False, resume=True))
    assert second.finished and len(second.history) == 2
    assert second.history[1]["train_loss"] == pytest.approx(full.history[1]["train_loss"], rel=1e-5)
    for key, value in full.net.state_dict().items():
        torch.testing.assert_close(second.net.state_dict()[key], value, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("keep_best_by", ["map_f1", "event_f1"])
def test_kept_weights_are_the_best_epoch_by_the_chosen_score(
    tiny_config_path: Path, tmp_path: Path, keep_best_by: str
) -> None:
    config = load_model_config(tiny_config_path)
    tr = replace(config.training, epochs=3, steps_per_epoch=3, keep_best_by=keep_best_by)
    torch.set_num_threads(1)
    options = TrainOptions(replace(config, training=tr), tmp_path / "m", seed=2, progress=False)
    state = train(options)
    scores = [row["val_" + keep_best_by] for row in state.history]
    assert len(scores) == 3 and not any(np.isnan(scores))
    assert state.best_epoch == 1 + int(np.argmax(scores))  # the first of equal maxima


def test_an_unknown_keep_best_by_is_refused_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(TINY + 'keep_best_by = "val_loss"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="keep_best_by is 'val_loss'; use one of map_f1, e"):
        load_model_config(bad)


def test_binary_map_lines_up_with_placed_bursts() -> None:
    config = load_model_config(ROOT / "aemon" / "models" / "configs" / "aemon-rt-sketch.toml")
    sim = simulator_mix(config, NO_AUGMENTATION)
    silent = MixSource(
        "silent",
        sim.draw_burst,
        lambda _rng, n: np.zeros(n),
        sim.amplitude,
        2,
        (4, 8),
        config.signal.sample_rate_hz,
        NO_AUGMENTATION,
    )
    rng = np.random.default_rng(0)
    dec = config.decimation
    checked = 0
    for _ in range(20):
        win = silent.draw(rng, 8192, 1)
        assert win.events
        truth = binary_map(win.events, 8192, dec, 2)
        active = np.abs(win.signal[0]) > 0
        for ev in win.events:
            lo = max(ev.onset, 0)
            assert np.any(active[lo : lo + 3])  # the burst starts at its onset (envelope 0 at t=0)
            assert not np.any(active[max(lo - 64, 0) : lo])  # and not a sample earlier
            centres = (np.arange(8192 // dec) + 0.5) * dec
            inside = (centres >= ev.onset) & (centres < ev.end)
            assert np.all(truth[ev.label, inside] == 1.0)
            checked += 1
        # every marked bin holds burst signal, every empty stretch of bins is silent
        bins_active = active.reshape(-1, dec).any(axis=1)
        assert np.all(bins_active[truth.max(axis=0) == 1.0])
    assert checked > 40


def test_generator_batch_is_normalised_and_labelled() -> None:
    config = load_model_config(ROOT / "aemon" / "models" / "configs" / "aemon-rt-sketch.toml")
    gen = WindowGenerator(
        config, [simulator_mix(config, Augmentation())], augmentation=Augmentation()
    )
    rng = np.random.default_rng(1)
    gen.new_epoch(rng)
    x, y, events = gen.batch(rng, 6)
    assert x.shape == (6, 1, config.training.window) and x.dtype == np.float32
    assert y.shape == (6, 2, config.training.window // config.decimation)
    assert all(1 <= len(e) <= 3 for e in events)
    assert 0.3 < float(np.median(np.abs(x))) < 1.0  # noise floor ~ 1 after normalisation
    assert 0.0 < float(y.mean()) < 0.3


def test_aemon_help_and_train_hint_without_torch(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from aemon.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
        f"sys.exit(main(['train', 'x.toml', '--out', {str(tmp_path)!r}]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "train" in result.stdout and "evaluate" in result.stdout
    assert result.stderr.strip() == "aemon: error: training needs torch: pip install 'aemon[train]'"


def test_clear_errors_before_training(
    tmp_path: Path, tiny_config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(TINY.replace("window = 4096", "window = 4100"), encoding="utf-8")
    assert main(["train", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("aemon: error:") and "not divisible" in err and "\n" not in err
    empty = tmp_path / "lab"
    (empty / "bursts").mkdir(parents=True)
    (empty / "noise").mkdir()
    assert (
        main(["train", str(tiny_config_path), "--data", str(empty), "--out", str(tmp_path / "o")])
        == 2
    )
    assert "no burst waveforms" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # nothing was written


class _Planted:
    """Unpickling this runs code: what a malicious checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def test_resume_refuses_a_checkpoint_that_would_run_code(
    tiny_config_path: Path, tmp_path: Path
) -> None:
    config = replace(load_model_config(tiny_config_path))
    config = replace(config, training=replace(config.training, epochs=2, steps_per_epoch=2))
    out = tmp_path / "run"
    out.mkdir()
    marker = tmp_path / "pwned"
    torch.save({"config": _Planted(marker)}, out / CHECKPOINT_FILE)
    with pytest.raises(ConfigError, match="more than weights"):
        train(TrainOptions(config, out, seed=1, progress=False, resume=True))
    assert not marker.exists()
