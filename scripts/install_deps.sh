#!/usr/bin/env bash
# Installs the Debian 12 packages ctnn needs, and only those that are missing.
#   scripts/install_deps.sh               build + tests + examples + benchmarks
#   scripts/install_deps.sh --experiment  + the data for examples/shuffled_pixels (npm, Fashion-MNIST)
#   scripts/install_deps.sh --bench       + what the benchmarks compare against (OpenBLAS, oneDNN, PyTorch, hyperfine)
#   scripts/install_deps.sh --ci          + clang-14, its OpenMP runtime and libFuzzer/sanitizer runtimes (CI variants)
#   scripts/install_deps.sh --plots       + gnuplot, which examples/translation uses to draw its plot
# Silent when everything is present. As root (or with password-less sudo) it installs with apt-get;
# otherwise it prints the apt-get command to run and exits 1.
set -euo pipefail

usage() { sed -n '2,9s/^# \{0,1\}//p' "$0"; }

packages=(cmake g++ make pkg-config libxtensor-dev xtl-dev libxsimd-dev doctest-dev libbenchmark-dev zlib1g-dev
          libstb-dev nlohmann-json3-dev libcli11-dev libonnx-dev libprotobuf-dev)
want_npm=0
for arg in "$@"; do
    case "$arg" in
        --experiment) packages+=(dataset-fashion-mnist); want_npm=1 ;;
        --bench) packages+=(libopenblas-dev libdnnl-dev ocl-icd-opencl-dev python3-torch python3-numpy hyperfine) ;;
        --ci) packages+=(clang-14 libomp-14-dev libclang-rt-14-dev) ;;
        --plots) packages+=(gnuplot-nox) ;;
        -h | --help) usage; exit 0 ;;
        *) echo "install_deps.sh: unknown option '$arg'" >&2; usage >&2; exit 2 ;;
    esac
done

installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

missing=()
for p in "${packages[@]}"; do
    installed "$p" || missing+=("$p")
done
# npm often comes with a nodejs package of its own (NodeSource's nodejs provides and conflicts with Debian's
# npm): asking apt for 'npm' there would replace that Node.js. Only a machine with no npm command gets Debian's.
if ((want_npm)) && ! command -v npm >/dev/null 2>&1; then
    missing+=(npm)
fi
# A repeated option must not list a package twice.
if ((${#missing[@]})); then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')
fi

((${#missing[@]} == 0)) && exit 0

install_cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) -eq 0 ]]; then
    sudo_cmd=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo_cmd=(sudo -n)
else
    echo "install_deps.sh: missing Debian packages: ${missing[*]}" >&2
    echo "install_deps.sh: run as root:" >&2
    echo "  $install_cmd" >&2
    exit 1
fi

echo "install_deps.sh: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
