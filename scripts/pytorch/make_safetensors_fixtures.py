#!/usr/bin/python3
"""Writes the safetensors fixtures of tests/test_safetensors.cpp: small PyTorch networks (scripts/pytorch/models.py)
with random weights, a batch of inputs and PyTorch's outputs for it.

Run from the repository root with Debian's python3-torch (1.13):
    /usr/bin/python3 scripts/pytorch/make_safetensors_fixtures.py [output directory, default tests/fixtures/pytorch]

The `safetensors` Python package is not in Debian 12 (and PyPI is out of reach): the files are written by
safetensors_numpy.py beside this script, a few lines of numpy.

Every weight, bias and BatchNorm statistic is random (fixed seeds) and every model is in eval mode. For each NAME:
    NAME.safetensors     the model's state_dict() as PyTorch holds it, num_batches_tracked (I64) included
    NAME.io.safetensors  "input" float32 [N, C, H, W] and "output" float32 [N, classes]: the model's output
Two networks are also stored in half precision (cnn_f16: F16, residual_bf16: BF16); their outputs are PyTorch's
for the rounded weights, so ctnn's F16 and BF16 conversion is checked against PyTorch's own rounding.
"""

import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402
from safetensors_numpy import save_file  # noqa: E402


def _rounded_state(model, dtype):
    """The state dict with every float tensor in `dtype`; the model's own values rounded the same way."""
    state = {}
    with torch.no_grad():
        for name, value in model.state_dict().items():
            if value.is_floating_point():
                low = value.to(dtype)
                value.copy_(low.to(torch.float32))  # the state dict shares storage with the model
                state[name] = low
            else:
                state[name] = value.clone()
    return state


def write_fixture(name, make, directory, seed, dtype=torch.float32, batch=4):
    generator = torch.Generator().manual_seed(seed)
    model, input_chw = make()
    models.randomise(model, generator)
    model.eval()
    state = _rounded_state(model, dtype) if dtype != torch.float32 else dict(model.state_dict())
    x = torch.randn((batch,) + input_chw, generator=generator)
    with torch.no_grad():
        y = model(x)
    save_file(state, os.path.join(directory, name + ".safetensors"), {"format": "pt"})
    save_file({"input": x, "output": y}, os.path.join(directory, name + ".io.safetensors"))
    size = sum(os.path.getsize(os.path.join(directory, name + suffix)) for suffix in (".safetensors", ".io.safetensors"))
    print(f"{name}: {size} bytes, output {tuple(y.shape)}")
    return size


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else os.path.join("tests", "fixtures", "pytorch")
    os.makedirs(directory, exist_ok=True)
    total = 0
    total += write_fixture("mlp", models.fixture_mlp, directory, seed=1)
    total += write_fixture("cnn", models.fixture_cnn, directory, seed=2)
    total += write_fixture("residual", models.fixture_residual, directory, seed=3)
    total += write_fixture("bn_features", models.fixture_bn_features, directory, seed=4)
    total += write_fixture("cnn_f16", models.fixture_cnn, directory, seed=5, dtype=torch.float16)
    total += write_fixture("residual_bf16", models.fixture_residual, directory, seed=6, dtype=torch.bfloat16)
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()
