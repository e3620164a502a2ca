import Foundation

/// The decoder's own PRNG, so that a seed means the same pixels on every
/// platform and Swift version (the standard library's generator makes no
/// such promise). Steele, Lea & Flood 2014, "Fast splittable pseudorandom
/// number generators" (SplitMix64).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for one independent stream (level, iteration, band…),
    /// derived by hashing, so parallel work never shares a sequence.
    public init(seed: UInt64, stream: UInt64...) {
        var s = SplitMix64(seed: seed)
        var h = s.next()
        for v in stream {
            var t = SplitMix64(seed: h ^ (v &* 0x9E37_79B9_7F4A_7C15))
            h = t.next()
        }
        state = h
    }

    @inline(__always) public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<n (Lemire's multiply-shift; the tiny bias is irrelevant here).
    @inline(__always) public mutating func below(_ n: Int) -> Int {
        Int((UInt64(truncatingIfNeeded: next() >> 32) &* UInt64(n)) >> 32)
    }

    /// Uniform in [0, 1).
    @inline(__always) public mutating func unit() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Standard normal by Box–Muller.
    public mutating func gaussian() -> Float {
        let u1 = max(unit(), 1e-7), u2 = unit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Float.pi * u2)
    }
}
