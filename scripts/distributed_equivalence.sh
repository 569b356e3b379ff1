#!/usr/bin/env bash
# One epoch of the mlp example's model on the full MNIST training file, on 1 process and on N
# (default 2) with the same global batch, then the largest relative difference of their
# parameters (scripts/compare_safetensors.py). Needs the `mpi` feature's packages (.ci/mpi).
# Usage: scripts/distributed_equivalence.sh [N] [EXTRA OPTIONS OF mlp_distributed...]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2}
shift || true
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cargo build --release --features mpi --example mlp_distributed
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bin=target/release/examples/mlp_distributed
run() {
  mpirun --oversubscribe -np "$1" --mca btl self,vader,tcp --mca btl_tcp_if_include lo \
    --mca oob_tcp_if_include lo "$bin" --epochs 1 --quiet --save "$out/$1.safetensors" "${@:2}"
}
run 1 "$@"
run "$n" "$@"
mv "$out/$n.safetensors" "$out/again.safetensors"
run "$n" "$@" >/dev/null
cmp "$out/$n.safetensors" "$out/again.safetensors" && echo "two $n-process runs: bit-identical files"
python3 scripts/compare_safetensors.py "$out/$n.safetensors" "$out/1.safetensors"
