#!/usr/bin/python3
"""Writes the ONNX fixtures of tests/onnx: small PyTorch networks, each exported with torch.onnx.export, with a
batch of inputs and PyTorch's outputs for it.

Run from the repository root with Debian's python3-torch (1.13; the export needs no onnx package):
    /usr/bin/python3 scripts/pytorch/make_onnx_fixtures.py [output directory, default tests/fixtures/onnx]

Each network is an nn.Sequential that mirrors a ctnn network layer for layer, so module i is ctnn layer i (the
ctnn types are in tests/onnx/test_onnx.cpp). The mirrors' building blocks (Residual, GlobalAvgPool) and two of
the networks come from models.py beside this script. Weights are random with a fixed seed, BatchNorm statistics
are randomised, every model is in eval mode. For each NAME it writes
    NAME.onnx          the exported graph (opset 14)
    NAME.input.npy     float32 [N, C, H, W], PyTorch's layout
    NAME.output.npy    float32 [N, classes], PyTorch's eval-mode output for that input
The residual network is exported twice: residual_folded.onnx as torch.onnx.export does by default in eval mode
(each BatchNorm folded into the Conv before it, no BatchNormalization node) and residual_kept.onnx with
training=TrainingMode.PRESERVE, which keeps the BatchNormalization nodes (do_constant_folding=False alone does
not, in 1.13).
"""

import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402
from models import Residual  # noqa: E402


def mlp():
    # Input<6,6,2>: two channels, so the Dense after Flatten needs its rows permuted (C,H,W -> H,W,C).
    return nn.Sequential(nn.Flatten(), nn.Linear(72, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 5),
                         nn.Softmax(dim=1)), (2, 6, 6)


def cnn():
    # Input<12,12,3>; the second convolution is Conv2D<3,3,8,16,2,same>: on a 5x5 image TensorFlow's "same"
    # padding is one pixel on every side, as PyTorch's padding=1.
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, stride=2, padding=1),
                         nn.ReLU(), nn.Flatten(), nn.Linear(144, 10)), (3, 12, 12)


def residual():
    # Input<8,8,3>; convolutions inside the block have no bias (ctnn loads zeros for theirs).
    block = Residual(nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                     nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8))
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), block, nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(128, 10)), (3, 8, 8)


def pooling():
    # Input<9,9,4>: AvgPool2D<3,2> (9 -> 4); GlobalAvgPool2D written as adaptive pooling and a flatten (one module,
    # exported as GlobalAveragePool + Flatten; models.GlobalAvgPool's x.mean((2, 3)) exports as ReduceMean).
    return nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.AvgPool2d(3, stride=2),
                         nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()),
                         nn.Linear(8, 5)), (4, 9, 9)


def randomise_batch_norms(model, generator):
    """Statistics and affine parameters away from their initial values, so that a loader that ignored them fails
    (models.randomise does this and more, but needs every convolution to have a bias)."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            c = module.num_features
            with torch.no_grad():
                module.weight.copy_(0.5 + torch.rand(c, generator=generator))
                module.bias.copy_(0.5 * torch.randn(c, generator=generator))
                module.running_mean.copy_(0.3 * torch.randn(c, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(c, generator=generator))


def export(name, model, input_chw, directory, batch=3, **export_options):
    generator = torch.Generator().manual_seed(sum(map(ord, name)))
    x = torch.randn((batch,) + input_chw, generator=generator)
    model.eval()
    with torch.no_grad():
        y = model(x)
    path = os.path.join(directory, name + ".onnx")
    torch.onnx.export(model, x, path, input_names=["input"], output_names=["output"], opset_version=14,
                      **export_options)
    np.save(os.path.join(directory, name + ".input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(directory, name + ".output.npy"), y.numpy().astype(np.float32))
    print(f"{path}: {os.path.getsize(path)} bytes, output {tuple(y.shape)}")


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else os.path.join("tests", "fixtures", "onnx")
    os.makedirs(directory, exist_ok=True)
    torch.manual_seed(14)
    generator = torch.Generator().manual_seed(14)

    for name, make in [("mlp", mlp), ("cnn", cnn), ("pooling", pooling)]:
        model, input_chw = make()
        export(name, model, input_chw, directory)

    model, input_chw = residual()
    randomise_batch_norms(model, generator)
    export("residual_folded", model, input_chw, directory)
    export("residual_kept", model, input_chw, directory, training=torch.onnx.TrainingMode.PRESERVE,
           do_constant_folding=False)

    # Nested blocks, a BatchNorm folded inside a block, a non-square image, ReduceMean for GlobalAvgPool2D.
    model, input_chw = models.fixture_residual()
    export("nested_residual", models.randomise(model, generator), input_chw, directory)
    # A BatchNorm1d over features flattened from a multi-channel image: kept (no Conv directly before it).
    model, input_chw = models.fixture_bn_features()
    export("bn_features", models.randomise(model, generator), input_chw, directory)


if __name__ == "__main__":
    main()
