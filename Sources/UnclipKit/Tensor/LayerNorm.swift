import Foundation

/// Layer normalisation over the last dimension (Ba et al. 2016, eq. 4), as
/// torch.nn.LayerNorm: biased variance, eps inside the square root.
public struct LayerNorm: @unchecked Sendable {
    public let weight: Tensor   // [D]
    public let bias: Tensor     // [D]
    public let eps: Float

    public init(weight: Tensor, bias: Tensor, eps: Float) {
        precondition(weight.count == bias.count)
        self.weight = weight; self.bias = bias; self.eps = eps
    }

    /// y[rows, D] = LN(x[rows, D]); `x` and `y` may be the same buffer.
    public func forward(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        let d = weight.count
        let g = weight.data, b = bias.data
        Parallel.rows(rows) { range in for r in range {
            let xi = x + r * d, yi = y + r * d
            // Two passes in float, like PyTorch's CPU kernel; the mean is
            // subtracted before squaring so large offsets do not cancel.
            var sum: Float = 0
            for c in 0..<d { sum += xi[c] }
            let mean = sum / Float(d)
            var sq: Float = 0
            for c in 0..<d { let t = xi[c] - mean; sq += t * t }
            let inv = 1 / (sq / Float(d) + eps).squareRoot()
            for c in 0..<d { yi[c] = (xi[c] - mean) * inv * g[c] + b[c] }
        } }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.cols == weight.count, "LayerNorm expects \(weight.count) features, got \(x.cols)")
        let y = Tensor(shape: x.shape)
        forward(x.data, rows: x.rows, into: y.data)
        return y
    }
}
