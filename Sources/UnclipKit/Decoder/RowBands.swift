import Foundation

/// Deterministic parallelism: work is cut into bands whose boundaries depend
/// only on the problem size, never on the thread count, and each band owns
/// its outputs and its random stream. The result is therefore identical for
/// any number of threads; threads only decide how fast it arrives.
enum RowBands {
    /// Splits `0..<rows` into bands of `height` rows.
    static func bands(rows: Int, height: Int) -> [Range<Int>] {
        guard rows > 0 else { return [] }
        return stride(from: 0, to: rows, by: height).map { $0..<min($0 + height, rows) }
    }

    /// Runs `body(i)` for every i in 0..<count on up to `threads` threads.
    static func run(_ count: Int, threads: Int, _ body: (Int) -> Void) {
        let t = max(1, min(threads, count))
        if t == 1 {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: t) { worker in
                var i = worker
                while i < count { body(i); i += t }
            }
        }
    }
}

/// A raw buffer that parallel bands write disjoint parts of.
struct SharedBuffer<T>: @unchecked Sendable {
    let base: UnsafeMutablePointer<T>
    let count: Int
    init(_ p: UnsafeMutableBufferPointer<T>) { base = p.baseAddress!; count = p.count }
    @inline(__always) subscript(i: Int) -> T {
        get { base[i] }
        nonmutating set { base[i] = newValue }
    }
}
