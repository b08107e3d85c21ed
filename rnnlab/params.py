"""The weights of a recurrent layer, one layer and one direction at a time (for from-scratch code)."""
from __future__ import annotations

import torch


def direction_params(module: torch.nn.RNNBase, layer: int = 0, reverse: bool = False) -> tuple[torch.Tensor, ...]:
    """(W_ih, W_hh, b_ih, b_hh) of one layer and one direction of an nn.RNN / nn.GRU / nn.LSTM, detached.

    `layer` counts from 0; `reverse=True` picks the backward direction (the `_reverse` parameters).
    Raises ValueError for a layer or direction the module does not have, or a module without biases.
    """
    if not 0 <= layer < module.num_layers:
        raise ValueError(f"layer={layer}, but the module has num_layers={module.num_layers}")
    if reverse and not module.bidirectional:
        raise ValueError("reverse=True, but the module is not bidirectional")
    if not module.bias:
        raise ValueError("the module was built with bias=False: it has no b_ih, b_hh")
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    return tuple(getattr(module, name + suffix).detach() for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
