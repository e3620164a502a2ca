import CBLAS

/// The BLAS settings every tensor op runs under. OpenBLAS owns the worker
/// threads; our own elementwise loops are single-threaded because on the
/// target (2 cores) the GEMMs are >95% of the time.
public enum BLAS {
    /// Worker threads for sgemm. Results are deterministic for a fixed count.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// C[M, N] = alpha · A[M, K] · op(B) + beta · C, row-major with leading
    /// dimensions, so heads can be addressed in place inside [T, D] rows.
    /// `transB`: B is stored [N, K] (PyTorch's Linear layout) rather than [K, N].
    @inline(__always)
    static func gemm(m: Int, n: Int, k: Int, alpha: Float = 1,
                     a: UnsafePointer<Float>, lda: Int,
                     b: UnsafePointer<Float>, ldb: Int, transB: Bool,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                    beta, c, Int32(ldc))
    }
}
