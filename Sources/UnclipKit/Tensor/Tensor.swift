import Foundation

/// A row-major f32 tensor. Every op treats it as a matrix over its last
/// dimension: `rows` = product of the leading dimensions, `cols` = the last
/// one, rows contiguous. Activations own their storage; weights may instead
/// view memory they do not own (a memory-mapped checkpoint), kept alive by
/// `owner`, so f32 checkpoints are never copied.
public final class Tensor: @unchecked Sendable {
    public private(set) var shape: [Int]
    /// For views into a read-only mapping this must never be written through;
    /// only weight tensors are views and no op writes its weights.
    public let data: UnsafeMutablePointer<Float>
    public let count: Int
    private let owner: AnyObject?
    /// Capacity of a buffer taken from `Scratch`, which gets it back on deinit; 0 otherwise.
    private let pooled: Int

    /// Zero-filled storage of `shape`.
    public init(shape: [Int]) {
        self.shape = shape
        count = shape.reduce(1, *)
        if count >= Scratch.minCount {
            (data, pooled) = Scratch.take(count)
        } else {
            data = .allocate(capacity: max(count, 1))
            pooled = 0
        }
        data.initialize(repeating: 0, count: max(count, 1))
        owner = nil
    }

    public convenience init(shape: [Int], values: [Float]) {
        precondition(values.count == shape.reduce(1, *), "values do not fill shape \(shape)")
        self.init(shape: shape)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: values.count) }
    }

    /// A view of `pointer` (not copied); `owner` keeps the memory alive.
    public init(viewing pointer: UnsafePointer<Float>, shape: [Int], owner: AnyObject) {
        self.shape = shape
        count = shape.reduce(1, *)
        data = UnsafeMutablePointer(mutating: pointer)
        self.owner = owner
        pooled = 0
    }

    deinit {
        if pooled > 0 { Scratch.give(data, capacity: pooled) } else if owner == nil { data.deallocate() }
    }

    public var rows: Int { shape.count <= 1 ? 1 : count / shape[shape.count - 1] }
    public var cols: Int { shape.last ?? 1 }

    /// Same storage, new shape of the same size.
    public func reshape(_ newShape: [Int]) {
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        shape = newShape
    }

    public func row(_ r: Int) -> UnsafeMutablePointer<Float> { data + r * cols }

    public func toArray() -> [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// dst [cols, rows] = src [rows, cols]ᵀ, in 32×32 tiles so both sides stay in cache.
    public static func transpose(_ src: UnsafePointer<Float>, rows: Int, cols: Int, into dst: UnsafeMutablePointer<Float>) {
        let t = 32
        Parallel.rows((rows + t - 1) / t, minRows: 1) { range in
            for rb in range {
                let r0 = rb * t, r1 = min(rows, r0 + t)
                var c0 = 0
                while c0 < cols {
                    let c1 = min(cols, c0 + t)
                    for r in r0..<r1 { for c in c0..<c1 { dst[c * rows + r] = src[r * cols + c] } }
                    c0 = c1
                }
            }
        }
    }
}
