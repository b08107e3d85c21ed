"""Plotting helpers shared by the notebooks (matplotlib; return the Axes, never call show).

Pictures of a hidden state:
- `hidden_state_heatmap`: every unit over time, for one sequence;
- `unit_over_input`: one unit's activation drawn over the input it reads;
- `pca_trajectory`: the path of the state in the plane of its first two principal components;
- `pca_scatter`: many states (e.g. the final states of many sequences) in that plane, coloured by label.

`pca` is the numeric part (centred SVD, deterministic signs), tested on its own.
"""
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


def _as_1d(values, length: int, name: str) -> torch.Tensor:
    """One value per step as a float tensor of shape (length,): accepts (L,), (L, 1), (L, 1, 1), (1, L, 1)."""
    v = torch.as_tensor(values).detach().cpu().float()
    if v.numel() != length or (v.dim() > 0 and max(v.shape) != length):
        raise ValueError(f"{name} must hold one value per step ({length}), got shape {tuple(v.shape)}")
    return v.reshape(length)


def _inputs_2d(inputs, seq_len: int) -> torch.Tensor:
    """Inputs of one sequence as (seq_len, features): accepts (L,), (L, F), (L, 1, F) or (1, L, F)."""
    x = torch.as_tensor(inputs).detach().cpu().float()
    if x.dim() == 3 and x.shape[1] == 1:
        x = x[:, 0, :]
    elif x.dim() == 3 and x.shape[0] == 1:
        x = x[0]
    elif x.dim() == 1:
        x = x[:, None]
    if x.dim() != 2 or x.shape[0] != seq_len:
        raise ValueError(f"inputs must be one sequence of seq_len={seq_len} steps, (seq_len,) or "
                         f"(seq_len, features), got shape {tuple(torch.as_tensor(inputs).shape)}")
    return x


def pca(points, k: int = 2):
    """Principal components of `points` (n, features): returns (projection (n, k), explained (k,)).

    The points are centred and decomposed with an SVD (`torch.linalg.svd`: exact, and it draws no
    random numbers, unlike `torch.pca_lowrank`). `explained[i]` is the share of the total variance
    along component i. A component's sign is arbitrary, so it is fixed here: each column of the
    projection has its largest-magnitude entry positive. (L, 1, H) and (1, L, H) states are accepted.
    """
    x = _as_2d(points)
    n, features = x.shape
    if not 1 <= k <= min(n, features):
        raise ValueError(f"k={k} components need 1 <= k <= min(n, features) = {min(n, features)} "
                         f"for points of shape {tuple(x.shape)}")
    centred = x - x.mean(dim=0)
    _, s, vh = torch.linalg.svd(centred, full_matrices=False)
    projection = centred @ vh[:k].T
    biggest = projection.gather(0, projection.abs().argmax(dim=0, keepdim=True))
    projection = projection * torch.where(biggest < 0, -1.0, 1.0)
    variance = s**2
    total = variance.sum()
    explained = variance[:k] / total if total > 0 else torch.zeros(k)
    return projection, explained


def hidden_state_heatmap(states, ax=None, inputs=None, title="Hidden state over time", cmap="RdBu_r"):
    """Draw h_t for one sequence as a heatmap: hidden units down, time steps across.

    `states` is (seq_len, hidden_size) (or the output of an RNN for batch size 1). Colours are
    centred on 0 with limits ±1, the range of tanh. With `inputs`, a panel above the heatmap shows
    the input at each step: a line for one feature per step, an image (features down, time
    across) for several, e.g. the 8 pixels of a digit's row. Returns the heatmap's Axes.
    """
    import matplotlib.pyplot as plt

    h = _as_2d(states)
    seq_len, hidden_size = h.shape
    x = None if inputs is None else _inputs_2d(inputs, seq_len)
    if ax is None:
        rows = 2 if x is not None else 1
        fig, axes = plt.subplots(rows, 1, figsize=(8, min(0.35 * hidden_size, 5.0) + 1.5 * rows), squeeze=False,
                                 sharex=True, gridspec_kw={"height_ratios": [1, 4][-rows:]})
        if x is not None:
            top = axes[0, 0]
            if x.shape[1] == 1:
                top.plot(range(seq_len), x[:, 0].numpy(), drawstyle="steps-mid", color="black")
                top.set_ylabel("x_t")
            else:
                top.imshow(x.T.numpy(), aspect="auto", cmap="gray_r", interpolation="nearest")
                top.set_ylabel("x_t features")
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


def unit_over_input(states, inputs, unit, ax=None, time=None, time_label="time step t", input_label="input x_t",
                    title=None):
    """Draw hidden unit `unit` over time (left axis) on top of the input (grey, right axis).

    `states` is (seq_len, hidden_size) for one sequence; `inputs` holds one value per step
    (seq_len,). `time` gives the x values (e.g. years, with time_label="year"; default 0..seq_len-1).
    Returns the unit's Axes: its first line is the unit; the input is the first line of its twin
    Axes (`ax.twin`).
    """
    import matplotlib.pyplot as plt

    h = _as_2d(states)
    seq_len, hidden_size = h.shape
    x = _as_1d(inputs, seq_len, "inputs")
    if not isinstance(unit, int) or isinstance(unit, bool) or not 0 <= unit < hidden_size:
        raise ValueError(f"unit must be an int in [0, {hidden_size}), got {unit!r}")
    t = torch.arange(seq_len, dtype=torch.float32) if time is None else _as_1d(time, seq_len, "time")
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3))
    ax.plot(t.numpy(), h[:, unit].numpy(), color="tab:red", label=f"unit {unit}")
    ax.set_ylabel(f"h_t[{unit}]", color="tab:red")
    ax.set_xlabel(time_label)
    ax.axhline(0.0, color="tab:red", linewidth=0.5, alpha=0.5)
    twin = ax.twinx()
    twin.plot(t.numpy(), x.numpy(), color="gray", alpha=0.6, label=input_label)
    twin.set_ylabel(input_label, color="gray")
    ax.set_zorder(twin.get_zorder() + 1)  # the unit on top of the input
    ax.patch.set_visible(False)
    ax.twin = twin
    ax.set_title(title if title is not None else f"Hidden unit {unit} over the input")
    return ax


def pca_trajectory(states, ax=None, color_by=None, label="time step t", title="State trajectory (PCA)"):
    """Draw the path of one sequence's states in the plane of their first two principal components.

    `states` is (seq_len, hidden_size) with hidden_size >= 2. The path is a thin line (its first
    Line2D holds the projection from `pca(states, 2)`); the points are coloured by `color_by`
    (one value per step; default the step index), and the start is marked. Axis labels give each
    component's share of the variance. Returns the Axes.
    """
    import matplotlib.pyplot as plt

    h = _as_2d(states)
    seq_len, hidden_size = h.shape
    if hidden_size < 2 or seq_len < 2:
        raise ValueError(f"a 2-D projection needs at least 2 steps and 2 hidden units, got shape {tuple(h.shape)}")
    c = torch.arange(seq_len, dtype=torch.float32) if color_by is None else _as_1d(color_by, seq_len, "color_by")
    projection, explained = pca(h, 2)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    p = projection.numpy()
    ax.plot(p[:, 0], p[:, 1], color="gray", linewidth=0.8, alpha=0.7)
    points = ax.scatter(p[:, 0], p[:, 1], c=c.numpy(), cmap="viridis", s=14, zorder=3)
    ax.scatter(p[:1, 0], p[:1, 1], marker="x", color="black", s=60, zorder=4, label="start")
    ax.figure.colorbar(points, ax=ax, label=label, fraction=0.046, pad=0.04)
    ax.set_xlabel(f"PC1 ({100 * explained[0]:.0f}% of variance)")
    ax.set_ylabel(f"PC2 ({100 * explained[1]:.0f}% of variance)")
    ax.legend(loc="best")
    if title:
        ax.set_title(title)
    return ax


def pca_scatter(points, labels=None, ax=None, title="States (PCA)"):
    """Scatter many states (n, hidden_size) in the plane of their first two principal components.

    With integer `labels` (n,), points are coloured by label and each label is written at the
    mean of its points. The first collection holds the projection from `pca(points, 2)`.
    Returns the Axes.
    """
    import matplotlib.pyplot as plt

    x = torch.as_tensor(points).detach().cpu().float()
    if x.dim() != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError(f"points must have shape (n, hidden_size) with n >= 2 and hidden_size >= 2, "
                         f"got {tuple(x.shape)}")
    projection, explained = pca(x, 2)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    p = projection.numpy()
    if labels is None:
        ax.scatter(p[:, 0], p[:, 1], s=10, color="tab:blue")
    else:
        y = _as_1d(labels, x.shape[0], "labels").long()
        ax.scatter(p[:, 0], p[:, 1], c=y.numpy(), cmap="tab10", vmin=-0.5, vmax=9.5, s=10, alpha=0.7)
        for value in torch.unique(y).tolist():
            centre = projection[y == value].mean(dim=0)
            ax.text(float(centre[0]), float(centre[1]), str(value), fontsize=14, fontweight="bold",
                    ha="center", va="center", bbox={"boxstyle": "circle", "facecolor": "white", "alpha": 0.8})
    ax.set_xlabel(f"PC1 ({100 * explained[0]:.0f}% of variance)")
    ax.set_ylabel(f"PC2 ({100 * explained[1]:.0f}% of variance)")
    if title:
        ax.set_title(title)
    return ax
