import Dispatch
import Foundation

/// Multi-head scaled dot-product attention (Vaswani et al. 2017, §3.2.2)
/// over a batch of sequences packed row after row: sequence s occupies rows
/// offsets[s] ..< offsets[s] + lengths[s] of the [rows, D] q/k/v buffers.
/// Heads are addressed in place (head h = columns h·dh ..< (h+1)·dh, leading
/// dimension D), so no transposes are ever materialised: per head and
/// sequence, one sgemm for the scores and one for the weighted values.
public struct Attention: @unchecked Sendable {
    public let q: Linear, k: Linear, v: Linear, out: Linear
    public let heads: Int
    /// Token i attends only to tokens j ≤ i (the CLIP text tower).
    public let causal: Bool

    public init(q: Linear, k: Linear, v: Linear, out: Linear, heads: Int, causal: Bool) {
        precondition(q.outFeatures % heads == 0, "width \(q.outFeatures) is not divisible by \(heads) heads")
        self.q = q; self.k = k; self.v = v; self.out = out; self.heads = heads; self.causal = causal
    }

    public var width: Int { q.outFeatures }

    /// Scratch space for one forward over `rows` packed rows whose longest sequence is `maxLength`.
    public final class Workspace {
        let q, k, v, ctx: UnsafeMutablePointer<Float>   // [rows, D] each
        let scores: UnsafeMutablePointer<Float>         // [threads, maxLength, maxLength]
        let threads: Int, maxLength: Int
        public init(rows: Int, width: Int, maxLength: Int) {
            q = .allocate(capacity: rows * width); k = .allocate(capacity: rows * width)
            v = .allocate(capacity: rows * width); ctx = .allocate(capacity: rows * width)
            threads = BLAS.threads
            self.maxLength = maxLength
            scores = .allocate(capacity: threads * maxLength * maxLength)
        }
        deinit { q.deallocate(); k.deallocate(); v.deallocate(); ctx.deallocate(); scores.deallocate() }
    }

    /// x[rows, D] += Attention(h[rows, D]) · W_outᵀ + b_out (residual folded in).
    public func forward(_ h: UnsafePointer<Float>, residual x: UnsafeMutablePointer<Float>,
                 lengths: [Int], work: Workspace) {
        let rows = lengths.reduce(0, +)
        Linear.forward([(q, work.q), (k, work.k), (v, work.v)], h, rows: rows)   // 3 × [rows, D]
        let starts = Self.offsets(lengths)
        attendHeads(lengths: lengths, keyStarts: starts, queryStarts: starts, queryCounts: lengths, work: work)
        out.forward(work.ctx, rows: rows, into: x, accumulate: true)
    }

    /// Only the first token of each sequence attends: xFirst[S, D] (those
    /// tokens' residual rows, gathered) += Attention(h)[first rows]·W_outᵀ +
    /// b_out, with keys and values from all of h[rows, D]. For a tower
    /// whose output is the first token alone (CLIP's image tower pools the
    /// class token), the last layer needs nothing else.
    public func forwardFirstTokens(_ h: UnsafePointer<Float>, residual xFirst: UnsafeMutablePointer<Float>,
                                   lengths: [Int], work: Workspace) {
        precondition(!causal, "a causal first token attends only to itself")
        let d = width, seqs = lengths.count
        let rows = lengths.reduce(0, +)
        Linear.forward([(k, work.k), (v, work.v)], h, rows: rows)   // 2 × [rows, D]
        let starts = Self.offsets(lengths)
        // The first rows of h, gathered into the ctx buffer, which is free until the heads write it.
        for (s, r) in starts.enumerated() { (work.ctx + s * d).update(from: h + r * d, count: d) }
        q.forward(work.ctx, rows: seqs, into: work.q)   // [S, D]
        // Sequence s's one query is row s of q (and of ctx).
        attendHeads(lengths: lengths, keyStarts: starts, queryStarts: Array(0..<seqs),
                    queryCounts: [Int](repeating: 1, count: seqs), work: work)
        out.forward(work.ctx, rows: seqs, into: xFirst, accumulate: true)   // [S, D]
    }

    /// Start row of each packed sequence.
    private static func offsets(_ lengths: [Int]) -> [Int] {
        var starts: [Int] = [], start = 0
        for t in lengths { starts.append(start); start += t }
        return starts
    }

    /// ctx[queries] = softmax(q·kᵀ/√dh)·v per sequence and head: sequence s
    /// has keys and values at rows keyStarts[s] ..< + lengths[s] of work.k
    /// and work.v, and queryCounts[s] queries at rows queryStarts[s] ..< of
    /// work.q, whose results go to the same rows of work.ctx.
    private func attendHeads(lengths: [Int], keyStarts: [Int], queryStarts: [Int], queryCounts: [Int], work: Workspace) {
        let d = width, dh = d / heads
        let scale = 1 / Float(dh).squareRoot()
        // Every (sequence, head) pair is independent and tiny (50×50×64 for
        // ViT-B/32), so the pairs, not the products, are spread over the
        // threads, each with its own scores buffer.
        let items = lengths.count * heads
        let parts = max(1, min(work.threads, items))
        let body = { (part: Int) in
            let s = work.scores + part * work.maxLength * work.maxLength   // [tq, t]
            for item in (items * part / parts)..<(items * (part + 1) / parts) {
                let seq = item / heads, hd = item % heads
                let t = lengths[seq], tq = queryCounts[seq]
                let kv = keyStarts[seq] * d + hd * dh, qc = queryStarts[seq] * d + hd * dh
                // q [tq, dh], k and v [t, dh], all with leading dimension D.
                BLAS.gemm(m: tq, n: t, k: dh, alpha: scale, a: work.q + qc, lda: d, b: work.k + kv, ldb: d, transB: true,
                          beta: 0, c: s, ldc: t)
                softmaxRows(s, rows: tq, cols: t)
                BLAS.gemm(m: tq, n: dh, k: t, a: s, lda: t, b: work.v + kv, ldb: d, transB: false,
                          beta: 0, c: work.ctx + qc, ldc: d)
            }
        }
        if parts == 1 { body(0) } else { DispatchQueue.concurrentPerform(iterations: parts, execute: body) }
    }

    /// Row-wise softmax of s[rows, cols] in place; with `causal`, entries
    /// j > i get weight 0 (the -inf mask of the reference).
    private func softmaxRows(_ s: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        for i in 0..<rows { Self.softmax(s + i * cols, count: cols, live: causal ? i + 1 : cols) }
    }

    /// Softmax of p[0 ..< live] in place (max subtracted first), eight
    /// lanes at a time with `Activation.exp8` (the UNet's attention takes
    /// e^x of 13 M scores per head set at 32×32 latents); p[live ..< count] become 0.
    static func softmax(_ p: UnsafeMutablePointer<Float>, count: Int, live n: Int) {
        typealias V = SIMD8<Float>
        let raw = UnsafeMutableRawPointer(p)
        var m = -Float.infinity
        var mv = V(repeating: -.infinity), j = 0
        while j + 8 <= n { mv = pointwiseMax(mv, raw.loadUnaligned(fromByteOffset: 4 * j, as: V.self)); j += 8 }
        m = mv.max()
        while j < n { m = max(m, p[j]); j += 1 }
        var sv = V(), sum: Float = 0
        j = 0
        while j + 8 <= n {
            let e = Activation.exp8(raw.loadUnaligned(fromByteOffset: 4 * j, as: V.self) - m)
            raw.storeBytes(of: e, toByteOffset: 4 * j, as: V.self)
            sv += e
            j += 8
        }
        sum = sv.sum()
        while j < n { let e = expf(p[j] - m); p[j] = e; sum += e; j += 1 }
        let inv = 1 / sum
        for j in 0..<n { p[j] *= inv }
        for j in n..<count { p[j] = 0 }
    }
}

extension Attention {
    /// ctx[Tq, heads·dh] = softmax(q·kᵀ·scale)·v per head, for one query
    /// sequence q [Tq, ·] against keys and values k, v [Tk, ·], heads
    /// addressed in place at columns h·dh of rows `ld*` apart. Queries go in
    /// chunks so that the scores of a large image (MoVQ's 4096 pixels attend
    /// to each other) stay a few MB per thread; chunks and heads are spread
    /// over the threads, and neither the split nor the count changes a result.
    public static func attend(q: UnsafePointer<Float>, ldq: Int, k: UnsafePointer<Float>, ldk: Int,
                              v: UnsafePointer<Float>, ldv: Int, queries tq: Int, keys tk: Int,
                              heads: Int, headDim dh: Int, scale: Float,
                              into ctx: UnsafeMutablePointer<Float>, ldc: Int) {
        let chunk = max(1, min(tq, (1 << 20) / max(tk, 1)))
        let chunks = (tq + chunk - 1) / chunk
        let items = chunks * heads
        let parts = max(1, min(BLAS.threads, items))
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let s = UnsafeMutablePointer<Float>.allocate(capacity: chunk * tk)   // [rows, Tk]
            defer { s.deallocate() }
            for item in (items * part / parts)..<(items * (part + 1) / parts) {
                let hd = item % heads, c = item / heads
                let r0 = c * chunk, rows = min(chunk, tq - r0)
                BLAS.gemm(m: rows, n: tk, k: dh, alpha: scale, a: q + r0 * ldq + hd * dh, lda: ldq,
                          b: k + hd * dh, ldb: ldk, transB: true, beta: 0, c: s, ldc: tk)
                for i in 0..<rows { softmax(s + i * tk, count: tk, live: tk) }
                BLAS.gemm(m: rows, n: dh, k: tk, a: s, lda: tk, b: v + hd * dh, ldb: ldv, transB: false,
                          beta: 0, c: ctx + r0 * ldc + hd * dh, ldc: ldc)
            }
        }
    }
}
