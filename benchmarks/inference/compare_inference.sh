#!/usr/bin/env bash
# ctnn vs PyTorch inference, one thread, the same networks at batch 1, 8 and 256, in one run (the machine's
# speed drifts: numbers from different runs do not compare). Builds nothing.
#   benchmarks/inference/compare_inference.sh [BUILD_DIR] [--repetitions N]
# BUILD_DIR defaults to build/release; it must hold benchmarks/inference/ctnn_infer_bench.
# PyTorch runs with $PYTHON if set, else the first of python3, /usr/bin/python3 that can import torch, with
# OpenBLAS's best kernels for this CPU (benchmarks/openblas_coretype.sh).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$root/build/release"
if [[ $# -gt 0 && $1 != --* ]]; then build="$1"; shift; fi
repetitions=3
while [[ $# -gt 0 ]]; do
  case "$1" in
    --repetitions) repetitions="$2"; shift 2 ;;
    *) echo "compare_inference.sh: unknown argument $1 (expected --repetitions N)" >&2; exit 2 ;;
  esac
done

bench="$build/benchmarks/inference/ctnn_infer_bench"
if [[ ! -x $bench ]]; then
  echo "compare_inference.sh: $bench not found; build it first, e.g." >&2
  echo "  cmake --preset release && cmake --build build/release --target ctnn_infer_bench" >&2
  exit 1
fi
python=""
for candidate in ${PYTHON:-} python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "import torch" >/dev/null 2>&1; then
    python="$candidate"
    break
  fi
done

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
echo "== CPU: $(lscpu | sed -n 's/^Model name: *//p')"
echo "== ctnn ($bench)"
"$bench" --benchmark_filter='peak_fma|infer/|infer_bf16/' --benchmark_repetitions="$repetitions" \
  --benchmark_report_aggregates_only=true --benchmark_out="$out/ctnn.json" --benchmark_out_format=json
echo
if [[ -z $python ]]; then
  echo "== PyTorch: not importable, comparison skipped (Debian 12: apt-get install -y python3-torch)"
  exit 0
fi
# shellcheck source=../openblas_coretype.sh
source "$root/benchmarks/openblas_coretype.sh"
echo "== PyTorch ($python)"
"$python" "$here/pytorch_inference.py" --json "$out/torch.json"
echo

# Ratios are PyTorch time / ctnn time: above 1, ctnn is faster. %peak uses this run's median peak_fma.
"$python" - "$out/ctnn.json" "$out/torch.json" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["benchmarks"]
median = {r["run_name"]: r for r in runs if r.get("aggregate_name") == "median"}
peak = median["peak_fma"]["GFLOPS"] if "peak_fma" in median else None  # counters are GFLOP/s
torch = {(r["model"], r["batch"]): r["us_per_call"] for r in json.load(open(sys.argv[2]))["results"]}
print(f"peak_fma (median of this run): {peak:.1f} GFLOP/s" if peak else "peak_fma: not measured")
def us_of(r):
    return r["real_time"] / 1e3 if r["time_unit"] == "ns" else r["real_time"]
# The bf16 column: the same network with its Dense weights in bfloat16 (Bf16Inference), where measured.
bf16 = {tuple(n.split("/")[1:]): us_of(r) for n, r in median.items() if n.startswith("infer_bf16/")}
print("| model | batch | ctnn us/image | ctnn GFLOP/s | % of peak | PyTorch us/image | ctnn speed-up | ctnn bf16 weights us/image |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for name, r in median.items():
    if not name.startswith("infer/"):
        continue
    _, model, batch_text = name.split("/")
    batch = int(batch_text)
    us = us_of(r)
    gflops = r["GFLOPS"]
    t = torch.get((model, batch))
    pct = f"{100 * gflops / peak:.0f}%" if peak else "-"
    ratio = f"{t / us:.2f}x" if t else "-"
    torch_img = f"{t / batch:.2f}" if t else "-"
    b = bf16.get((model, batch_text))
    bf16_img = f"{b / batch:.2f}" if b else "-"
    print(f"| {model} | {batch} | {us / batch:.2f} | {gflops:.1f} | {pct} | {torch_img} | {ratio} | {bf16_img} |")
PY
