"""Plotting helpers shared by the notebooks (matplotlib; return the Axes, never call show)."""
from __future__ import annotations

import torch


def _as_2d(states) -> torch.Tensor:
    """Hidden states as (seq_len, hidden_size): accepts (L, H), (L, 1, H) or (1, L, H)."""
    h = torch.as_tensor(states).detach().cpu().float()
    if h.dim() == 3:
        if h.shape[1] == 1:
            h = h[:, 0, :]
        elif h.shape[0] == 1:
            h = h[0]
        else:
            raise ValueError(f"pass the states of one sequence: got shape {tuple(h.shape)} with batch > 1; "
                             f"select one, e.g. output[:, 0, :]")
    if h.dim() != 2:
        raise ValueError(f"expected states of shape (seq_len, hidden_size), got {tuple(h.shape)}")
    return h


def hidden_state_heatmap(states, ax=None, inputs=None, title="Hidden state over time", cmap="RdBu_r"):
    """Draw h_t for one sequence as a heatmap: hidden units down, time steps across.

    `states` is (seq_len, hidden_size) (or the output of an RNN for batch size 1). Colours are
    centred on 0 with limits ±1, the range of tanh. With `inputs` (seq_len values), a strip above
    the heatmap shows the input at each step. Returns the heatmap's Axes.
    """
    import matplotlib.pyplot as plt

    h = _as_2d(states)
    seq_len, hidden_size = h.shape
    if ax is None:
        rows = 2 if inputs is not None else 1
        fig, axes = plt.subplots(rows, 1, figsize=(8, 0.35 * hidden_size + 1.5 * rows), squeeze=False,
                                 sharex=True, gridspec_kw={"height_ratios": [1, 4][-rows:]})
        if inputs is not None:
            x = torch.as_tensor(inputs).detach().cpu().float().reshape(seq_len, -1)
            top = axes[0, 0]
            top.plot(range(seq_len), x[:, 0].numpy(), drawstyle="steps-mid", color="black")
            top.set_ylabel("x_t")
            top.set_title(title)
            title = None
        ax = axes[-1, 0]
    limit = max(1.0, float(h.abs().max()))
    image = ax.imshow(h.T.numpy(), aspect="auto", cmap=cmap, vmin=-limit, vmax=limit,
                      interpolation="nearest", origin="lower")
    ax.set_xlabel("time step t")
    ax.set_ylabel("hidden unit")
    if title:
        ax.set_title(title)
    ax.figure.colorbar(image, ax=ax, label="h_t", fraction=0.04, pad=0.02)
    return ax
