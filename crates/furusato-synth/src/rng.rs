//! Deterministic randomness helpers: per-item RNGs derived from (seed, stream, index), weighted
//! choice, and a keyed permutation of `0..n` used to scatter indices without holding a table.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// SplitMix64 finaliser: a fast, well-mixing bijection on `u64`.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A 64-bit key for item `index` of `stream` under `seed`.
pub(crate) fn key(seed: u64, stream: u64, index: u64) -> u64 {
    mix64(mix64(mix64(seed) ^ stream) ^ index)
}

/// The RNG of item `index` of `stream`: independent of how many other items were generated,
/// so any item can be produced on its own (random access, lazy streams).
pub(crate) fn item_rng(seed: u64, stream: u64, index: u64) -> StdRng {
    StdRng::seed_from_u64(key(seed, stream, index))
}

/// A uniform `f64` in `[0, 1)` from a 64-bit key.
pub(crate) fn unit_f64(k: u64) -> f64 {
    (k >> 11) as f64 / (1u64 << 53) as f64
}

/// Stream identifiers (arbitrary distinct constants).
pub(crate) mod stream {
    pub const PERSON: u64 = 0x5045_5253_4f4e; // "PERSON"
    pub const DONOR: u64 = 0x0044_4f4e_4f52; // "DONOR"
    pub const DONATION: u64 = 0x444f_4e41_5449_4f4e; // "DONATION"
    pub const DONOR_PORTAL: u64 = 0x0044_504f_5254; // "DPORT"
    pub const PERM_DONATION: u64 = 0x5044_4f4e; // "PDON"
    pub const PERM_RANK: u64 = 0x0050_5241_4e4b; // "PRANK"
    pub const PERM_MY_NUMBER: u64 = 0x504d_594e; // "PMYN"
    pub const EXTERNAL_ID: u64 = 0x0045_5854_4944; // "EXTID"
    pub const GIFT_POPULARITY: u64 = 0x4749_4654; // "GIFT"
}

/// Cumulative weights for choosing an index with probability proportional to its weight.
#[derive(Clone, Debug)]
pub(crate) struct Weighted {
    cumulative: Vec<f64>,
}

impl Weighted {
    /// `None` when there is no positive weight. Negative or NaN weights count as zero.
    pub(crate) fn new(weights: impl IntoIterator<Item = f64>) -> Option<Self> {
        let mut total = 0.0;
        let cumulative: Vec<f64> = weights
            .into_iter()
            .map(|w| {
                if w > 0.0 {
                    total += w;
                }
                total
            })
            .collect();
        (total > 0.0).then_some(Self { cumulative })
    }

    pub(crate) fn total(&self) -> f64 {
        *self.cumulative.last().expect("non-empty by construction")
    }

    /// The index whose cumulative interval contains `u * total` (`u` in `[0, 1)`).
    pub(crate) fn pick_unit(&self, u: f64) -> usize {
        let target = u * self.total();
        let i = self.cumulative.partition_point(|&c| c <= target);
        // Zero-weight entries have an empty interval and are never chosen; clamp for u ≈ 1.
        i.min(self.cumulative.len() - 1)
    }

    pub(crate) fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        self.pick_unit(rng.random::<f64>())
    }
}

/// Picks from a static `(item, weight)` table.
pub(crate) fn pick_static<'t, T, R: Rng + ?Sized>(rng: &mut R, table: &'t [(T, u32)]) -> &'t T {
    let total: u32 = table.iter().map(|(_, w)| *w).sum();
    let mut x = rng.random_range(0..total);
    for (item, w) in table {
        if x < *w {
            return item;
        }
        x -= *w;
    }
    &table[table.len() - 1].0
}

/// A keyed pseudo-random permutation of `0..n` (balanced Feistel network + cycle walking).
/// O(1) memory; `apply` is a bijection on `0..n` for every key.
#[derive(Clone, Debug)]
pub(crate) struct Permutation {
    n: u64,
    half_bits: u32,
    keys: [u64; 4],
}

impl Permutation {
    pub(crate) fn new(n: u64, key: u64) -> Self {
        let mut bits = 64 - n.saturating_sub(1).leading_zeros();
        bits = bits.max(2);
        if bits % 2 == 1 {
            bits += 1;
        }
        let keys = [
            mix64(key ^ 1),
            mix64(key ^ 2),
            mix64(key ^ 3),
            mix64(key ^ 4),
        ];
        Self {
            n,
            half_bits: bits / 2,
            keys,
        }
    }

    fn round_trip(&self, v: u64) -> u64 {
        let mask = (1u64 << self.half_bits) - 1;
        let (mut l, mut r) = (v >> self.half_bits, v & mask);
        for k in self.keys {
            let f = mix64(r ^ k) & mask;
            (l, r) = (r, l ^ f);
        }
        (l << self.half_bits) | r
    }

    /// The image of `x` (`x < n`).
    pub(crate) fn apply(&self, x: u64) -> u64 {
        debug_assert!(x < self.n, "permutation input out of range");
        let mut v = self.round_trip(x);
        // The walk stays in the cycle of `x`, which contains `x` itself, so it ends.
        while v >= self.n {
            v = self.round_trip(v);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_bijection_for_many_sizes() {
        for n in [1u64, 2, 3, 4, 5, 7, 8, 100, 1000, 4097, 10_007] {
            for key in [0u64, 42, u64::MAX] {
                let p = Permutation::new(n, key);
                let mut seen = vec![false; n as usize];
                for x in 0..n {
                    let y = p.apply(x);
                    assert!(y < n, "n={n} x={x} y={y}");
                    assert!(!seen[y as usize], "duplicate image n={n} key={key}");
                    seen[y as usize] = true;
                }
            }
        }
    }

    #[test]
    fn permutation_scatters() {
        let p = Permutation::new(1_000_000, 7);
        let moved = (0..1000).filter(|&x| p.apply(x) != x).count();
        assert!(moved > 990);
        // Different keys give different permutations.
        let q = Permutation::new(1_000_000, 8);
        assert!((0..100).filter(|&x| p.apply(x) != q.apply(x)).count() > 90);
    }

    #[test]
    fn weighted_follows_weights_and_skips_zero() {
        let w = Weighted::new([1.0, 0.0, 3.0]).expect("positive weights");
        let mut counts = [0usize; 3];
        let mut rng = item_rng(1, 2, 3);
        for _ in 0..40_000 {
            counts[w.pick(&mut rng)] += 1;
        }
        assert_eq!(counts[1], 0);
        let share = counts[2] as f64 / 40_000.0;
        assert!((share - 0.75).abs() < 0.02, "share {share}");
        assert!(Weighted::new([0.0, -1.0]).is_none());
    }

    #[test]
    fn item_rng_is_reproducible_and_distinct() {
        let a: u64 = item_rng(1, stream::DONOR, 5).random();
        let b: u64 = item_rng(1, stream::DONOR, 5).random();
        let c: u64 = item_rng(1, stream::DONOR, 6).random();
        let d: u64 = item_rng(2, stream::DONOR, 5).random();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }
}
