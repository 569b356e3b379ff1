"""Reference values of numpy's legacy RandomState seeded with an array (MT19937's
init_by_array), for `RandomState::from_key` and the per-process dropout streams of
data-parallel training (src/distributed/streams.rs). tests/random.rs asserts them.

Run with numpy installed: python3 scripts/random_state_from_key.py
"""
import numpy as np


def raw(rng, n=5):
    """The next n raw 32-bit MT19937 words (what RandomState::next_u32 returns)."""
    return rng._bit_generator.random_raw(n).tolist()


print("RandomState([1, 2, 3]), 5 raw words:", raw(np.random.RandomState([1, 2, 3])))
print("RandomState([7]), 5 raw words:", raw(np.random.RandomState([7])))
print("RandomState(range(1000)), 5 raw words:",
      raw(np.random.RandomState(np.arange(1000, dtype=np.uint32))))

# The stream of process `rank` derived from a generator's state (key, pos): the key words,
# then the position, then the rank, as one init_by_array key.
base = np.random.RandomState(11)
base._bit_generator.random_raw(3)  # moved on: pos 3
_, key, pos, _, _ = base.get_state()
for rank in (1, 2):
    derived = np.random.RandomState(np.concatenate([key, [pos, rank]]).astype(np.uint32))
    print(f"RandomState(11) after 3 draws, derived for rank {rank}, 5 raw words:", raw(derived))
