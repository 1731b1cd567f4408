#!/usr/bin/python3
"""Writes the fuzz_onnx seeds: torch.onnx.export of the PyTorch mirror of ctnn::fuzz::FuzzNetwork
(tests/fuzz/model_file_network.hpp), a few valid and nearly-valid files.

Run from the repository root with Debian's python3-torch (1.13; the export needs no onnx package):
    /usr/bin/python3 tests/fuzz/make_onnx_seeds.py [output directory, default tests/fuzz/corpus/fuzz_onnx]

    kept.onnx        BatchNormalization kept (training=TrainingMode.PRESERVE): loads
    folded.onnx      eval-mode default export, the BatchNorm folded into the Conv: loads (BatchNorm set to identity)
    eps.onnx         BatchNorm epsilon 1e-5 (PyTorch's default), ctnn's BatchNorm<> has 1e-3: refused
    truncated.onnx   kept.onnx without its last 40 bytes
"""

import io
import os
import sys

import torch
from torch import nn


def network(eps):
    # Sequential<Input<4,4,1>, Conv2D<3,3,1,2>, BatchNorm<>, ReLU, Flatten, Dense<8,3>>; BatchNorm<> is Keras'
    # epsilon 1e-3.
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2, eps=eps), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
    with torch.no_grad():
        model[1].running_mean.uniform_(-0.5, 0.5)
        model[1].running_var.uniform_(0.5, 1.5)
    return model.eval()


def export(model, **options):
    out = io.BytesIO()
    torch.onnx.export(model, torch.zeros(1, 1, 4, 4), out, opset_version=14, input_names=["input"],
                      output_names=["logits"], **options)
    return out.getvalue()


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/fuzz_onnx"
    os.makedirs(directory, exist_ok=True)
    kept = export(network(1e-3), training=torch.onnx.TrainingMode.PRESERVE)
    seeds = {
        "kept.onnx": kept,
        "folded.onnx": export(network(1e-3)),
        "eps.onnx": export(network(1e-5), training=torch.onnx.TrainingMode.PRESERVE),
        "truncated.onnx": kept[:-40],
    }
    for name, data in seeds.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
