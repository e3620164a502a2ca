import Foundation

/// The MLP nonlinearities CLIP configs name in `hidden_act`.
public enum Activation: String, Sendable {
    /// OpenAI CLIP's x·σ(1.702x) (Hendrycks & Gimpel 2016, GELU paper §2, the sigmoid approximation).
    case quickGELU = "quick_gelu"
    /// Exact GELU, x·Φ(x), as torch.nn.functional.gelu (used by OpenCLIP/LAION ports).
    case gelu = "gelu"
    /// The tanh approximation (`gelu_new`, `gelu_pytorch_tanh` in transformers).
    case geluTanh = "gelu_new"
    case relu = "relu"
    /// x·σ(x) (Elfwing et al. 2018), the diffusion networks' nonlinearity.
    case silu = "silu"
    case identity = "linear"

    public init?(configName: String) {
        switch configName {
        case "gelu_pytorch_tanh", "gelu_fast": self = .geluTanh
        default: self.init(rawValue: configName)
        }
    }

    @inline(__always)
    func apply(_ x: Float) -> Float {
        switch self {
        case .quickGELU: return x / (1 + expf(-1.702 * x))
        case .gelu: return 0.5 * x * (1 + erff(x * 0.70710678118654752))
        case .geluTanh: return 0.5 * x * (1 + tanhf(0.79788456080286536 * (x + 0.044715 * x * x * x)))
        case .relu: return max(x, 0)
        case .silu: return x / (1 + expf(-x))
        case .identity: return x
        }
    }

    /// y[r, c] = act(y[r, c] + bias[c]) over [rows, cols]: the bias add of
    /// the preceding GEMM fused with the activation, one pass over memory.
    func applyWithBias(_ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, bias: UnsafePointer<Float>?) {
        if self == .identity && bias == nil { return }
        Parallel.rows(rows) { range in
            applyWithBias(y + range.lowerBound * cols, rows: range.count, cols: cols, stride: cols, bias: bias)
        }
    }

    /// The same on the calling thread, for `cols` columns of rows `stride`
    /// apart (one thread's column block of a product).
    func applyWithBias(_ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, stride: Int, bias: UnsafePointer<Float>?) {
        if self == .identity && bias == nil { return }
        for r in 0..<rows {
            let p = y + r * stride
            switch (self, bias) {
            case let (.identity, b?): for c in 0..<cols { p[c] += b[c] }
            case let (.quickGELU, b): Self.quickGELURow(p, cols: cols, bias: b)
            case let (.silu, b): Self.affine(p, into: p, count: cols, scale: 1, shift: 0, silu: true, bias: b)
            case let (_, b?): for c in 0..<cols { p[c] = apply(p[c] + b[c]) }
            case (_, nil): for c in 0..<cols { p[c] = apply(p[c]) }
            }
        }
    }

    /// QuickGELU over one row, eight lanes at a time: it runs on every MLP
    /// hidden unit (ViT-B/32: 1.8 M values per image), where a libm call
    /// per element costs more than the rest of the non-GEMM work together.
    private static func quickGELURow(_ p: UnsafeMutablePointer<Float>, cols: Int, bias: UnsafePointer<Float>?) {
        var c = 0
        let raw = UnsafeMutableRawPointer(p)
        while c + 8 <= cols {
            var x = raw.loadUnaligned(fromByteOffset: 4 * c, as: SIMD8<Float>.self)
            if let bias { x += UnsafeRawPointer(bias).loadUnaligned(fromByteOffset: 4 * c, as: SIMD8<Float>.self) }
            let y = x / (1 + exp8(-1.702 * x))
            raw.storeBytes(of: y, toByteOffset: 4 * c, as: SIMD8<Float>.self)
            c += 8
        }
        while c < cols {
            let x = p[c] + (bias?[c] ?? 0)
            p[c] = x / (1 + expf(-1.702 * x))
            c += 1
        }
    }

    /// y[i] = a·x[i] + b (+ bias[i]), then SiLU when `silu`, eight lanes at
    /// a time: the norm–activation pairs of the diffusion networks run over
    /// every activation (MoVQ's last levels: 128 × 512² values).
    static func affine(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int,
                       scale a: Float, shift b: Float, silu: Bool, bias: UnsafePointer<Float>? = nil) {
        var i = 0
        let xr = UnsafeRawPointer(x), yr = UnsafeMutableRawPointer(y)
        while i + 8 <= count {
            var v = xr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) * a + b
            if let bias { v += UnsafeRawPointer(bias).loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) }
            if silu { v = v / (1 + exp8(-v)) }
            yr.storeBytes(of: v, toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            var v = x[i] * a + b + (bias?[i] ?? 0)
            if silu { v = v / (1 + expf(-v)) }
            y[i] = v
            i += 1
        }
    }

    /// SiLU over `count` values in place.
    static func silu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        affine(x, into: x, count: count, scale: 1, shift: 0, silu: true)
    }

    /// e^x for eight lanes: x = n·ln2 + r with |r| ≤ ln2/2, e^r by its
    /// degree-6 Taylor polynomial (relative error < 2e-7 on that range,
    /// about float's rounding), 2^n built in the exponent bits. Inputs are
    /// clamped to ±87 so 2^n stays a normal float; e^-87 is already
    /// negligible next to the 1 it is added to. Only lane-wise float and
    /// integer arithmetic: Swift's SIMD rounding and float→int conversions
    /// fall back to per-lane generic code, slower than libm.
    @inline(__always)
    static func exp8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let xc = pointwiseMax(pointwiseMin(x, SIMD8(repeating: 87)), SIMD8(repeating: -87))
        // Adding 1.5·2^23 rounds x·log2(e) to the nearest integer n and
        // leaves n in the low mantissa bits of t.
        let shifter: SIMD8<Float> = SIMD8(repeating: 12582912)
        let t = xc * 1.44269504088896341 + shifter
        let n = t - shifter
        // ln 2 split in a part exact in float and a correction (Cody & Waite).
        let r = xc - n * 0.693359375 + n * 2.12194440e-4
        var poly: SIMD8<Float> = SIMD8(repeating: 1.0 / 720)
        poly = poly * r + 1.0 / 120
        poly = poly * r + 1.0 / 24
        poly = poly * r + 1.0 / 6
        poly = poly * r + 0.5
        poly = poly * r + 1
        poly = poly * r + 1
        let ni = unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000   // n as an integer
        let twoN = unsafeBitCast((ni &+ 127) &<< 23, to: SIMD8<Float>.self)
        return poly * twoN
    }
}
