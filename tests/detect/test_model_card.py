"""The card's Markdown: speed rows become a table, other speed entries stay bullets."""

from __future__ import annotations

from aemon.detect.model_card import ModelCard, card_markdown
from aemon.dsp.normalization import NormalizationParams


def test_speed_rows_render_as_a_table() -> None:
    card = ModelCard(
        name="m",
        architecture={"architecture": "test"},
        classes=["low"],
        sample_rate_hz=1e6,
        window=64,
        hop=48,
        output_bins=8,
        bin_samples=8,
        margin_bins=1,
        channels=1,
        normalization=NormalizationParams().to_dict(),
        speed={
            "threads": "2",
            "table": [{"path": "infer", "x_realtime": 5.2}, {"path": "detect", "f1": 0.99}],
        },
    )
    text = card_markdown(card).split("## Speed", 1)[1].split("## Files", 1)[0]
    assert "- threads: 2" in text
    assert "| path | x_realtime | f1 |" in text
    assert "| infer | 5.2 |  |" in text and "| detect |  | 0.99 |" in text
    assert "- table:" not in text
