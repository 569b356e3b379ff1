#!/usr/bin/env bash
# The all-reduce cost model (README, scripts/allreduce_cost.py) measured instead of trusted:
# two processes of `mlp_distributed`, each in its own network namespace, joined by a veth pair
# whose both ends are limited as a cluster's link (`tc netem rate 1gbit delay 0.2ms`); the
# training time with the limit minus the time without, per step, against the model's
# T_comm(2) = 4 P / bandwidth + 2 alpha (P = 235,146 parameters of the 784-256-128-10 model).
# Where the kernel has no netem (`Specified qdisc kind is unknown`), `tbf` limits the bandwidth
# alone, and the script says so: alpha is then the veth's own latency.
#
# Usage (as root; the `mpi` feature's packages installed, see .ci/mpi), on an idle machine:
#   scripts/netns_allreduce.sh [TRAIN_ROWS] [RUNS]
# (defaults 12000 rows, 3 runs of each; one epoch, batch 64: TRAIN_ROWS x 0.9 / 64 steps.)
# BIN=path uses another build of the example (the release build by default).
# mpirun runs in the first namespace and starts the second process through an "rsh agent" that
# is `ip netns exec` (OpenMPI's plm_rsh_agent): no ssh, nothing leaves the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-12000}
runs=${2:-3}
if [[ -z ${BIN:-} ]]; then
  cargo build --release --features mpi --example mlp_distributed
  BIN=target/release/examples/mlp_distributed
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tag=ff$$
a=${tag}a b=${tag}b
work=$(mktemp -d)
cleanup() {
  ip netns del "$a" 2>/dev/null || true
  ip netns del "$b" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$a"
ip netns add "$b"
ip link add "${a}v" type veth peer name "${b}v"
ip link set "${a}v" netns "$a"
ip link set "${b}v" netns "$b"
ip -n "$a" addr add 10.225.0.1/24 dev "${a}v"
ip -n "$b" addr add 10.225.0.2/24 dev "${b}v"
for ns in "$a" "$b"; do
  ip -n "$ns" link set "${ns}v" up
  ip -n "$ns" link set lo up
done
# OpenMPI calls the agent as `AGENT [options] HOST COMMAND...`.
cat >"$work/agent" <<AGENT
#!/bin/sh
while [ "\${1#-}" != "\$1" ]; do shift; done
case \$1 in
  10.225.0.1) ns=$a ;;
  10.225.0.2) ns=$b ;;
  *) echo "no namespace for host \$1" >&2; exit 1 ;;
esac
shift
exec ip netns exec "\$ns" sh -c "\$*"
AGENT
chmod +x "$work/agent"

# One process per namespace, one thread each; TCP over the veth only (no shared memory).
train() {
  RAYON_NUM_THREADS=1 timeout 600 ip netns exec "$a" mpirun -np 2 \
    --host 10.225.0.1:1,10.225.0.2:1 -x RAYON_NUM_THREADS \
    --mca plm_rsh_agent "$work/agent" --mca btl self,tcp \
    --mca btl_tcp_if_include 10.225.0.0/24 --mca oob_tcp_if_include 10.225.0.0/24 \
    "$BIN" --epochs 1 --train-rows "$rows" --quiet 2>/dev/null \
    | sed -n 's/^Training time: \([0-9.]*\) s.*/\1/p'
}
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
limit() {
  local ns
  for ns in "$a" "$b"; do
    if [[ $1 == netem ]]; then
      ip netns exec "$ns" tc qdisc replace dev "${ns}v" root netem rate 1gbit delay 0.2ms
    else
      ip netns exec "$ns" tc qdisc replace dev "${ns}v" root tbf rate 1gbit burst 256kb latency 50ms
    fi
  done
}

for _ in $(seq "$runs"); do train >>"$work/free"; done
if limit netem 2>/dev/null; then
  how="netem: 1 Gbit/s, 0.2 ms each way"
  alpha_us=200
else
  limit tbf
  how="tbf: 1 Gbit/s; no netem in this kernel, so no added delay (alpha: the veth's own)"
  alpha_us=0
fi
for _ in $(seq "$runs"); do train >>"$work/limited"; done
# What went through the limited link (rank 0's side): the gradients must have taken it.
sent=$(ip netns exec "$a" tc -s qdisc show dev "${a}v" | sed -n 's/^ Sent \([0-9]*\) bytes.*/\1/p' | head -1)
free=$(median <"$work/free")
limited=$(median <"$work/limited")
python3 - "$rows" "$free" "$limited" "$alpha_us" "$how" "$sent" "$runs" <<'PY'
import math
import sys

rows, free, limited = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
alpha_us, how, sent, runs = float(sys.argv[4]), sys.argv[5], int(sys.argv[6]), int(sys.argv[7])
widths = [784, 256, 128, 10]
p = sum(a * b + b for a, b in zip(widths, widths[1:]))
train_rows = rows - math.floor(rows * 0.1)  # the example holds 10% out for validation
steps = math.ceil(train_rows / 64)
model_ms = (4 * p / (1e9 / 8) + 2 * alpha_us * 1e-6) * 1e3
print(f"link: {how}")
print(f"one epoch of {train_rows} rows, {steps} steps of 64, 2 processes x 1 thread (medians)")
print(f"training time without the limit {free:.2f} s, with it {limited:.2f} s")
print(f"sent by rank 0 through the limited link: {sent / 1e6:.1f} MB in {runs} runs "
      f"(its all-reduces alone: {runs * steps * 4 * p / 1e6:.1f} MB)")
print(f"the limit's cost per step: measured {(limited - free) / steps * 1e3:.2f} ms, "
      f"modelled {model_ms:.2f} ms (4 P / bandwidth + 2 alpha, P = {p:,})")
PY
