/// SplitMix64 (Steele, Lea, Flood 2014): a tiny seeded generator that turns any 64-bit seed, even 0 or 1, into
/// well-mixed output, the same sequence on every platform. The simulator derives one independent seed per vehicle
/// from the run's seed with it; tests use it wherever a random choice must be repeatable (jittered backoff,
/// generated inputs).
package struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    package init(seed: UInt64) {
        state = seed
    }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
