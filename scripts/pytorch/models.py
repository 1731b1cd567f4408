"""PyTorch mirrors of ctnn's test networks, module for layer: module i of each nn.Sequential is ctnn layer i (ctnn's
Input is not a module), so the state dict names ("4.weight", "3.0.weight") are the ones io/state_dict.hpp expects.

Importing this module only defines classes and functions. Each network function returns (model, input_chw): a
fresh nn.Sequential with PyTorch's default initialisation, and the shape (C, H, W) of one input sample. The ctnn
type each one mirrors is in its docstring. BatchNorm here has PyTorch's defaults (eps 1e-5, momentum 0.1): the
ctnn side uses TorchBatchNorm = BatchNorm<std::ratio<9, 10>, std::ratio<1, 100000>>.
"""

import torch
from torch import nn


class Residual(nn.Sequential):
    """ctnn's Residual<...>: x + body(x); its inner modules are named i.0, i.1, ... and nest."""

    def forward(self, x):
        return x + super().forward(x)


class GlobalAvgPool(nn.Module):
    """ctnn's GlobalAvgPool2D: the mean over the pixels, already flat, as one module (one ctnn layer)."""

    def forward(self, x):
        return x.mean(dim=(2, 3))


# ---- the networks of the tests (tests/seed_networks.hpp, tests/test_residual.cpp) ----

def seed_mlp():
    """Sequential<Input<28,28,1>, Flatten, Dense<784,128>, ReLU, Dense<128,10>>"""
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)), (1, 28, 28)


def seed_cnn():
    """Sequential<Input<28,28,1>, Conv2D<3,3,1,32>, ReLU, MaxPool2D<2>, Flatten, Dense<5408,128>, ReLU,
    Dense<128,10>>"""
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(5408, 128),
                         nn.ReLU(), nn.Linear(128, 10)), (1, 28, 28)


def residual_block(channels):
    """Residual<Conv2D<3,3,C,C,1,same>, TorchBatchNorm, ReLU, Conv2D<3,3,C,C,1,same>, TorchBatchNorm>"""
    return Residual(nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU(),
                    nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels))


def residual_net():
    """Sequential<Input<28,28,1>, Conv2D<3,3,1,32,1,same>, TorchBatchNorm, ReLU, Block, ReLU, MaxPool2D<2>, Block,
    ReLU, GlobalAvgPool2D, Dense<32,10>>, Block = residual_block(32): test_residual.cpp's network with PyTorch's
    BatchNorm."""
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), residual_block(32), nn.ReLU(),
                         nn.MaxPool2d(2), residual_block(32), nn.ReLU(), GlobalAvgPool(), nn.Linear(32, 10)), (1, 28, 28)


# ---- small networks for the committed fixtures (tests/test_safetensors.cpp) ----

def fixture_mlp():
    """Sequential<Input<5,4,2>, Flatten, Dense<40,16>, ReLU, Dropout<>, Dense<16,5>>: two channels, so the first
    Dense's rows are permuted (PyTorch flattens C,H,W, ctnn H,W,C)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(40, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 5)), (2, 5, 4)


def fixture_cnn():
    """Sequential<Input<9,8,3>, Conv2D<3,3,3,4>, ReLU, MaxPool2D<2>, Flatten, Dense<36,8>, ReLU, Dense<8,5>>: a
    non-square image, so a swapped height and width shows."""
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(36, 8), nn.ReLU(),
                         nn.Linear(8, 5)), (3, 9, 8)


def fixture_residual():
    """Sequential<Input<8,7,2>, Conv2D<3,3,2,4,1,same>, TorchBatchNorm, ReLU,
    Residual<Conv2D<3,3,4,4,1,same>, TorchBatchNorm, ReLU, Residual<Conv2D<1,1,4,4>>>, ReLU, MaxPool2D<2>,
    Residual<Conv2D<3,3,4,4,1,same>, TorchBatchNorm>, GlobalAvgPool2D, Dense<4,5>>: nested blocks ("3.3.0.weight")."""
    inner = Residual(nn.Conv2d(4, 4, 1))
    first = Residual(nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), inner)
    second = Residual(nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4))
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), first, nn.ReLU(),
                         nn.MaxPool2d(2), second, GlobalAvgPool(), nn.Linear(4, 5)), (2, 8, 7)


def fixture_bn_features():
    """Sequential<Input<4,3,3>, Conv2D<2,2,3,5>, Flatten, TorchBatchNorm, ReLU, Dense<30,6>, Softmax>: a
    BatchNorm1d over flattened multi-channel features (its vectors are permuted too), ending in probabilities."""
    return nn.Sequential(nn.Conv2d(3, 5, 2), nn.Flatten(), nn.BatchNorm1d(30), nn.ReLU(), nn.Linear(30, 6),
                         nn.Softmax(dim=1)), (3, 4, 3)


def randomise(model, generator):
    """Every parameter and BatchNorm statistic drawn at random (biases and running statistics included), so that a
    loader that drops or misplaces any of them changes the outputs."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                c = module.num_features
                module.weight.copy_(0.5 + torch.rand(c, generator=generator))
                module.bias.copy_(0.5 * torch.randn(c, generator=generator))
                module.running_mean.copy_(0.3 * torch.randn(c, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(c, generator=generator))
            elif isinstance(module, (nn.Linear, nn.Conv2d)):
                fan_in = module.weight[0].numel()
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator) / fan_in ** 0.5)
                module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=generator))
    return model
