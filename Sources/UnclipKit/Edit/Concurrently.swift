import Foundation

/// Runs independent jobs `width` at a time. Patch synthesis scales poorly
/// past one thread on small images (its serial pyramid and atlas work), so
/// decoding several candidates side by side, one thread each, uses two
/// cores better than decoding them one after another with two threads
/// each. Results come back in job order, so outputs do not depend on `width`.
enum Concurrently {
    static func map<T>(_ count: Int, width: Int, _ job: (Int) throws -> T) throws -> [T] {
        var results = [Result<T, Error>?](repeating: nil, count: count)
        let lanes = max(1, min(width, count))
        // Each lane takes the next job when free: jobs differ in cost.
        let lock = NSLock()
        var next = 0
        results.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress!
            DispatchQueue.concurrentPerform(iterations: lanes) { _ in
                while true {
                    lock.lock(); let k = next; next += 1; lock.unlock()
                    guard k < count else { return }
                    base[k] = Result { try job(k) }
                }
            }
        }
        return try results.map { try $0!.get() }
    }
}
