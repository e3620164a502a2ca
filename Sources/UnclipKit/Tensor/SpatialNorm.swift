import Foundation

/// MoVQ's spatially conditioned normalisation (Zheng et al. 2022, eq. 5; as
/// diffusers' `SpatialNorm`): f is group-normalised, then scaled and
/// shifted per pixel by 1×1 convolutions of the quantised latent z_q,
/// upsampled to f's size with nearest neighbours.
public struct SpatialNorm: @unchecked Sendable {
    public let norm: GroupNorm   // over f's channels
    public let convY: Conv2d     // 1×1, z_q channels → f channels
    public let convB: Conv2d

    public init(norm: GroupNorm, convY: Conv2d, convB: Conv2d) {
        self.norm = norm; self.convY = convY; self.convB = convB
    }

    /// y [C, H, W] = GN(f)·convY(zq↑) + convB(zq↑), then SiLU when `silu`;
    /// zq is [Cz, hz, wz]. `f` and `y` may be the same buffer. The 1×1
    /// convolutions have only Cz (MoVQ: 4) inputs, so their outputs are
    /// formed pixel by pixel inside the normalising pass instead of as two
    /// [C, H, W] maps: at 512² that is 268 MB less written and read per norm.
    public func forward(_ f: UnsafePointer<Float>, height h: Int, width w: Int,
                        zq: UnsafePointer<Float>, zqHeight hz: Int, zqWidth wz: Int,
                        into y: UnsafeMutablePointer<Float>, silu: Bool = false) {
        let c = norm.channels, cz = convY.inChannels, p = h * w
        precondition(convY.kh == 1 && convB.kh == 1 && convB.inChannels == cz, "SpatialNorm's convolutions are 1×1")
        let (up, uc) = Scratch.take(cz * p)   // [Cz, H, W]
        defer { Scratch.give(up, capacity: uc) }
        Resampling2D.nearest(zq, channels: cz, height: hz, width: wz, into: up, height: h, width: w)
        let (mean, inv) = norm.statistics(f, pixels: p)
        let cg = c / norm.groups
        Parallel.rows(c, minRows: 1) { range in
            var wy = [Float](repeating: 0, count: cz), wb = [Float](repeating: 0, count: cz)
            for ch in range {
                for j in 0..<cz { wy[j] = convY.weight.data[ch * cz + j]; wb[j] = convB.weight.data[ch * cz + j] }
                let by = convY.bias?.data[ch] ?? 0, bb = convB.bias?.data[ch] ?? 0
                // GN(f) = f·a + b per channel.
                let a = inv[ch / cg] * norm.weight.data[ch]
                let b = norm.bias.data[ch] - mean[ch / cg] * a
                let src = f + ch * p, dst = y + ch * p
                var i = 0
                typealias V = SIMD8<Float>
                let sr = UnsafeRawPointer(src), dr = UnsafeMutableRawPointer(dst), ur = UnsafeRawPointer(up)
                while i + 8 <= p {
                    var scale = V(repeating: by), shift = V(repeating: bb)
                    for j in 0..<cz {
                        let z = ur.loadUnaligned(fromByteOffset: 4 * (j * p + i), as: V.self)
                        scale += wy[j] * z; shift += wb[j] * z
                    }
                    var v = (sr.loadUnaligned(fromByteOffset: 4 * i, as: V.self) * a + b) * scale + shift
                    if silu { v = v / (1 + Activation.exp8(-v)) }
                    dr.storeBytes(of: v, toByteOffset: 4 * i, as: V.self)
                    i += 8
                }
                while i < p {
                    var scale = by, shift = bb
                    for j in 0..<cz { let z = up[j * p + i]; scale += wy[j] * z; shift += wb[j] * z }
                    var v = (src[i] * a + b) * scale + shift
                    if silu { v = v / (1 + expf(-v)) }
                    dst[i] = v
                    i += 1
                }
            }
        }
    }
}
