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


def hidden_state_heatmap(states, ax=None, inputs=None, title="Hidden state over time", cmap="RdBu_r",
                         input_label=None, limits=None, label="h_t", cax=None):
    """Draw h_t for one sequence as a heatmap: hidden units down, time steps across.

    `states` is (seq_len, hidden_size) (or the output of an RNN for batch size 1). Colours are
    centred on 0 with limits ±1, the range of tanh (wider if a state is larger). With `inputs`, a
    panel above the heatmap shows the input at each step: a line for one feature per step, an
    image (features down, time across) for several, e.g. the 8 pixels of a digit's row, with its
    own colour bar. The colour bars sit in a column of their own, so both panels have the same
    width and the same x limits: the input of step t sits exactly above column t of the heatmap,
    whatever the inputs' shape. Returns the heatmap's Axes.

    For gates, which live in (0, 1), pass `limits=(0, 1)`, `cmap="viridis"` (the course's convention:
    dark = 0, yellow = 1) and a `label` for the colour bar. When you pass `ax`, pass `cax` too (an
    Axes of its own for the colour bar) to keep the heatmap as wide as the panels above it.
    """
    import matplotlib.pyplot as plt

    h = _as_2d(states)
    seq_len, hidden_size = h.shape
    x = None if inputs is None else _inputs_2d(inputs, seq_len)
    steps = (-0.5, seq_len - 0.5)  # imshow's cell edges: column t spans t - 0.5 .. t + 0.5
    if ax is None:
        rows = 2 if x is not None else 1
        fig = plt.figure(figsize=(8, min(0.3 * hidden_size, 4.0) + 1.2 * rows), layout="constrained")  # fits 800 px
        grid = fig.add_gridspec(rows, 2, width_ratios=[40, 1], height_ratios=[1, 4][-rows:])
        ax = fig.add_subplot(grid[-1, 0])
        colour_bar_ax = fig.add_subplot(grid[-1, 1])
        if x is not None:
            top = fig.add_subplot(grid[0, 0], sharex=ax)
            if x.shape[1] == 1:
                top.plot(range(seq_len), x[:, 0].numpy(), drawstyle="steps-mid", color="black")
                top.set_ylabel(input_label or "x_t")
                fig.add_subplot(grid[0, 1]).set_visible(False)
            else:
                picture = top.imshow(x.T.numpy(), aspect="auto", cmap="gray_r", interpolation="nearest")
                top.set_ylabel("feature")
                fig.colorbar(picture, cax=fig.add_subplot(grid[0, 1]), label=input_label or "x_t")
            top.tick_params(labelbottom=False)
            top.set_title(title)
            title = None
    else:
        colour_bar_ax = cax
    if limits is None:
        limit = max(1.0, float(h.abs().max()))
        limits = (-limit, limit)
    image = ax.imshow(h.T.numpy(), aspect="auto", cmap=cmap, vmin=limits[0], vmax=limits[1],
                      interpolation="nearest", origin="lower")
    ax.set_xlim(*steps)
    ax.set_xlabel("time step t")
    ax.set_ylabel("hidden unit")
    if title:
        ax.set_title(title)
    if colour_bar_ax is None:
        ax.figure.colorbar(image, ax=ax, label=label, fraction=0.04, pad=0.02)
    else:
        ax.figure.colorbar(image, cax=colour_bar_ax, label=label)
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


def _spread_labels(centres, min_gap=0.08, rounds=200):
    """Positions near `centres` (k, 2) at least `min_gap` apart, in units of the points' range.

    A few rounds of pairwise repulsion: labels whose centres are close move apart symmetrically,
    labels with room stay on their centre. Deterministic.
    """
    span = (centres.max(dim=0).values - centres.min(dim=0).values).clamp_min(1e-9)
    pos = (centres / span).clone()
    for _ in range(rounds):
        gap = pos[:, None, :] - pos[None, :, :]                  # (k, k, 2)
        dist = gap.norm(dim=-1) + torch.eye(len(pos)) * 1e9
        close = dist < min_gap
        if not close.any():
            break
        direction = torch.where(dist[..., None] > 1e-9, gap / dist[..., None].clamp_min(1e-9),
                                torch.tensor([1.0, 0.0]))
        push = ((min_gap - dist).clamp_min(0)[..., None] * direction * close[..., None]).sum(dim=1) / 2
        pos = pos + push
    return pos * span


def pca_scatter(points, labels=None, ax=None, title="States (PCA)", legend_title="label"):
    """Scatter many states (n, hidden_size) in the plane of their first two principal components.

    With integer `labels` (n,), points are coloured by label, a legend gives each label's colour,
    and each label is written next to the mean of its points (an annotation whose `xy` is the
    mean; labels whose means are close are pushed apart, with a line to their mean, so none hides
    another); `legend_title` names what the labels are (e.g. "digit", "speaker"). The first
    collection holds the projection from `pca(points, 2)`. Returns the Axes.
    """
    import matplotlib.pyplot as plt

    x = torch.as_tensor(points).detach().cpu().float()
    if x.dim() != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError(f"points must have shape (n, hidden_size) with n >= 2 and hidden_size >= 2, "
                         f"got {tuple(x.shape)}")
    projection, explained = pca(x, 2)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 5))
    p = projection.numpy()
    if labels is None:
        ax.scatter(p[:, 0], p[:, 1], s=10, color="tab:blue")
    else:
        y = _as_1d(labels, x.shape[0], "labels").long()
        scatter = ax.scatter(p[:, 0], p[:, 1], c=y.numpy(), cmap="tab10", vmin=-0.5, vmax=9.5, s=10, alpha=0.6)
        values = torch.unique(y).tolist()
        centres = torch.stack([projection[y == value].mean(dim=0) for value in values])
        for value, centre, at in zip(values, centres.tolist(), _spread_labels(centres).tolist()):
            moved = max(abs(at[0] - centre[0]), abs(at[1] - centre[1])) > 1e-6
            ax.annotate(str(value), xy=centre, xytext=at, fontsize=11, fontweight="bold", ha="center", va="center",
                        color=scatter.cmap(scatter.norm(value)),
                        bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
                        arrowprops={"arrowstyle": "-", "color": "black", "linewidth": 0.6} if moved else None)
        handles = [plt.Line2D([], [], marker="o", linestyle="", color=scatter.cmap(scatter.norm(value)), label=str(value))
                   for value in values]
        ax.legend(handles=handles, title=legend_title, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
                  title_fontsize=8, handletextpad=0.2, borderaxespad=0.0)
    ax.set_xlabel(f"PC1 ({100 * explained[0]:.0f}% of variance)")
    ax.set_ylabel(f"PC2 ({100 * explained[1]:.0f}% of variance)")
    if title:
        ax.set_title(title)
    return ax


def gru_cell_diagram(ax=None):
    """Draw the data path of one step of PyTorch's GRU (`nn.GRU`, `nn.GRUCell`), in batch rows.

    x_t and h_{t-1} feed the reset gate r_t and the update gate z_t (sigmoids); the candidate n_t
    adds x_t W_in^T + b_in to r_t ⊙ (h_{t-1} W_hn^T + b_hn): the reset is applied *after* the
    product with W_hn, bias included (PyTorch's form, not Cho et al.'s); then
    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}. Returns the Axes (its texts name every node).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4.6))
    ax.set_xlim(-0.3, 12.3)
    ax.set_ylim(-0.9, 5.3)
    ax.set_axis_off()
    colours = {"gate": "#d8e8f8", "candidate": "#fde3c8", "op": "white", "io": "#eeeeee"}

    def box(x, y, text, kind, w=1.9, h=0.7, size=9):
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.05",
                                    facecolor=colours[kind], edgecolor="black", linewidth=0.9))
        ax.text(x, y, text, ha="center", va="center", fontsize=size)

    def arrow(start, end, text=None, colour="black", offset=(0.0, 0.15)):
        ax.annotate("", xy=end, xytext=start,
                    arrowprops={"arrowstyle": "-|>", "color": colour, "linewidth": 1.1, "shrinkA": 0, "shrinkB": 0})
        if text:
            ax.text((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1], text,
                    ha="center", va="bottom", fontsize=8, color=colour)

    # inputs and the carry path of h_{t-1} along the top
    box(0.5, 4.6, r"$h_{t-1}$", "io", w=0.9)
    box(0.5, -0.4, r"$x_t$", "io", w=0.9)
    box(11.6, 4.6, r"$h_t$", "io", w=0.9)
    ax.plot([0.95, 11.15], [4.6, 4.6], color="black", linewidth=1.1)  # the carry line
    ax.plot([1.3, 1.3], [4.6, 0.9], color="tab:gray", linewidth=1.0)   # h_{t-1} down to the gates
    ax.plot([0.5, 0.5], [-0.05, 0.9], color="tab:gray", linewidth=1.0)  # x_t up to the gates
    ax.plot([0.5, 5.0], [0.9, 0.9], color="tab:gray", linewidth=1.0)
    ax.text(3.0, 0.65, r"$x_t$ and $h_{t-1}$ go to both gates", ha="center", va="top", fontsize=8, color="tab:gray")

    # the gates (z on the left: its output rises to the mix; r on the right, next to the candidate)
    box(2.6, 2.1, r"$z_t = \sigma(x_t W_{iz}^\top + b_{iz}$" "\n" r"$+\ h_{t-1} W_{hz}^\top + b_{hz})$", "gate", w=2.5, h=0.95)
    box(5.4, 2.1, r"$r_t = \sigma(x_t W_{ir}^\top + b_{ir}$" "\n" r"$+\ h_{t-1} W_{hr}^\top + b_{hr})$", "gate", w=2.5, h=0.95)
    for x in (2.6, 5.4):
        arrow((x, 0.9), (x, 1.6))
    ax.text(2.6, 1.15, "update gate", ha="center", fontsize=8)
    ax.text(5.4, 1.15, "reset gate", ha="center", fontsize=8)

    # the candidate: W_hn first, then the reset, then tanh
    box(7.6, 3.6, r"$h_{t-1} W_{hn}^\top + b_{hn}$", "candidate", w=2.1)
    arrow((7.6, 4.6), (7.6, 3.95))
    box(7.6, 2.4, r"$\odot$", "op", w=0.5, h=0.5, size=12)
    arrow((7.6, 3.25), (7.6, 2.65))
    arrow((6.65, 2.4), (7.35, 2.4), colour="tab:blue")
    ax.text(7.0, 2.48, r"$r_t$", ha="center", va="bottom", fontsize=8, color="tab:blue")
    ax.text(6.5, 2.95, r"reset applied after $W_{hn}$" "\n" r"(bias $b_{hn}$ included)", ha="right", va="center",
            fontsize=8, color="tab:blue")
    box(7.6, 0.2, r"$x_t W_{in}^\top + b_{in}$", "candidate", w=1.9)
    ax.plot([0.95, 6.65], [-0.4, -0.4], color="tab:gray", linewidth=1.0)
    arrow((6.5, -0.4), (6.65, 0.05), colour="tab:gray")
    box(9.0, 1.3, r"$n_t = \tanh(\,\cdot + \cdot\,)$", "candidate", w=1.9)
    arrow((7.85, 2.3), (8.6, 1.65))
    arrow((8.55, 0.2), (9.0, 0.95))
    ax.text(10.05, 1.3, "candidate", ha="left", va="center", fontsize=8)  # clear of the arrows into n_t

    # the mix
    box(10.6, 3.1, r"$h_t = (1 - z_t) \odot n_t$" "\n" r"$+\ z_t \odot h_{t-1}$", "op", w=2.3, h=0.95)
    arrow((9.3, 1.65), (10.3, 2.6), r"$n_t$", offset=(-0.25, 0.0))
    ax.plot([2.6, 2.6, 9.2], [2.575, 4.25, 4.25], color="tab:red", linewidth=1.1)
    arrow((9.2, 4.25), (9.7, 3.55), r"$z_t$", colour="tab:red", offset=(0.15, 0.0))
    arrow((11.1, 4.6), (11.1, 3.6))
    arrow((11.6, 3.6), (11.6, 4.25))
    ax.text(11.0, 4.75, r"$z_t \approx 1$: keep", ha="right", va="bottom", fontsize=8, color="tab:red")
    ax.set_title("One step of PyTorch's GRU (rows: $x_t$ is $(N, H_{in})$, $h_{t-1}$ is $(N, H)$)", fontsize=10)
    return ax
