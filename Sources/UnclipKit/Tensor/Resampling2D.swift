import Foundation

/// Spatial resampling of channels-first planes, as torch.nn.functional does it.
public enum Resampling2D {
    /// y [C, Ho, Wo] = x [C, H, W] at nearest neighbours, F.interpolate's
    /// mode "nearest": output pixel i reads input floor(i · H / Ho), with
    /// the scale computed in float as PyTorch's CPU kernel does.
    public static func nearest(_ x: UnsafePointer<Float>, channels: Int, height h: Int, width w: Int,
                               into y: UnsafeMutablePointer<Float>, height ho: Int, width wo: Int) {
        let sy = Float(h) / Float(ho), sx = Float(w) / Float(wo)
        let cols = (0..<wo).map { min(Int((Float($0) * sx).rounded(.down)), w - 1) }
        Parallel.rows(channels, minRows: 1) { range in
            for c in range {
                for oy in 0..<ho {
                    let iy = min(Int((Float(oy) * sy).rounded(.down)), h - 1)
                    let src = x + (c * h + iy) * w, dst = y + (c * ho + oy) * wo
                    for ox in 0..<wo { dst[ox] = src[cols[ox]] }
                }
            }
        }
    }

    /// y [C, H/2, W/2] = 2×2 average pooling of x [C, H, W] (F.avg_pool2d, kernel 2, stride 2).
    public static func averagePool2(_ x: UnsafePointer<Float>, channels: Int, height h: Int, width w: Int,
                                    into y: UnsafeMutablePointer<Float>) {
        let ho = h / 2, wo = w / 2
        Parallel.rows(channels, minRows: 1) { range in
            for c in range {
                for oy in 0..<ho {
                    let a = x + (c * h + 2 * oy) * w, b = a + w, dst = y + (c * ho + oy) * wo
                    for ox in 0..<wo { dst[ox] = (a[2 * ox] + a[2 * ox + 1] + b[2 * ox] + b[2 * ox + 1]) * 0.25 }
                }
            }
        }
    }
}

/// Sinusoidal timestep features (Vaswani et al. 2017, §3.5; as diffusers'
/// `get_timestep_embedding`): frequencies exp(−ln(maxPeriod)·i / (half −
/// shift)), sines then cosines, or cosines first with `flipSinToCos`.
public struct SinusoidalTimesteps: Sendable {
    public let dimension: Int
    public let flipSinToCos: Bool
    public let freqShift: Float
    public let maxPeriod: Float

    public init(dimension: Int, flipSinToCos: Bool, freqShift: Float, maxPeriod: Float = 10000) {
        self.dimension = dimension; self.flipSinToCos = flipSinToCos; self.freqShift = freqShift; self.maxPeriod = maxPeriod
    }

    /// [dimension] features of timestep `t`, in float like the reference
    /// (the argument t·freq is formed in float before sin and cos).
    public func callAsFunction(_ t: Float) -> [Float] {
        let half = dimension / 2
        var out = [Float](repeating: 0, count: dimension)
        for i in 0..<half {
            // −ln(maxPeriod) is rounded to float once, as the reference multiplies a float32 arange by it.
            let exponent = -Float(Foundation.log(Double(maxPeriod))) * Float(i) / (Float(half) - freqShift)
            let arg = t * expf(exponent)
            let (s, c) = (sinf(arg), cosf(arg))
            if flipSinToCos { out[i] = c; out[half + i] = s } else { out[i] = s; out[half + i] = c }
        }
        return out
    }
}
