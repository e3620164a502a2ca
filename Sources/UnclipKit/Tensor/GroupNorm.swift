import Dispatch

/// Group normalisation (Wu & He 2018, eq. 1–3) over channels-first planes,
/// as torch.nn.GroupNorm: each of `groups` runs of C/G channels is
/// normalised over its channels and pixels together (biased variance, eps
/// inside the square root), then scaled and shifted per channel.
public struct GroupNorm: @unchecked Sendable {
    public let weight: Tensor   // [C]
    public let bias: Tensor     // [C]
    public let groups: Int
    public let eps: Float

    public init(weight: Tensor, bias: Tensor, groups: Int, eps: Float) {
        precondition(weight.count == bias.count && weight.count % groups == 0,
                     "GroupNorm: \(weight.count) channels do not split into \(groups) groups")
        self.weight = weight; self.bias = bias; self.groups = groups; self.eps = eps
    }

    public var channels: Int { weight.count }

    /// y [C, P] = GN(x [C, P]), then y·(1 + scale[c]) + shift[c] with a
    /// `modulation` (a ResNet block's time embedding, "scale_shift"), then
    /// SiLU when `silu` (the norm–activation pair of every ResNet block), all
    /// in one pass; `x` and `y` may be the same buffer.
    public func forward(_ x: UnsafePointer<Float>, pixels p: Int, into y: UnsafeMutablePointer<Float>, silu: Bool = false,
                        modulation: (scale: UnsafePointer<Float>, shift: UnsafePointer<Float>)? = nil) {
        let cg = channels / groups
        let (mean, inv) = statistics(x, pixels: p)
        DispatchQueue.concurrentPerform(iterations: min(BLAS.threads, channels)) { part in
            for c in (channels * part / min(BLAS.threads, channels))..<(channels * (part + 1) / min(BLAS.threads, channels)) {
                let g = c / cg
                var scale = inv[g] * weight.data[c]
                var shift = bias.data[c] - mean[g] * scale
                if let m = modulation {
                    scale *= 1 + m.scale[c]
                    shift = shift * (1 + m.scale[c]) + m.shift[c]
                }
                Activation.affine(x + c * p, into: y + c * p, count: p, scale: scale, shift: shift, silu: silu)
            }
        }
    }

    /// Per group: mean and 1/√(var + eps). Eight float lanes sum blocks of
    /// 4096 values, and the blocks add up in double, so that large groups
    /// (4 channels × 512² pixels in MoVQ) lose nothing to rounding; the mean
    /// is subtracted before squaring.
    func statistics(_ x: UnsafePointer<Float>, pixels p: Int) -> (mean: [Float], inv: [Float]) {
        let cg = channels / groups, n = cg * p
        var mean = [Float](repeating: 0, count: groups), inv = [Float](repeating: 0, count: groups)
        mean.withUnsafeMutableBufferPointer { mb in inv.withUnsafeMutableBufferPointer { ib in
            let m = mb.baseAddress!, iv = ib.baseAddress!
            let parts = min(BLAS.threads, groups)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                for g in (groups * part / parts)..<(groups * (part + 1) / parts) {
                    let base = x + g * n
                    let mu = Self.blockSum(base, count: n, around: 0, squared: false) / Double(n)
                    let q = Self.blockSum(base, count: n, around: Float(mu), squared: true)
                    m[g] = Float(mu)
                    iv[g] = Float(1 / (q / Double(n) + Double(eps)).squareRoot())
                }
            }
        } }
        return (mean, inv)
    }

    /// Σ (x − c) or Σ (x − c)² over `count` values.
    private static func blockSum(_ x: UnsafePointer<Float>, count n: Int, around c: Float, squared: Bool) -> Double {
        var total = 0.0, i = 0
        let raw = UnsafeRawPointer(x)
        while i < n {
            let end = min(n, i + 4096)
            var acc = SIMD8<Float>(repeating: 0)
            while i + 8 <= end {
                let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) - c
                acc += squared ? v * v : v
                i += 8
            }
            var tail: Float = 0
            while i < end { let v = x[i] - c; tail += squared ? v * v : v; i += 1 }
            total += Double(acc.sum()) + Double(tail)
        }
        return total
    }

    /// Allocating form over a batch: x [B, C, H, W] (or [B, C, P]).
    public func callAsFunction(_ x: Tensor, silu: Bool = false) -> Tensor {
        precondition(x.shape.count >= 2 && x.shape[1] == channels, "GroupNorm expects [B, \(channels), …], got \(x.shape)")
        let b = x.shape[0], p = x.count / (b * channels)
        let y = Tensor(shape: x.shape)
        for i in 0..<b { forward(x.data + i * channels * p, pixels: p, into: y.data + i * channels * p, silu: silu) }
        return y
    }
}
