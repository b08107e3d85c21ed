"""rnnlab.params: one layer and one direction of a recurrent module's weights."""
import pytest
import torch
from torch import nn

from rnnlab.params import direction_params


@pytest.mark.parametrize("kind", [nn.RNN, nn.GRU, nn.LSTM])
def test_direction_params_picks_the_named_tensors(kind):
    torch.manual_seed(0)
    module = kind(3, 4, num_layers=2, bidirectional=True)
    W_ih, W_hh, b_ih, b_hh = direction_params(module, layer=1, reverse=True)
    assert torch.equal(W_ih, module.weight_ih_l1_reverse) and torch.equal(W_hh, module.weight_hh_l1_reverse)
    assert torch.equal(b_ih, module.bias_ih_l1_reverse) and torch.equal(b_hh, module.bias_hh_l1_reverse)
    assert W_ih.shape[1] == 8  # layer 1 reads both directions of layer 0
    assert not any(t.requires_grad for t in (W_ih, W_hh, b_ih, b_hh))
    assert torch.equal(direction_params(module)[0], module.weight_ih_l0)


def test_direction_params_refuses_what_the_module_lacks():
    with pytest.raises(ValueError, match="num_layers=1"):
        direction_params(nn.RNN(3, 4), layer=1)
    with pytest.raises(ValueError, match="not bidirectional"):
        direction_params(nn.GRU(3, 4), reverse=True)
    with pytest.raises(ValueError, match="bias=False"):
        direction_params(nn.RNN(3, 4, bias=False))
