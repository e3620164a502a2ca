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
        case .identity: return x
        }
    }

    /// y[r, c] = act(y[r, c] + bias[c]) over [rows, cols]: the bias add of
    /// the preceding GEMM fused with the activation, one pass over memory.
    func applyWithBias(_ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, bias: UnsafePointer<Float>?) {
        for r in 0..<rows {
            let p = y + r * cols
            if let bias {
                switch self {
                case .identity: for c in 0..<cols { p[c] += bias[c] }
                default: for c in 0..<cols { p[c] = apply(p[c] + bias[c]) }
                }
            } else if self != .identity {
                for c in 0..<cols { p[c] = apply(p[c]) }
            }
        }
    }
}
