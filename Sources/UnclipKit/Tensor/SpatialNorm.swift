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
    /// zq is [Cz, hz, wz]. `f` and `y` may be the same buffer.
    public func forward(_ f: UnsafePointer<Float>, height h: Int, width w: Int,
                        zq: UnsafePointer<Float>, zqHeight hz: Int, zqWidth wz: Int,
                        into y: UnsafeMutablePointer<Float>, silu: Bool = false) {
        let c = norm.channels, cz = convY.inChannels, p = h * w
        let (up, uc) = Scratch.take(cz * p)   // [Cz, H, W]
        let (scale, sc) = Scratch.take(c * p), (shift, hc) = Scratch.take(c * p)
        defer { Scratch.give(up, capacity: uc); Scratch.give(scale, capacity: sc); Scratch.give(shift, capacity: hc) }
        Resampling2D.nearest(zq, channels: cz, height: hz, width: wz, into: up, height: h, width: w)
        convY.forward(up, height: h, width: w, into: scale)
        convB.forward(up, height: h, width: w, into: shift)
        norm.forward(f, pixels: p, into: y)
        Parallel.rows(c, minRows: 1) { range in
            for ch in range {
                let o = ch * p
                for i in 0..<p { y[o + i] = y[o + i] * scale[o + i] + shift[o + i] }
                if silu { Activation.silu(y + o, count: p) }
            }
        }
    }
}
