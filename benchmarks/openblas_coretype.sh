# Sourced by the PyTorch comparison scripts: gives OpenBLAS (PyTorch's BLAS on Debian) its best kernels.
# OpenBLAS 0.3.21 picks its kernels from the CPU model; on a model it does not know (an Intel Xeon reporting
# family 6 model 207, seen here) it falls back to "Prescott" (SSE3) and PyTorch's dense layers run 2-5x
# slower. When the CPU has AVX-512 (or AVX2) but OpenBLAS chose an older core, export OPENBLAS_CORETYPE so the
# comparison is fair, and say so. A value the user already set is kept.
# Needs: $python (an interpreter that imports torch).
openblas_core() {
  "$python" - <<'PY' 2>/dev/null || true
import ctypes, ctypes.util
for name in ("libblas.so.3", "libopenblas.so.0"):
    try:
        lib = ctypes.CDLL(name)
        lib.openblas_get_corename.restype = ctypes.c_char_p
        print(lib.openblas_get_corename().decode())
        break
    except (OSError, AttributeError):
        continue
PY
}
if [[ -z ${OPENBLAS_CORETYPE:-} ]]; then
  core=$(openblas_core)
  flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
  wanted=""
  if [[ $flags == *" avx512f "* && $core != SkylakeX && $core != Cooperlake && $core != SapphireRapids ]]; then
    wanted=SkylakeX
  elif [[ $flags == *" avx2 "* && $flags == *" fma "* && ($core == Prescott || $core == Core2 || $core == Penryn ||
          $core == Dunnington || $core == Nehalem || $core == Sandybridge || $core == Katmai) ]]; then
    wanted=Haswell
  fi
  if [[ -n $wanted ]]; then
    export OPENBLAS_CORETYPE=$wanted
    echo "OpenBLAS chose its '$core' kernels for this CPU; running PyTorch with OPENBLAS_CORETYPE=$wanted"
  elif [[ -n $core ]]; then
    echo "OpenBLAS kernels: $core"
  fi
else
  echo "OpenBLAS kernels: OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE (set by the caller)"
fi
