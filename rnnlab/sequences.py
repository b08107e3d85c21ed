"""Small seeded input sequences for demonstrations (no randomness leaks into the global RNG)."""
from __future__ import annotations

import torch


def pulse(seq_len: int = 30, at: int = 5, height: float = 1.0) -> torch.Tensor:
    """A one-feature sequence that is zero except for one step: shape (seq_len, 1, 1) = (L, N, H_in)."""
    if not 0 <= at < seq_len:
        raise ValueError(f"pulse position at={at} must be in [0, {seq_len})")
    x = torch.zeros(seq_len, 1, 1)
    x[at, 0, 0] = height
    return x


def random_batch(seq_len: int, batch: int, input_size: int, seed: int = 0) -> torch.Tensor:
    """Standard-normal inputs of shape (seq_len, batch, input_size) from a private generator."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(seq_len, batch, input_size, generator=g)


def sine(seq_len: int = 100, period: float = 20.0, amplitude: float = 1.0, phase: float = 0.0) -> torch.Tensor:
    """A one-feature sine wave, amplitude * sin(2π t / period + phase) for t = 0..seq_len-1: shape (seq_len, 1, 1)."""
    if seq_len < 1 or period <= 0:
        raise ValueError(f"need seq_len >= 1 and period > 0, got seq_len={seq_len}, period={period}")
    t = torch.arange(seq_len, dtype=torch.float32)
    return (amplitude * torch.sin(2 * torch.pi * t / period + phase)).reshape(seq_len, 1, 1)
