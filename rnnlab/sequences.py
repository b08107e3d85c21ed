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


def marked_values(seq_len: int = 30, batch: int = 1, mark_prob: float = 0.1, seed: int = 0):
    """The "remember the last marked value" task, from a private generator.

    Every step shows a value v_t ~ U(-1, 1); a step is *marked* with probability `mark_prob`. The
    target at step t is the value of the most recent marked step <= t (0 before the first mark).
    Returns (x, stored, marks): x (seq_len, batch, 2) float with features (v_t, mark_t as 0/1);
    stored (seq_len, batch) float, the target; marks (seq_len, batch) bool.
    """
    if seq_len < 1 or batch < 1 or not 0.0 <= mark_prob <= 1.0:
        raise ValueError(f"need seq_len >= 1, batch >= 1 and 0 <= mark_prob <= 1, "
                         f"got seq_len={seq_len}, batch={batch}, mark_prob={mark_prob}")
    g = torch.Generator().manual_seed(seed)
    values = torch.rand(seq_len, batch, generator=g) * 2 - 1
    marks = torch.rand(seq_len, batch, generator=g) < mark_prob
    steps = torch.arange(seq_len).unsqueeze(1).expand(seq_len, batch)
    last = torch.where(marks, steps, torch.full_like(steps, -1)).cummax(dim=0).values
    stored = torch.where(last >= 0, values.gather(0, last.clamp(min=0)), torch.zeros(()))
    x = torch.stack([values, marks.float()], dim=-1)
    return x, stored, marks


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
