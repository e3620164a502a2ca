import CBLAS
import CKernels
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// The BLAS settings every tensor op runs under. OpenBLAS itself always runs
/// single-threaded: its own threading splits skinny products (one image is
/// 50 rows against 768–3072 output features) poorly, and on 2 cores it ran
/// no faster than one thread. Instead `gemmSplit` hands each of our threads
/// a disjoint block of output features, so each also packs only its share
/// of the weights. Products of at most `smallRows` rows skip sgemm and its
/// packing altogether (`ck_sgemm_nt`).
public enum BLAS {
    nonisolated(unsafe) private static var workers: Int = {
        let n = Int(openblas_get_num_threads())
        openblas_set_num_threads(1)
        // OpenBLAS's pthread pool, started when the library loads, spins in
        // sched_yield for ~0.1 s before it sleeps: on 2 cores that takes the
        // second core from our own threads for half of a one-image encode.
        // Single-threaded calls never use the pool, so it is stopped (it
        // would be restarted on demand). Looked up by name because OpenMP
        // builds of OpenBLAS have no such pool.
        if let f = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "blas_thread_shutdown_") {
            _ = unsafeBitCast(f, to: (@convention(c) () -> Int32).self)()
        }
        return max(1, n)
    }()

    /// Worker threads for GEMMs and row-wise ops. Results are deterministic for a fixed count.
    public static var threads: Int {
        get { workers }
        set { workers = max(1, newValue) }
    }

    /// C[M, N] = alpha · A[M, K] · op(B) + beta · C, row-major with leading
    /// dimensions, so heads can be addressed in place inside [T, D] rows.
    /// `transB`: B is stored [N, K] (PyTorch's Linear layout) rather than [K, N].
    /// Runs on the calling thread.
    @inline(__always)
    static func gemm(m: Int, n: Int, k: Int, alpha: Float = 1,
                     a: UnsafePointer<Float>, lda: Int,
                     b: UnsafePointer<Float>, ldb: Int, transB: Bool,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        _ = workers   // first use switches OpenBLAS's own threading off
        cblas_sgemm(CblasRowMajor, CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                    beta, c, Int32(ldc))
    }

    /// Products with at most this many rows (one image's 50 tokens; a
    /// batch's class tokens) go to `ck_sgemm_nt`, which reads the weights in
    /// place instead of packing them per call as sgemm does: 14% faster at
    /// 50×768 against 768 or 3072 features, level at 50×3072 against 768,
    /// 2.6× faster for one row (one thread, this machine). From about 100
    /// rows packing pays for itself: sgemm is ahead by 4% at 100 rows and
    /// by 14% at 400.
    static let smallRows = 64
    static let hasSmallKernel = ck_sgemm_nt_available() != 0

    /// Whether `gemmSplit` sends an m-row product with inner size k to `ck_sgemm_nt`.
    static func usesSmallKernel(m: Int, k: Int) -> Bool {
        m <= smallRows && k % 8 == 0 && hasSmallKernel
    }

    /// One product for `smallSplit`: C[m, n] = A · B[n, k]ᵀ + beta · C, then
    /// `epilogue(j0, j1)` on the thread that computed columns j0..<j1, right
    /// after computing them (a Linear's bias and activation, without another
    /// hand-off to the threads).
    struct SmallProduct {
        var n: Int
        var b: UnsafePointer<Float>, ldb: Int
        var beta: Float
        var c: UnsafeMutablePointer<Float>, ldc: Int
        var epilogue: (Int, Int) -> Void = { _, _ in }
    }

    /// `gemmSplit`'s few-row path for one or more products of the same
    /// A[m, k] (attention's q, k and v), all in one hand-off to the threads.
    static func smallSplit(m: Int, k: Int, a: UnsafePointer<Float>, lda: Int, _ products: [SmallProduct]) {
        // Even one row is worth two threads here: it is bound by reading
        // the weights, and each thread reads only its own block.
        let parts = max(1, min(workers, (products.map(\.n).min() ?? 0) / 64))
        DispatchQueue.concurrentPerform(iterations: parts) { p in
            for q in products {
                // Blocks start at multiples of 8, so an epilogue working 8
                // lanes at a time meets every column in the same lane group as
                // in one pass over whole rows: results independent of the split.
                let j0 = (q.n * p / parts) & ~7
                let j1 = p == parts - 1 ? q.n : (q.n * (p + 1) / parts) & ~7
                ck_sgemm_nt(Int32(m), Int32(j1 - j0), Int32(k), a, Int32(lda), q.b + j0 * q.ldb, Int32(q.ldb),
                            q.beta, q.c + j0, Int32(q.ldc))
                q.epilogue(j0, j1)
            }
        }
    }

    /// C[M, N] = A[M, K] · B[N, K]ᵀ + beta · C with the N output columns
    /// split into one contiguous block per thread, each a single-threaded
    /// sgemm on B's rows for that block. Column blocks start at multiples of
    /// 16 (the micro-kernel width) and depend only on N and the thread
    /// count, so the result does too. Few-row products go to `ck_sgemm_nt`
    /// instead, whose results do not depend on the split at all.
    static func gemmSplit(m: Int, n: Int, k: Int,
                          a: UnsafePointer<Float>, lda: Int,
                          b: UnsafePointer<Float>, ldb: Int,
                          beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if usesSmallKernel(m: m, k: k) {
            smallSplit(m: m, k: k, a: a, lda: lda, [SmallProduct(n: n, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)])
            return
        }
        let parts = min(workers, n / 64, m * n * k / (1 << 20))
        if parts <= 1 {
            gemm(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, transB: true, beta: beta, c: c, ldc: ldc)
            return
        }
        DispatchQueue.concurrentPerform(iterations: parts) { p in
            let j0 = (n * p / parts) & ~15
            let j1 = p == parts - 1 ? n : (n * (p + 1) / parts) & ~15
            gemm(m: m, n: j1 - j0, k: k, a: a, lda: lda, b: b + j0 * ldb, ldb: ldb, transB: true,
                 beta: beta, c: c + j0, ldc: ldc)
        }
    }
}
