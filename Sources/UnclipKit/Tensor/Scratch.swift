import Foundation

/// Large float buffers kept for reuse. glibc serves any allocation over
/// 32 MB with a fresh mmap, so every MoVQ feature map at 512² (128 channels:
/// 134 MB) or Winograd filter set (a 1152-channel layer: 191 MB) used to
/// cost its size in page faults and zeroing each time it was made. Freed
/// buffers wait here, up to `cap` bytes, for the next request of a similar
/// size.
enum Scratch {
    /// Buffers at least this large (in floats) go through the pool.
    static let minCount = 1 << 18   // 1 MB
    static let cap = 512 << 20

    private static let lock = NSLock()
    nonisolated(unsafe) private static var free: [(pointer: UnsafeMutablePointer<Float>, count: Int)] = []
    nonisolated(unsafe) private static var freeBytes = 0

    /// A buffer of at least `count` floats, contents undefined.
    static func take(_ count: Int) -> (pointer: UnsafeMutablePointer<Float>, capacity: Int) {
        lock.lock()
        // The smallest free buffer that fits without wasting more than half of it.
        var best: Int? = nil
        for (i, b) in free.enumerated() where b.count >= count && b.count <= 2 * count {
            if best == nil || b.count < free[best!].count { best = i }
        }
        if let i = best {
            let b = free.remove(at: i)
            freeBytes -= 4 * b.count
            lock.unlock()
            return (b.pointer, b.count)
        }
        lock.unlock()
        return (.allocate(capacity: count), count)
    }

    /// Hands a buffer from `take` back; the oldest are released past `cap`.
    static func give(_ pointer: UnsafeMutablePointer<Float>, capacity: Int) {
        lock.lock()
        free.append((pointer, capacity))
        freeBytes += 4 * capacity
        while freeBytes > cap, !free.isEmpty {
            let b = free.removeFirst()
            freeBytes -= 4 * b.count
            b.pointer.deallocate()
        }
        lock.unlock()
    }

    /// Runs `body` with a pooled buffer of `count` floats.
    static func with<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        let (p, c) = take(count)
        defer { give(p, capacity: c) }
        return try body(p)
    }
}
