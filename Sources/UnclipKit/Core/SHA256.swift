import CKernels
import Foundation

/// SHA-256 (FIPS 180-4). Embedding files record the hash of their source and
/// of the model's weights, and `model pull` checks downloads against the
/// hub's digest; the toolchain has no hash on Linux without swift-crypto,
/// which would double the build time for one function.
public struct SHA256 {
    private var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    private var buffer = [UInt8]()
    private var length: UInt64 = 0

    private static let k = UnsafeBufferPointer(start: ck_sha256_constants(), count: 64)

    /// Whether whole blocks go to the CPU's SHA instructions.
    private let useHardware: Bool

    /// `hardware: false` keeps to the portable rounds even on a CPU with
    /// SHA instructions (the tests compare the two).
    public init(hardware: Bool = true) { useHardware = hardware && Self.hardware }

    public mutating func update(_ data: UnsafeRawBufferPointer) {
        length += UInt64(data.count)
        var i = 0
        if !buffer.isEmpty {
            while i < data.count && buffer.count < 64 { buffer.append(data[i]); i += 1 }
            if buffer.count == 64 { buffer.withUnsafeBytes { blocks($0.baseAddress!, count: 1) }; buffer.removeAll(keepingCapacity: true) }
        }
        let whole = (data.count - i) / 64
        if whole > 0 { blocks(data.baseAddress! + i, count: whole); i += 64 * whole }
        while i < data.count { buffer.append(data[i]); i += 1 }
    }

    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    public mutating func finalize() -> [UInt8] {
        let bits = length &* 8
        var pad: [UInt8] = [0x80]
        while (buffer.count + pad.count) % 64 != 56 { pad.append(0) }
        for s in stride(from: 56, through: 0, by: -8) { pad.append(UInt8((bits >> UInt64(s)) & 0xFF)) }
        let saved = length
        update(pad)
        length = saved
        var out = [UInt8]()
        for v in h { for s in stride(from: 24, through: 0, by: -8) { out.append(UInt8((v >> UInt32(s)) & 0xFF)) } }
        return out
    }

    private static let hardware = ck_sha256_available() != 0

    private mutating func blocks(_ p: UnsafeRawPointer, count: Int) {
        if useHardware {
            h.withUnsafeMutableBufferPointer { ck_sha256_blocks($0.baseAddress!, p.assumingMemoryBound(to: UInt8.self), count) }
            return
        }
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            for b in 0..<count { block(p + 64 * b, schedule: w) }
        }
    }

    private mutating func block(_ p: UnsafeRawPointer, schedule w: UnsafeMutableBufferPointer<UInt32>) {
        for t in 0..<16 {
            w[t] = UInt32(p.load(fromByteOffset: 4 * t, as: UInt8.self)) << 24 | UInt32(p.load(fromByteOffset: 4 * t + 1, as: UInt8.self)) << 16
                | UInt32(p.load(fromByteOffset: 4 * t + 2, as: UInt8.self)) << 8 | UInt32(p.load(fromByteOffset: 4 * t + 3, as: UInt8.self))
        }
        for t in 16..<64 {
            let s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3)
            let s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10)
            w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
        }
        var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7]
        for t in 0..<64 {
            let t1 = hh &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ SHA256.k[t] &+ w[t]
            let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
            hh = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ t2
        }
        h[0] = h[0] &+ a; h[1] = h[1] &+ b; h[2] = h[2] &+ c; h[3] = h[3] &+ d
        h[4] = h[4] &+ e; h[5] = h[5] &+ f; h[6] = h[6] &+ g; h[7] = h[7] &+ hh
    }

    @inline(__always) private func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }

    public static func hex(_ bytes: [UInt8]) -> String {
        var h = SHA256(); h.update(bytes)
        return h.finalize().map { String(format: "%02x", $0) }.joined()
    }

    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        var h = SHA256(); h.update(bytes)
        return h.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
