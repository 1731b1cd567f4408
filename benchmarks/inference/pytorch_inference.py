#!/usr/bin/env python3
"""PyTorch inference of ctnn_infer_bench's networks, for comparison in the same run.

    pytorch_inference.py [--batches 1,8,256] [--models mlp,cnn,residual] [--seconds 1.0] [--json FILE]

One thread (torch.set_num_threads(1)), eval mode, torch.inference_mode(), inputs made once, the same
architectures as benchmarks/networks.hpp (NCHW: the work is the same). Each row is the median over 5 rounds of
`--seconds` each of microseconds per call. Exits 0 with a message when torch is not importable.
"""
import argparse
import json
import sys
import time

try:
    import torch
    from torch import nn
except ImportError as error:  # optional comparison: skip, do not fail
    print(f"pytorch_inference.py: skipped, {error.name or 'torch'} is not importable by {sys.executable}")
    sys.exit(0)


class Residual(nn.Sequential):
    """x + body(x): ctnn's Residual<...>."""

    def forward(self, x):
        return x + super().forward(x)


def make_model(name):
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    if name == "cnn":
        return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(13 * 13 * 32, 128), nn.ReLU(), nn.Linear(128, 10))

    def block():
        return Residual(nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                        nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32))

    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), block(), nn.ReLU(),
                         nn.MaxPool2d(2), block(), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(32, 10))


def time_model(model, batch, seconds):
    x = torch.rand(batch, 1, 28, 28)
    with torch.inference_mode():
        for _ in range(3):
            model(x)
        rounds = []
        for _ in range(5):
            calls, start = 0, time.perf_counter()
            while True:
                model(x)
                calls += 1
                elapsed = time.perf_counter() - start
                if elapsed >= seconds:
                    break
            rounds.append(elapsed / calls * 1e6)
    rounds.sort()
    return rounds[len(rounds) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="1,8,256")
    parser.add_argument("--models", default="mlp,cnn,residual")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(1)
    results = []
    for name in args.models.split(","):
        model = make_model(name).eval()
        for batch in (int(b) for b in args.batches.split(",")):
            us = time_model(model, batch, args.seconds)
            results.append({"model": name, "batch": batch, "us_per_call": us})
            print(f"{name:9s} batch {batch:4d}: {us:10.1f} us per call, {us / batch:8.2f} us per image", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch": torch.__version__, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
