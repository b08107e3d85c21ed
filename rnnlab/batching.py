"""Variable-length batches: checked packing, a picture of a PackedSequence, minibatch training.

`torch.nn.utils.rnn` does not check that `lengths` fit the padded tensor: on the CPU a length
longer than the time dimension is accepted by `pack_padded_sequence`, which returns a
PackedSequence whose `batch_sizes` promise more rows than its `data` holds, and the error only
comes later, from inside the RNN ("start (9) + length (1) exceeds dimension size (9)").
`check_lengths` and `pack` refuse such lengths at once, with a message that names the sequence.
"""
from __future__ import annotations

import time

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_sequence


def check_lengths(padded: torch.Tensor, lengths, batch_first: bool = False) -> torch.Tensor:
    """Return `lengths` as a 1-D CPU int64 tensor, or raise ValueError saying what is wrong.

    `padded` is (L, N, *) or, with batch_first, (N, L, *); every length must be a whole number
    in [1, L], and there must be one per sequence.
    """
    if not isinstance(padded, torch.Tensor) or padded.dim() < 2:
        raise ValueError(f"padded must be a tensor of shape (L, N, *) or (N, L, *), got "
                         f"{tuple(padded.shape) if isinstance(padded, torch.Tensor) else type(padded).__name__}")
    batch_dim, time_dim = (0, 1) if batch_first else (1, 0)
    n, steps = padded.shape[batch_dim], padded.shape[time_dim]
    layout = "(N, L, *) with batch_first=True" if batch_first else "(L, N, *) with batch_first=False"
    values = torch.as_tensor(lengths).detach()
    if values.device.type == "meta":
        raise ValueError("lengths are on the meta device: they have no values to check")
    values = values.cpu()
    if values.dim() != 1:
        raise ValueError(f"lengths must be 1-D, one per sequence; got shape {tuple(values.shape)}")
    if values.is_floating_point():
        if not bool((values == values.round()).all()):
            raise ValueError(f"lengths must be whole numbers; got {values.tolist()}")
    elif values.dtype == torch.bool or values.is_complex():
        raise ValueError(f"lengths must be integers; got dtype {values.dtype}")
    values = values.to(torch.int64)
    if len(values) != n:
        raise ValueError(f"got {len(values)} lengths for {n} sequences: padded has shape "
                         f"{tuple(padded.shape)}, read as {layout}")
    for i, length in enumerate(values.tolist()):
        if length < 1:
            raise ValueError(f"sequence {i} has length {length}; every length must be at least 1")
        if length > steps:
            raise ValueError(f"sequence {i} has length {length} but padded has only {steps} time steps "
                             f"(shape {tuple(padded.shape)}, read as {layout})")
    return values


def pack(padded: torch.Tensor, lengths, batch_first: bool = False) -> PackedSequence:
    """`pack_padded_sequence` with the lengths checked first and the batch in any order."""
    lengths = check_lengths(padded, lengths, batch_first)
    return pack_padded_sequence(padded, lengths, batch_first=batch_first, enforce_sorted=False)


def pad_batch(seqs, batch_first: bool = False, extra: int = 0, padding_value: float = 0.0):
    """Pad a list of (L_i, *) tensors into one tensor; return (padded, lengths).

    `extra` appends that many more padding steps after the longest sequence (to show that a
    packed model ignores padding and an unpacked one does not).
    """
    if len(seqs) == 0:
        raise ValueError("seqs is empty: there is nothing to pad")
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.int64)
    padded = pad_sequence(list(seqs), batch_first=batch_first, padding_value=padding_value)
    if extra:
        time_dim = 1 if batch_first else 0
        shape = list(padded.shape)
        shape[time_dim] = extra
        padded = torch.cat([padded, padded.new_full(shape, padding_value)], dim=time_dim)
    return padded, lengths


def pad_and_pack(seqs, batch_first: bool = False) -> PackedSequence:
    """A PackedSequence straight from a list of (L_i, *) tensors, in any order of lengths."""
    padded, lengths = pad_batch(seqs, batch_first=batch_first)
    return pack(padded, lengths, batch_first=batch_first)


def h_n_one_by_one(rnn: torch.nn.RNNBase, padded: torch.Tensor, lengths) -> torch.Tensor:
    """The reference: h_n of `rnn` run on each sequence alone, without its padding.

    Returns (D * num_layers, N, hidden_size) in the batch order of `padded` (read with
    `rnn.batch_first`), detached.
    """
    lengths = check_lengths(padded, lengths, rnn.batch_first)
    states = []
    with torch.no_grad():
        for i, length in enumerate(lengths.tolist()):
            one = padded[i:i + 1, :length] if rnn.batch_first else padded[:length, i:i + 1]
            states.append(rnn(one)[1])
    return torch.cat(states, dim=1)


def summary_one_by_one(rnn: torch.nn.RNNBase, padded: torch.Tensor, lengths) -> torch.Tensor:
    """The reference summary of each sequence run alone: the last layer's h_n, both directions side by side.

    Returns (N, D * hidden_size): `cat([h_n[-2], h_n[-1]], dim=-1)` for a bidirectional layer,
    `h_n[-1]` for one direction.
    """
    h_n = h_n_one_by_one(rnn, padded, lengths)
    return torch.cat([h_n[-2], h_n[-1]], dim=-1) if rnn.bidirectional else h_n[-1]


def packed_positions(packed: PackedSequence) -> list[tuple[int, int]]:
    """For each row of `packed.data`: (sequence index in the original batch order, time step)."""
    batch_sizes = packed.batch_sizes.tolist()
    order = (packed.sorted_indices.tolist() if packed.sorted_indices is not None
             else list(range(batch_sizes[0])))
    return [(order[k], t) for t, size in enumerate(batch_sizes) for k in range(size)]


def draw_packed(packed: PackedSequence, title: str = "How a PackedSequence lays out the time steps"):
    """Two panels: the padded batch (each valid cell labelled with its row in `packed.data`) and
    `packed.data` itself, row by row, grouped by time step with the `batch_sizes`. Returns the axes."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    positions = packed_positions(packed)
    batch_sizes = packed.batch_sizes.tolist()
    n, steps = batch_sizes[0], len(batch_sizes)
    colours = plt.get_cmap("tab10")
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(6.0, 0.62 * len(positions) + 1.0), 1.3 + 0.55 * n + 1.6),
                                      gridspec_kw={"height_ratios": [n + 0.8, 2.2]})
    where = {pos: row for row, pos in enumerate(positions)}
    for i in range(n):
        for t in range(steps):
            row = where.get((i, t))
            if row is None:
                top.add_patch(Rectangle((t, i), 1, 1, facecolor="0.92", edgecolor="white", hatch="//"))
                top.text(t + 0.5, i + 0.5, "pad", ha="center", va="center", color="0.55", fontsize=8)
            else:
                top.add_patch(Rectangle((t, i), 1, 1, facecolor=colours(t % 10), alpha=0.55, edgecolor="white"))
                top.text(t + 0.5, i + 0.5, f"data[{row}]", ha="center", va="center", fontsize=8)
    top.set_xlim(0, steps)
    top.set_ylim(n, 0)
    top.set_xticks([t + 0.5 for t in range(steps)], [f"t={t}" for t in range(steps)])
    top.set_yticks([i + 0.5 for i in range(n)], [f"sequence {i}" for i in range(n)])
    top.set_title(f"{title}\npadded batch (rows in the original order)", fontsize=10)
    top.tick_params(length=0)

    for row, (i, t) in enumerate(positions):
        bottom.add_patch(Rectangle((row, 0), 1, 1, facecolor=colours(t % 10), alpha=0.55, edgecolor="white"))
        bottom.text(row + 0.5, 0.5, f"s{i}\nt={t}", ha="center", va="center", fontsize=7)
    start = 0
    for t, size in enumerate(batch_sizes):
        bottom.plot([start + 0.1, start + size - 0.1], [-0.15, -0.15], color=colours(t % 10), linewidth=3)
        bottom.text(start + size / 2, -0.4, f"t={t}: {size}", ha="center", va="top", fontsize=8)
        start += size
    bottom.set_xlim(0, len(positions))
    bottom.set_ylim(-1.1, 1.05)
    bottom.set_xticks([row + 0.5 for row in range(len(positions))], [str(r) for r in range(len(positions))], fontsize=7)
    bottom.xaxis.set_ticks_position("top")
    bottom.set_yticks([0.5, -0.55], ["data row", "batch_sizes"], fontsize=8)
    bottom.tick_params(axis="y", length=0)
    bottom.set_title("packed.data: time-major, longest sequence first at every step", fontsize=10, pad=22)
    for side in ("left", "right", "bottom", "top"):
        bottom.spines[side].set_visible(False)
    top.figure.tight_layout()
    return top, bottom


# -- minibatch training of a sequence classifier ----------------------------------------------------

def minibatches(n: int, batch_size: int, generator: torch.Generator | None = None) -> list[list[int]]:
    """Indices 0..n-1 cut into batches, shuffled when a generator is given."""
    order = torch.randperm(n, generator=generator).tolist() if generator is not None else list(range(n))
    return [order[k:k + batch_size] for k in range(0, n, batch_size)]


def train_classifier(model: torch.nn.Module, seqs, labels, *, epochs: int = 15, batch_size: int = 32,
                     lr: float = 1e-2, seed: int = 0) -> dict:
    """Train `model(padded, lengths) -> logits` (padded batch-first) with Adam and cross-entropy.

    Each minibatch is padded to its own longest sequence; the gradients are clipped to norm 1 before
    each step. Returns {"loss": per-epoch mean loss, "grad_norm": per-step gradient norm before
    clipping, "seconds": training time}.
    """
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    labels = torch.as_tensor(labels)
    losses, grad_norms, started = [], [], time.perf_counter()
    model.train()
    for _ in range(epochs):
        total = 0.0
        for batch in minibatches(len(seqs), batch_size, generator):
            padded, lengths = pad_batch([seqs[i] for i in batch], batch_first=True)
            loss = torch.nn.functional.cross_entropy(model(padded, lengths), labels[batch])
            optimiser.zero_grad()
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)   # the norm before clipping
            optimiser.step()
            grad_norms.append(grad_norm.item())
            total += loss.item() * len(batch)
        losses.append(total / len(seqs))
    model.eval()
    return {"loss": losses, "grad_norm": grad_norms, "seconds": time.perf_counter() - started}


def predict_logits(model: torch.nn.Module, seqs, *, batch_size: int = 256, extra: int = 0) -> torch.Tensor:
    """Logits (N, classes) of `model(padded, lengths)`, with `extra` padding steps added to every batch."""
    model.eval()
    outs = []
    with torch.no_grad():
        for batch in minibatches(len(seqs), batch_size):
            padded, lengths = pad_batch([seqs[i] for i in batch], batch_first=True, extra=extra)
            outs.append(model(padded, lengths))
    return torch.cat(outs)
