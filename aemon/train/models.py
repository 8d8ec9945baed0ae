"""Torch detector networks built from a :class:`~aemon.train.config.ModelConfig`.

Every network maps normalised samples ``(batch, channels, window)`` to logits
``(batch, classes, window / decimation)``; :class:`ProbabilityHead` adds the sigmoid for export.

* **InceptionTime** (thesis sec. 2.9/4.7): blocks of inception modules (1×1 bottleneck, parallel
  convolutions of several lengths, a max-pool + 1×1 branch, concatenation, batch norm,
  activation), a 1×1 conv + batch norm residual around each block, a max-pool after it.
  An optional learned strided front end (conv + batch norm + activation) decimates the raw
  signal first; that is what makes the CPU-real-time models cheap.
* **Spec2Map** (thesis sec. 4.6): STFT magnitude (computed by fixed cos/sin convolutions so it
  exports to plain ONNX), shape-preserving 2-D convolutions, frequency rows folded into
  channels, 1-D convolutions, a 1×1 output layer.

Output bin ``j`` covers input samples ``[j * decimation, (j + 1) * decimation)``.
"""

from __future__ import annotations

import logging
import math

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from aemon.train.config import (
    Conv1dSpec,
    Conv2dSpec,
    FrontEndSpec,
    InceptionBlockSpec,
    ModelConfig,
    StftSpec,
)

logger = logging.getLogger(__name__)


def make_activation(name: str) -> nn.Module:
    """Return the activation module called ``name`` (see ``model_config.ACTIVATIONS``)."""
    table: dict[str, type[nn.Module]] = {
        "mish": nn.Mish,
        "relu": nn.ReLU,
        "gelu": nn.GELU,
        "silu": nn.SiLU,
        "elu": nn.ELU,
        "leaky_relu": nn.LeakyReLU,
        "tanh": nn.Tanh,
    }
    return table[name]()


class SameConv1d(nn.Module):
    """1-D convolution whose output has the input length (asymmetric pad for even kernels)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, groups: int = 1, bias: bool = False):
        super().__init__()
        self.left = (kernel - 1) // 2
        self.right = kernel - 1 - self.left
        symmetric = self.left == self.right
        self.conv = nn.Conv1d(
            in_ch, out_ch, kernel, padding=self.left if symmetric else 0, groups=groups, bias=bias
        )
        self.symmetric = symmetric

    def forward(self, x: Tensor) -> Tensor:
        if not self.symmetric:
            x = F.pad(x, (self.left, self.right))
        return self.conv(x)


class InceptionModule(nn.Module):
    """Bottleneck, parallel convolutions and a max-pool branch; concat, batch norm, activation."""

    def __init__(self, in_ch: int, spec: InceptionBlockSpec):
        super().__init__()
        self.bottleneck: nn.Module
        if in_ch > 1:
            self.bottleneck = nn.Conv1d(in_ch, spec.bottleneck, 1, bias=False)
            width = spec.bottleneck
        else:
            self.bottleneck = nn.Identity()
            width = in_ch
        branches: list[nn.Module] = []
        for k in spec.kernels:
            if spec.separable and width > 1:
                branches.append(
                    nn.Sequential(
                        SameConv1d(width, width, k, groups=width),
                        nn.Conv1d(width, spec.filters, 1, bias=False),
                    )
                )
            else:
                branches.append(SameConv1d(width, spec.filters, k))
        self.branches = nn.ModuleList(branches)
        self.pool_branch = nn.Sequential(
            nn.MaxPool1d(3, stride=1, padding=1), nn.Conv1d(in_ch, spec.filters, 1, bias=False)
        )
        self.out_channels = spec.filters * (len(spec.kernels) + 1)
        self.norm = nn.BatchNorm1d(self.out_channels)
        self.act = make_activation(spec.activation)

    def forward(self, x: Tensor) -> Tensor:
        z = self.bottleneck(x)
        parts = [branch(z) for branch in self.branches]
        parts.append(self.pool_branch(x))
        return self.act(self.norm(torch.cat(parts, dim=1)))


class InceptionBlock(nn.Module):
    """``modules`` stacked inception modules, a residual shortcut, then max-pool ``pool``."""

    def __init__(self, in_ch: int, spec: InceptionBlockSpec):
        super().__init__()
        layers: list[InceptionModule] = []
        ch = in_ch
        for _ in range(spec.modules):
            module = InceptionModule(ch, spec)
            layers.append(module)
            ch = module.out_channels
        self.modules_ = nn.Sequential(*layers)
        self.out_channels = ch
        self.shortcut: nn.Module | None = None
        if spec.residual:
            self.shortcut = nn.Sequential(nn.Conv1d(in_ch, ch, 1, bias=False), nn.BatchNorm1d(ch))
            self.act: nn.Module = make_activation(spec.activation)
        self.pool: nn.Module = nn.MaxPool1d(spec.pool) if spec.pool > 1 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        y = self.modules_(x)
        if self.shortcut is not None:
            y = self.act(y + self.shortcut(x))
        return self.pool(y)


class FrontEnd(nn.Module):
    """Learned strided convolution: output ``j`` is centred on input bin ``[jS, (j+1)S)``."""

    def __init__(self, in_ch: int, spec: FrontEndSpec):
        super().__init__()
        extra = spec.kernel - spec.stride
        self.pad = ((extra) // 2, extra - extra // 2)
        self.conv = nn.Conv1d(in_ch, spec.filters, spec.kernel, stride=spec.stride, bias=False)
        self.norm = nn.BatchNorm1d(spec.filters)
        self.act = make_activation(spec.activation)
        self.out_channels = spec.filters

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.norm(self.conv(F.pad(x, self.pad))))


class InceptionTimeNet(nn.Module):
    """InceptionTime binary-map detector (optional strided front end)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        ch = config.signal.channels
        self.frontend: nn.Module = nn.Identity()
        if config.frontend is not None:
            fe = FrontEnd(ch, config.frontend)
            self.frontend, ch = fe, fe.out_channels
        blocks = []
        for spec in config.blocks:
            block = InceptionBlock(ch, spec)
            blocks.append(block)
            ch = block.out_channels
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Conv1d(ch, len(config.signal.classes), 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.blocks(self.frontend(x)))


class Stft(nn.Module):
    """Magnitude STFT as fixed convolutions: ``(B, C, N)`` -> ``(B, C, n_fft/2+1, N/hop)``."""

    def __init__(self, spec: StftSpec):
        super().__init__()
        n = spec.n_fft
        bins = n // 2 + 1
        t = torch.arange(n, dtype=torch.float64)
        window = 0.5 - 0.5 * torch.cos(2 * math.pi * (t + 0.5) / n)
        freqs = torch.arange(bins, dtype=torch.float64)[:, None]
        phase = 2 * math.pi * freqs * t[None, :] / n
        kernel = torch.cat([torch.cos(phase) * window, -torch.sin(phase) * window]) / math.sqrt(n)
        self.register_buffer("kernel", kernel[:, None, :].float())
        self.hop = spec.hop
        self.pad = (n - spec.hop) // 2
        self.bins = bins
        self.log = spec.compress == "log1p"

    def forward(self, x: Tensor) -> Tensor:
        b, c, n = x.shape
        kernel: Tensor = self.kernel  # type: ignore[assignment]
        z = F.conv1d(F.pad(x.reshape(b * c, 1, n), (self.pad, self.pad)), kernel, stride=self.hop)
        re, im = z[:, : self.bins], z[:, self.bins :]
        mag = torch.sqrt(re * re + im * im + 1e-8)
        if self.log:
            mag = torch.log1p(mag)
        return mag.reshape(b, c, self.bins, -1)


class Spec2MapNet(nn.Module):
    """Spec2Map: STFT magnitude -> 2-D convs -> 1-D convs -> binary-map logits."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        assert config.stft is not None
        self.stft = Stft(config.stft)
        ch = config.signal.channels
        self.input_norm = nn.BatchNorm2d(ch)
        layers2d: list[nn.Module] = []
        for c2 in config.conv2d:
            layers2d += self._conv2d(ch, c2)
            ch = c2.channels
        self.conv2d = nn.Sequential(*layers2d)
        ch1 = ch * self.stft.bins
        layers1d: list[nn.Module] = []
        for c1 in config.conv1d:
            layers1d += self._conv1d(ch1, c1)
            ch1 = c1.channels
        self.conv1d = nn.Sequential(*layers1d)
        self.head = nn.Conv1d(ch1, len(config.signal.classes), 1)

    @staticmethod
    def _conv2d(in_ch: int, spec: Conv2dSpec) -> list[nn.Module]:
        kf, kt = spec.kernel
        return [
            nn.ZeroPad2d(((kt - 1) // 2, kt // 2, (kf - 1) // 2, kf // 2)),
            nn.Conv2d(in_ch, spec.channels, (kf, kt), bias=False),
            nn.BatchNorm2d(spec.channels),
            make_activation(spec.activation),
        ]

    @staticmethod
    def _conv1d(in_ch: int, spec: Conv1dSpec) -> list[nn.Module]:
        return [
            SameConv1d(in_ch, spec.channels, spec.kernel),
            nn.BatchNorm1d(spec.channels),
            make_activation(spec.activation),
        ]

    def forward(self, x: Tensor) -> Tensor:
        s = self.conv2d(self.input_norm(self.stft(x)))
        b, c, f, m = s.shape
        return self.head(self.conv1d(s.reshape(b, c * f, m)))


class ProbabilityHead(nn.Module):
    """Wraps a logit network and applies the sigmoid (what is exported to ONNX)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        return torch.sigmoid(self.net(x))


def build_model(config: ModelConfig) -> nn.Module:
    """Build the logit network described by ``config`` (Kaiming-uniform initialised)."""
    net: nn.Module = (
        InceptionTimeNet(config) if config.architecture == "inceptiontime" else Spec2MapNet(config)
    )
    for module in net.modules():
        if isinstance(module, nn.Conv1d | nn.Conv2d) and module.weight.requires_grad:
            nn.init.kaiming_uniform_(module.weight, nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return net


def count_parameters(net: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def macs_per_sample(net: nn.Module, config: ModelConfig) -> float:
    """Multiply-adds of all convolutions per input sample per channel (measured by hooks)."""
    total = 0

    def hook(module: nn.Module, _inputs: tuple[Tensor, ...], output: Tensor) -> None:
        nonlocal total
        assert isinstance(module, nn.Conv1d | nn.Conv2d)
        per_output = module.in_channels // module.groups * math.prod(module.kernel_size)
        total += output.numel() * per_output

    handles = [
        m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.Conv1d | nn.Conv2d)
    ]
    n = config.signal.window
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            net(torch.zeros(1, config.signal.channels, n))
    finally:
        net.train(was_training)
        for h in handles:
            h.remove()
    # the STFT runs as a functional conv, count it analytically
    if config.stft is not None:
        total += (config.stft.n_fft // 2 + 1) * 2 * config.stft.n_fft * (n // config.stft.hop)
    return total / (n * config.signal.channels)
