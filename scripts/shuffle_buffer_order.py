#!/usr/bin/env python3
"""The order of Order::ShuffleBuffer, written with numpy: the definition the Rust tests check.

    python3 scripts/shuffle_buffer_order.py ROWS BLOCK_SIZE BUFFER_SIZE SEED USED EPOCHS

prints one line per epoch: the rows in the order they are trained on (the first USED of them:
all the rows, or whole batches with drop_last; 0 means all). Each epoch, from one
np.random.RandomState(SEED) kept across epochs: the blocks of BLOCK_SIZE contiguous rows in a
random order (rng.permutation), their rows laid block after block, cut into windows of
BUFFER_SIZE rows, each window shuffled (rng.shuffle) when the epoch reaches it (a window that
starts at or after USED is not drawn).
"""
import sys

import numpy as np


def epoch(rng, n, block, buffer, used):
    blocks = rng.permutation(-(-n // block))
    rows = np.concatenate([np.arange(b * block, min(b * block + block, n)) for b in blocks])
    order = []
    for start in range(0, used, buffer):
        window = rows[start:start + buffer].copy()
        rng.shuffle(window)
        order.extend(window.tolist())
    return order[:used]


def main():
    n, block, buffer, seed, used, epochs = map(int, sys.argv[1:7])
    used = used or n
    rng = np.random.RandomState(seed)
    for _ in range(epochs):
        print(epoch(rng, n, block, buffer, used))


if __name__ == "__main__":
    main()
