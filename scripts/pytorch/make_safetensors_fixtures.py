#!/usr/bin/python3
"""Writes the safetensors fixtures of tests/test_safetensors.cpp: small PyTorch networks (scripts/pytorch/models.py)
with random weights, a batch of inputs and PyTorch's outputs for it.

Run from the repository root with Debian's python3-torch (1.13):
    /usr/bin/python3 scripts/pytorch/make_safetensors_fixtures.py [output directory, default tests/fixtures/pytorch]

The `safetensors` Python package is not in Debian 12 (and PyPI is out of reach), so the files are written and
read by save_file / load_file below, with numpy, following the format: a u64 little-endian header length, the
JSON header padded with spaces to a multiple of 8 bytes, then the tensors in C order. tests/pytorch/ imports
these two functions too.

Every weight, bias and BatchNorm statistic is random (fixed seeds) and every model is in eval mode. For each NAME:
    NAME.safetensors     the model's state_dict() as PyTorch holds it, num_batches_tracked (I64) included
    NAME.io.safetensors  "input" float32 [N, C, H, W] and "output" float32 [N, classes]: the model's output
Two networks are also stored in half precision (cnn_f16: F16, residual_bf16: BF16); their outputs are PyTorch's
for the rounded weights, so ctnn's F16 and BF16 conversion is checked against PyTorch's own rounding.
"""

import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402

_NUMPY_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32,
                 "U8": np.uint8}


def _entry(value):
    """(dtype name, shape, bytes) of a numpy array or a torch tensor."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().contiguous()
        if value.dtype == torch.bfloat16:
            return "BF16", list(value.shape), value.view(torch.int16).numpy().astype("<i2").tobytes()
        value = value.numpy()
    value = np.asarray(value)  # not ascontiguousarray: it turns a scalar into shape [1]
    for name, dtype in _NUMPY_DTYPES.items():
        if value.dtype == dtype:
            return name, list(value.shape), value.astype(np.dtype(dtype).newbyteorder("<")).tobytes(order="C")
    raise ValueError(f"no safetensors dtype for {value.dtype}")


def save_file(tensors, path, metadata=None):
    """Writes {name: numpy array or torch tensor} as a safetensors file, tensors in name order."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        dtype, shape, data = _entry(tensors[name])
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)


def load_file(path):
    """{name: torch tensor} of a safetensors file (F32, F16, BF16, F64, I64, I32, U8)."""
    with open(path, "rb") as f:
        raw = f.read()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    data = raw[8 + length:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        chunk = data[begin:end]
        if info["dtype"] == "BF16":
            bits = torch.from_numpy(np.frombuffer(chunk, dtype="<i2").copy())
            tensor = bits.view(torch.bfloat16)
        else:
            tensor = torch.from_numpy(np.frombuffer(chunk, dtype=np.dtype(_NUMPY_DTYPES[info["dtype"]]).newbyteorder("<"))
                                      .astype(_NUMPY_DTYPES[info["dtype"]]))
        tensors[name] = tensor.reshape(info["shape"])
    return tensors


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
