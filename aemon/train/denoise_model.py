"""The U-Net of the denoiser (thesis ch. 3): a soft mask over STFT magnitudes.

Two 2×2 poolings, two 3×3 convolutions per level (leaky ReLU, so no unit dies),
transposed-convolution upsampling with skip connections, a 1×1 convolution and a sigmoid.
Input and output are ``(batch, 1, PADDED_BINS, frames)`` with ``frames`` a multiple of 4
(:mod:`aemon.denoise.spectral`).
Needs torch (the ``train`` extra).
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_WIDTH = 8
"""Channels of the first level (doubled per level)."""


def build_unet(width: int = DEFAULT_WIDTH) -> Any:
    """A fresh U-Net with ``width`` channels at the top level (a ``torch.nn.Module``)."""
    import torch
    from torch import nn

    def block(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1),
            nn.LeakyReLU(0.1),
            nn.Conv2d(cout, cout, 3, padding=1),
            nn.LeakyReLU(0.1),
        )

    class UNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            w = width
            self.enc1, self.enc2, self.mid = block(1, w), block(w, 2 * w), block(2 * w, 4 * w)
            self.pool = nn.MaxPool2d(2)
            self.up2 = nn.ConvTranspose2d(4 * w, 2 * w, 2, stride=2)
            self.dec2 = block(4 * w, 2 * w)
            self.up1 = nn.ConvTranspose2d(2 * w, w, 2, stride=2)
            self.dec1 = block(2 * w, w)
            self.head = nn.Conv2d(w, 1, 1)

        def logits(self, x: Any) -> Any:
            """The mask before the sigmoid (training uses it with a BCE loss)."""
            s1 = self.enc1(x)
            s2 = self.enc2(self.pool(s1))
            y = self.mid(self.pool(s2))
            y = self.dec2(torch.cat([self.up2(y), s2], dim=1))
            y = self.dec1(torch.cat([self.up1(y), s1], dim=1))
            return self.head(y)

        def forward(self, x: Any) -> Any:
            return torch.sigmoid(self.logits(x))

    return UNet()
