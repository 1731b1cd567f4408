#!/usr/bin/env bash
# ctnn vs PyTorch, one MNIST training epoch each, side by side in one run (the machine is shared: numbers from
# different runs do not compare). Builds nothing.
#   benchmarks/training/compare.sh [BUILD_DIR] [--data-dir DIR] [--threads 1,2] [--models mlp,cnn] [--epochs N]
# BUILD_DIR defaults to build/release (the release preset); it must hold benchmarks/training/ctnn_train_bench.
# PyTorch runs with $PYTHON if set, else the first of python3, /usr/bin/python3 that can import torch.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$root/build/release"
if [[ $# -gt 0 && $1 != --* ]]; then build="$1"; shift; fi
data="$root/data/mnist" threads="1,2" models="mlp,cnn" epochs=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --data-dir) data="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    *) echo "compare.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

bench="$build/benchmarks/training/ctnn_train_bench"
if [[ ! -x $bench ]]; then
  echo "compare.sh: $bench not found; build it first, e.g." >&2
  echo "  cmake --preset release && cmake --build build/release --target ctnn_train_bench" >&2
  exit 1
fi

python=""
for candidate in ${PYTHON:-} python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "import torch, numpy" >/dev/null 2>&1; then
    python="$candidate"
    break
  fi
done

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

echo "== ctnn ($bench)"
"$bench" --data-dir "$data" --threads "$threads" --models "$models" --epochs "$epochs" --json "$out/ctnn.json"
echo
if [[ -z $python ]]; then
  echo "== PyTorch: not importable, comparison skipped. On Debian 12:"
  echo "  apt-get install -y python3-torch      # PyTorch 1.13.1, for /usr/bin/python3"
  exit 0
fi
echo "== PyTorch ($python)"
# Debian's PyTorch does its matrix products through libblas.so.3: with the reference BLAS (what a machine gets
# when nothing better is installed) its epochs ran ~8x slower here (MLP 10.1 s, not 1.2 s), which is no fair
# comparison. libopenblas0 (scripts/install_deps.sh --bench) takes over the alternative.
blas=$(update-alternatives --query "libblas.so.3-$(uname -m)-linux-gnu" 2>/dev/null | sed -n 's/^Value: //p' || true)
if [[ -n $blas && $blas != *openblas* && $blas != *blis* && $blas != *mkl* ]]; then
  echo "warning: PyTorch runs on the reference BLAS ($blas); install libopenblas0 for a fair comparison" >&2
fi
# shellcheck source=../openblas_coretype.sh
source "$root/benchmarks/openblas_coretype.sh"
"$python" "$here/pytorch_epoch.py" --data-dir "$data" --threads "$threads" --models "$models" --epochs "$epochs" \
  --json "$out/torch.json"
echo

# The ratio is PyTorch seconds / ctnn seconds: above 1, ctnn is faster.
"$python" - "$out/ctnn.json" "$out/torch.json" <<'PY'
import json, sys
ctnn = {(r["model"], r["threads"]): r for r in json.load(open(sys.argv[1]))["results"]}
torch = {(r["model"], r["threads"]): r for r in json.load(open(sys.argv[2]))["results"]}
print("| model | threads | ctnn s/epoch | PyTorch s/epoch | ctnn speed-up over PyTorch | ctnn 1->N threads |")
print("|---|---:|---:|---:|---:|---:|")
for key in sorted(ctnn, key=lambda k: (k[0] != "mlp", k[1])):
    c, t = ctnn[key], torch.get(key)
    one = ctnn.get((key[0], 1))
    scaling = f"{one['seconds_per_epoch'] / c['seconds_per_epoch']:.2f}x" if one else "-"
    ratio = f"{t['seconds_per_epoch'] / c['seconds_per_epoch']:.2f}x" if t else "-"
    torch_s = f"{t['seconds_per_epoch']:.3f}" if t else "-"
    print(f"| {key[0]} | {key[1]} | {c['seconds_per_epoch']:.3f} | {torch_s} | {ratio} | {scaling} |")
PY
