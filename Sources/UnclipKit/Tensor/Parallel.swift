import Dispatch

/// Splits row-wise elementwise work (bias + activation, LayerNorm, softmax)
/// over the same number of threads BLAS uses. Between GEMMs the BLAS
/// workers sit idle, so leaving these loops on one core would idle the
/// others for ~10% of a forward pass. Each row is computed by exactly the
/// same code whatever the split, so results do not depend on the count.
enum Parallel {
    /// Calls `body` on disjoint row ranges covering 0..<rows.
    static func rows(_ rows: Int, minRows: Int = 16, _ body: (Range<Int>) -> Void) {
        let workers = min(BLAS.threads, rows / max(minRows, 1))
        if workers <= 1 { body(0..<rows); return }
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            body((rows * w / workers)..<(rows * (w + 1) / workers))
        }
    }
}
