#!/usr/bin/env bash
# What the README's debug-build advice costs and gives: builds a crate that depends on this
# repository (without default features) and trains a layer of its own (examples/custom_layer/
# swish.rs) in a 784-256-10 network for one epoch of 10,000 random rows, batch 64, under five
# profile settings, each from a clean target folder; prints the processor time (user + system)
# of the clean `cargo build`, then of each run with the epoch as the program timed it.
#
#   scripts/debug_build_cost.sh [RUNS]    RUNS default 3
#
# A: the dev profile as it comes; B: [profile.dev.package.feedforward] opt-level = 3;
# C: [profile.dev.package."*"] opt-level = 3; D: C and [profile.dev] opt-level = 1;
# E: --release. Measure on an idle machine for wall-clock figures.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src"
cp "$repo/examples/custom_layer/swish.rs" "$work/src/swish.rs"
cat >"$work/src/main.rs" <<'RS'
//! A user's crate: its own layer (Swish) in a 784-256-10 network, one epoch on 10,000 random
//! images.
mod swish;
use feedforward::prelude::*;
use std::time::Instant;

fn main() -> feedforward::Result<()> {
    let mut rng = RandomState::new(0);
    let x = rng.rand(10_000, 784)?;
    let labels: Vec<usize> = (0..10_000).map(|i| i % 10).collect();
    let y = feedforward::data::one_hot(&labels, 10)?;
    let data = InMemory::new(x, y)?;
    let mut model = Sequential::builder(784)
        .dense(256, Init::HeNormal)
        .push(swish::Swish::new(1.0))
        .dense(10, Init::XavierNormal)
        .push(Softmax)
        .build()?;
    let mut sgd = Sgd::new(0.05)?;
    let started = Instant::now();
    model.fit(&data, &CrossEntropy, &mut sgd, &FitConfig::new(1).batch_size(64))?;
    println!("epoch: {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}
RS
cp "$repo/Cargo.lock" "$work/Cargo.lock"
for setting in A B C D E; do
  cat >"$work/Cargo.toml" <<TOML
[package]
name = "dependent"
version = "0.1.0"
edition = "2021"

[dependencies]
feedforward = { path = "$repo", default-features = false }
TOML
  case $setting in
    B) printf '\n[profile.dev.package.feedforward]\nopt-level = 3\n' >>"$work/Cargo.toml" ;;
    C) printf '\n[profile.dev.package."*"]\nopt-level = 3\n' >>"$work/Cargo.toml" ;;
    D) printf '\n[profile.dev]\nopt-level = 1\n\n[profile.dev.package."*"]\nopt-level = 3\n' >>"$work/Cargo.toml" ;;
  esac
  flags=()
  [[ $setting == E ]] && flags=(--release)
  rm -rf "$work/target"
  (cd "$work" && /usr/bin/time -f "$setting clean build: processor %U + %S s, wall %e s" \
    cargo build --quiet "${flags[@]}" 2>&1 | grep -v '^warning\|^ *|\|^ *=\|^ *-->\|^$' || true)
  for run in $(seq "$runs"); do
    (cd "$work" && /usr/bin/time -f "$setting run: processor %U + %S s, wall %e s" \
      cargo run --quiet "${flags[@]}" 2>&1 | tr '\n' ' ')
    echo
  done
done
