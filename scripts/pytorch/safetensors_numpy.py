"""safetensors files from Python without the `safetensors` package (not in Debian 12; PyPI is out of reach).

    import sys; sys.path.insert(0, "scripts/pytorch")
    from safetensors_numpy import save_file, load_file
    save_file(model.state_dict(), "model.safetensors", {"format": "pt"})   # what ctnn::io::load_safetensors reads
    model.load_state_dict(load_file("trained_by_ctnn.safetensors"), strict=True)

The format: a u64 little-endian header length, the JSON header ({"name": {"dtype", "shape", "data_offsets"}},
"__metadata__") padded with spaces to a multiple of 8 bytes, then the tensors in C order, in name order.
Needs numpy and torch (Debian: python3-numpy, python3-torch).
"""

import json
import struct

import numpy as np
import torch

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
