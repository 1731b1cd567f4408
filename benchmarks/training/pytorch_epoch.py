#!/usr/bin/env python3
"""One MNIST training epoch in PyTorch, the same work as ctnn_train_bench, for comparison.

    pytorch_epoch.py --data-dir data/mnist [--threads 1,2] [--models mlp,cnn] [--epochs 1] [--json FILE]

Same architectures as ctnn's seed MLP and CNN (PyTorch convolutions are NCHW, so images are fed as N x 1 x 28 x 28
and the CNN flattens C x H x W; the order of a Flatten does not change the work), Adam(lr=1e-3, eps=1e-7, Keras'
and ctnn's epsilon), batch 32, shuffled, softmax cross-entropy. The IDX files are read with numpy, not
torchvision (which Debian's python3-torch does not ship). Exits 0 with a message when torch is not importable,
so that a missing optional comparison does not fail a script.
"""
import argparse
import gzip
import json
import os
import sys
import time

try:
    import numpy as np
    import torch
    from torch import nn
except ImportError as error:  # optional comparison: skip, do not fail
    print(f"pytorch_epoch.py: skipped, {error.name or 'torch'} is not importable by {sys.executable} "
          "(Debian: apt-get install -y python3-torch, then run with /usr/bin/python3)")
    sys.exit(0)


def read_idx(directory, stem):
    """Reads <stem> or <stem>.gz: a big-endian IDX header (magic, dims) then unsigned bytes."""
    path = os.path.join(directory, stem)
    opener = open
    if not os.path.exists(path):
        path += ".gz"
        opener = gzip.open
    with opener(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    if magic >> 8 != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {magic:#010x})")
    rank = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def load(directory, split):
    images = read_idx(directory, f"{split}-images-idx3-ubyte").astype(np.float32) / 255.0
    labels = read_idx(directory, f"{split}-labels-idx1-ubyte").astype(np.int64)
    return torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels)  # N x 1 x 28 x 28 (NCHW)


def make_model(name):
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(13 * 13 * 32, 128), nn.ReLU(), nn.Linear(128, 10))


def run(name, threads, train, test, epochs):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = make_model(name)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    images, labels = train
    best = float("inf")
    for _ in range(epochs):
        model.train()
        order = torch.randperm(images.shape[0])
        start = time.perf_counter()
        for first in range(0, images.shape[0], 32):
            index = order[first:first + 32]
            optimizer.zero_grad()
            loss = loss_fn(model(images[index]), labels[index])
            loss.backward()
            optimizer.step()
        best = min(best, time.perf_counter() - start)
    model.eval()
    with torch.no_grad():
        accuracy = (model(test[0]).argmax(1) == test[1]).float().mean().item()
    return {"model": name, "threads": threads, "seconds_per_epoch": round(best, 4),
            "images_per_second": round(images.shape[0] / best, 1), "test_accuracy": round(accuracy, 4)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data/mnist")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--models", default="mlp,cnn")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--json")
    args = parser.parse_args()
    threads = [int(t) for t in args.threads.split(",") if t]
    models = [m for m in args.models.split(",") if m]
    for m in models:
        if m not in ("mlp", "cnn"):
            parser.error(f"unknown model {m} (mlp or cnn)")

    train, test = load(args.data_dir, "train"), load(args.data_dir, "t10k")
    print(f"PyTorch {torch.__version__}: {train[0].shape[0]} training images; batch 32, Adam 1e-3, "
          f"{args.epochs} epoch(s), best epoch quoted\n")
    print("| model | threads | s/epoch | images/s | test accuracy |\n|---|---:|---:|---:|---:|")
    results = []
    for m in models:
        for t in threads:
            r = run(m, t, train, test, args.epochs)
            print(f"| {m} | {t} | {r['seconds_per_epoch']:.3f} | {r['images_per_second']:.0f} | "
                  f"{100 * r['test_accuracy']:.2f}% |", flush=True)
            results.append(r)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch": torch.__version__, "epochs": args.epochs, "batch": 32, "results": results}, f,
                      indent=2)


if __name__ == "__main__":
    main()
