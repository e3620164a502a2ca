import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Netpbm-style input and output: a path or `-` for the standard streams,
/// data only on stdout, and never a half-written output file.
public enum IO {
    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// The display name used in messages ("stdin" for `-`).
    public static func displayName(_ path: String) -> String { path == "-" ? "stdin" : path }

    /// Reads a whole file, or stdin for `-`.
    /// A descriptor for reading `path`, or the error every reader gives for it.
    static func openForReading(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            let e = errno
            if e == ENOENT { throw UnclipError.io("\(path): no such file") }
            throw UnclipError.io("cannot open \(path): \(String(cString: strerror(e)))")
        }
        return fd
    }

    public static func read(_ path: String) throws -> [UInt8] {
        if path == "-" {
            if isTerminal(0) {
                throw UnclipError.usage("refusing to read binary data from a terminal: give a file or pipe one in")
            }
            return readAll(fd: 0)
        }
        let fd = try openForReading(path)
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
            throw UnclipError.io("\(path) is a directory")
        }
        return readAll(fd: fd)
    }

    static func readAll(fd: Int32) -> [UInt8] {
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 { out.append(contentsOf: buf[0..<n]) } else if n == 0 || errno != EINTR { break }
        }
        return out
    }

    /// Writes `data` to `path` atomically: a temporary file in the same
    /// folder, fsync, then rename, so a reader never sees a partial file and
    /// a failure leaves nothing behind. `-` writes to stdout, refusing a
    /// terminal for binary data.
    public static func write(_ data: [UInt8], to path: String, binary: Bool = true) throws {
        if path == "-" {
            if binary && isTerminal(1) {
                throw UnclipError.usage("refusing to write binary data to a terminal: use -o FILE or a pipe")
            }
            try writeAll(fd: 1, data, name: "stdout")
            return
        }
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw UnclipError.io("cannot write \(path): folder \(dir) does not exist")
        }
        var template = Array((dir + "/." + url.lastPathComponent + ".unclip-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw UnclipError.io("cannot write in \(dir): \(String(cString: strerror(errno)))") }
        let tmp = String(cString: template)
        // A descriptor closed twice could close one another thread just opened.
        var isOpen = true
        do {
            try writeAll(fd: fd, data, name: path)
            // mkstemp makes 0600 files; outputs should honour the umask like any other tool's.
            let mask = umask(0); umask(mask)
            fchmod(fd, 0o666 & ~mask)
            guard fsync(fd) == 0 else { throw UnclipError.io("cannot write \(path): \(String(cString: strerror(errno)))") }
            close(fd)
            isOpen = false
            guard rename(tmp, path) == 0 else { throw UnclipError.io("cannot write \(path): \(String(cString: strerror(errno)))") }
        } catch {
            if isOpen { close(fd) }
            unlink(tmp)
            throw error
        }
    }

    static func writeAll(fd: Int32, _ data: [UInt8], name: String) throws {
        var off = 0
        while off < data.count {
            let n = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, data.count - off) }
            if n < 0 {
                if errno == EINTR { continue }
                throw UnclipError.io("cannot write \(name): \(String(cString: strerror(errno)))")
            }
            off += n
        }
    }

    /// One line to stderr. Diagnostics never go to stdout, which carries data.
    public static func note(_ message: String) {
        FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
    }

    /// Expands an output pattern such as `var-%d.png` or `frame-%03d.png`.
    /// A pattern without a `%d` gets the index before the extension when more
    /// than one file is written, so no output silently overwrites another.
    public static func expand(pattern: String, index: Int, total: Int) -> String {
        if let r = pattern.range(of: #"%0?\d*d"#, options: .regularExpression) {
            let spec = String(pattern[r])
            return pattern.replacingCharacters(in: r, with: String(format: spec, index))
        }
        if total <= 1 || pattern == "-" { return pattern }
        let url = URL(fileURLWithPath: pattern)
        let ext = url.pathExtension
        let stem = ext.isEmpty ? pattern : String(pattern.dropLast(ext.count + 1))
        return ext.isEmpty ? "\(stem)-\(index)" : "\(stem)-\(index).\(ext)"
    }
}

/// Progress on stderr: only when stderr is a terminal or `--progress` asked
/// for it, so pipelines and logs stay clean.
public final class Progress: @unchecked Sendable {
    public let enabled: Bool
    private let label: String
    private let lock = NSLock()
    private var lastWidth = 0

    public init(_ label: String, enabled: Bool? = nil) {
        self.label = label
        self.enabled = enabled ?? IO.isTerminal(2)
    }

    public func update(_ done: Int, of total: Int, _ detail: String = "") {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        let pct = total > 0 ? 100 * done / total : 0
        let line = "\(label): \(done)/\(total) (\(pct)%)\(detail.isEmpty ? "" : " " + detail)"
        let pad = String(repeating: " ", count: max(0, lastWidth - line.count))
        lastWidth = line.count
        FileHandle.standardError.write(("\r" + line + pad).data(using: .utf8)!)
    }

    private var started: Date?

    /// `update` with the time left, extrapolated from the pace so far
    /// (for long, evenly paced work such as denoising steps).
    public func step(_ done: Int, of total: Int, _ what: String) {
        guard enabled else { return }
        lock.lock()
        let now = Date()
        if started == nil { started = now }
        let elapsed = now.timeIntervalSince(started!)
        lock.unlock()
        // The first report starts the clock; estimates need one step done since.
        var detail = what
        if done > 1 && done < total {
            let left = Int((elapsed / Double(done - 1) * Double(total - done)).rounded())
            detail += left >= 60 ? ", about \(left / 60)m\(String(format: "%02d", left % 60))s left" : ", about \(left)s left"
        }
        update(done, of: total, detail)
    }

    public func finish() {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        if lastWidth > 0 { FileHandle.standardError.write("\n".data(using: .utf8)!) }
        lastWidth = 0
    }
}
