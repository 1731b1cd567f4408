#!/usr/bin/python3
"""Live parity between PyTorch and ctnn through safetensors files, for the seed MLP, the seed CNN and the residual
network (scripts/pytorch/models.py). Needs torch; exits 77 (ctest: skipped) without it.

    live_parity.py --helper build/.../pytorch_parity_helper --work-dir DIRECTORY

Per network:
  PyTorch -> ctnn: PyTorch trains a few Adam steps on random data (so BatchNorm's statistics move), writes its
    state dict (num_batches_tracked included) and a batch of inputs; the helper loads them and writes ctnn's
    logits, which must have the same argmax as PyTorch's and lie within 1e-4 of them (relative to the largest
    |logit|, at least 1).
  ctnn -> PyTorch: the helper trains a few steps on synthetic data and saves; a freshly initialised PyTorch model
    takes that file with load_state_dict(strict=True) and must predict what ctnn predicted, to the same tolerance.
"""

import argparse
import os
import subprocess
import sys

try:
    import torch
except ImportError as error:
    print(f"skipped: torch cannot be imported by {sys.executable} ({error})")
    sys.exit(77)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts", "pytorch"))
import models  # noqa: E402
from safetensors_numpy import load_file, save_file  # noqa: E402

NETWORKS = {"seed_mlp": models.seed_mlp, "seed_cnn": models.seed_cnn, "residual_net": models.residual_net}
TOLERANCE = 1e-4


def compare(what, expected, found):
    """Same argmax, and the largest difference within TOLERANCE of the largest |logit| (at least 1)."""
    scale = max(1.0, expected.abs().max().item())
    difference = (expected - found).abs().max().item()
    same_class = bool((expected.argmax(dim=1) == found.argmax(dim=1)).all())
    ok = same_class and difference <= TOLERANCE * scale
    print(f"  {what}: max |logit difference| {difference:.3g} (largest |logit| {scale:.3g}), "
          f"same argmax: {same_class} -> {'ok' if ok else 'FAILED'}")
    return ok


def check(name, helper, directory):
    print(name)
    base = os.path.join(directory, name)
    torch.manual_seed(sum(map(ord, name)))
    model, input_chw = NETWORKS[name]()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(3):
        x = torch.rand((16,) + input_chw)
        labels = torch.randint(0, 10, (16,))
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), labels).backward()
        optimizer.step()
    model.eval()
    inputs = torch.rand((8,) + input_chw)
    with torch.no_grad():
        torch_logits = model(inputs)
    save_file(dict(model.state_dict()), base + ".torch.safetensors", {"format": "pt"})
    save_file({"input": inputs}, base + ".inputs.safetensors")

    subprocess.run([helper, name, directory], check=True)
    ok = compare("PyTorch -> ctnn", torch_logits, load_file(base + ".ctnn_logits.safetensors")["logits"])

    torch.manual_seed(12345)
    fresh, _ = NETWORKS[name]()
    fresh.load_state_dict(load_file(base + ".ctnn.safetensors"), strict=True)
    fresh.eval()
    with torch.no_grad():
        fresh_logits = fresh(inputs)
    ok = compare("ctnn -> PyTorch", load_file(base + ".ctnn_trained_logits.safetensors")["logits"], fresh_logits) and ok
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--helper", required=True)
    parser.add_argument("--work-dir", required=True)
    args = parser.parse_args()
    os.makedirs(args.work_dir, exist_ok=True)
    torch.set_num_threads(1)  # two cores shared with the C++ helper and whatever else runs
    results = [check(name, args.helper, args.work_dir) for name in NETWORKS]
    if not all(results):
        print("PyTorch and ctnn disagree")
        return 1
    print("PyTorch and ctnn agree on every network")
    return 0


if __name__ == "__main__":
    sys.exit(main())
