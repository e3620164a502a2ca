/// y = x·Wᵀ + b with PyTorch's layout: W [out, in], b [out].
public struct Linear: @unchecked Sendable {
    public let weight: Tensor   // [out, in]
    public let bias: Tensor?    // [out]

    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.shape.count == 2)
        precondition(bias == nil || bias!.count == weight.shape[0])
        self.weight = weight
        self.bias = bias
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    /// y[rows, out] = act(x[rows, in]·Wᵀ + b), or with `accumulate`
    /// y += x·Wᵀ + b (the residual add folded into GEMM's beta = 1).
    public func forward(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>,
                        activation: Activation = .identity, accumulate: Bool = false) {
        precondition(!(accumulate && activation != .identity), "cannot fold an activation into a residual add")
        let n = outFeatures
        if BLAS.usesSmallKernel(m: rows, k: inFeatures) {
            BLAS.smallSplit(m: rows, k: inFeatures, a: x, lda: inFeatures,
                            [smallProduct(rows: rows, into: y, activation: activation, accumulate: accumulate)])
            return
        }
        if !accumulate, let b = bias {
            // y starts as the bias rows and the GEMM adds onto it (beta = 1):
            // one write pass instead of BLAS zeroing y (beta = 0) and a
            // separate read-modify-write pass for the bias.
            Parallel.rows(rows) { range in
                for r in range { (y + r * n).update(from: b.data, count: n) }
            }
            BLAS.gemmSplit(m: rows, n: n, k: inFeatures, a: x, lda: inFeatures, b: weight.data, ldb: inFeatures,
                           beta: 1, c: y, ldc: n)
            activation.applyWithBias(y, rows: rows, cols: n, bias: nil)
            return
        }
        BLAS.gemmSplit(m: rows, n: n, k: inFeatures, a: x, lda: inFeatures, b: weight.data, ldb: inFeatures,
                       beta: accumulate ? 1 : 0, c: y, ldc: n)
        activation.applyWithBias(y, rows: rows, cols: n, bias: bias.map { UnsafePointer($0.data) })
    }

    /// Several layers on the same input (attention's q, k and v), in one
    /// hand-off to the threads where the rows are few; results as `forward`.
    public static func forward(_ layers: [(Linear, UnsafeMutablePointer<Float>)], _ x: UnsafePointer<Float>, rows: Int) {
        let k = layers[0].0.inFeatures
        guard BLAS.usesSmallKernel(m: rows, k: k), layers.allSatisfy({ $0.0.inFeatures == k }) else {
            for (layer, y) in layers { layer.forward(x, rows: rows, into: y) }
            return
        }
        BLAS.smallSplit(m: rows, k: k, a: x, lda: k, layers.map { $0.smallProduct(rows: rows, into: $1) })
    }

    /// This layer as a few-row product: each thread adds the bias and applies
    /// the activation to its own columns as soon as they are computed.
    /// act(x·Wᵀ + b) and (y + x·Wᵀ) + b are rounded in the same order as by
    /// the separate bias and activation passes this replaces.
    private func smallProduct(rows: Int, into y: UnsafeMutablePointer<Float>, activation: Activation = .identity,
                              accumulate: Bool = false) -> BLAS.SmallProduct {
        let n = outFeatures
        let b = bias.map { UnsafePointer($0.data) }
        return BLAS.SmallProduct(n: n, b: weight.data, ldb: inFeatures, beta: accumulate ? 1 : 0, c: y, ldc: n) { j0, j1 in
            activation.applyWithBias(y + j0, rows: rows, cols: j1 - j0, stride: n, bias: b.map { $0 + j0 })
        }
    }

    /// Allocating form for small, one-off products (projections, tests).
    public func callAsFunction(_ x: Tensor, activation: Activation = .identity) -> Tensor {
        precondition(x.cols == inFeatures, "Linear expects \(inFeatures) features, got \(x.cols)")
        let y = Tensor(shape: Array(x.shape.dropLast()) + [outFeatures])
        forward(x.data, rows: x.rows, into: y.data, activation: activation)
        return y
    }
}
