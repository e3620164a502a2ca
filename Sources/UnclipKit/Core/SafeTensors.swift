import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A safetensors container (https://github.com/huggingface/safetensors):
/// `u64 LE header length | JSON header | raw little-endian tensor data`.
/// Used for CLIP checkpoints (memory-mapped, read-only) and for `.emb` files,
/// which are small and may arrive on stdin, so both a mapped file and an
/// in-memory buffer back the same reader.
public final class SafeTensors: @unchecked Sendable {
    public enum DType: String, Sendable, CaseIterable {
        case F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL

        public var size: Int {
            switch self {
            case .F64, .I64: return 8
            case .F32, .I32: return 4
            case .F16, .BF16, .I16: return 2
            case .I8, .U8, .BOOL: return 1
            }
        }
    }

    public struct TensorInfo: Sendable, Equatable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        /// Byte range inside the data section.
        public let begin: Int
        public let end: Int
        public var count: Int { shape.reduce(1, *) }
    }

    /// `__metadata__`: string → string, as the format requires.
    public let metadata: [String: String]
    public let tensors: [String: TensorInfo]
    /// Names in storage order, so writers and error messages are stable.
    public let names: [String]
    /// Bytes this container occupies from its start: lets a reader walk a
    /// stream of concatenated containers (`unclip encode` on a pipe).
    public let byteCount: Int
    /// Where the message names the input ("a.emb", "stdin", "model.safetensors").
    public let sourceName: String

    private let base: UnsafeRawPointer
    private let length: Int
    private let dataStart: Int
    private let owner: Owner
    private let mapped: Bool

    private final class Owner {
        let release: () -> Void
        init(_ release: @escaping () -> Void) { self.release = release }
        deinit { release() }
    }

    /// Memory-maps `path`: checkpoint tensors are read in place, never copied
    /// wholesale, so peak memory stays close to the size of the weights.
    public convenience init(mappingFile path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw UnclipError.io("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw UnclipError.io("cannot stat \(path)") }
        let size = Int(st.st_size)
        guard size >= 8 else { throw UnclipError.badInput("\(path): too short to be a safetensors file (\(size) bytes)") }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw UnclipError.io("cannot map \(path): \(String(cString: strerror(errno)))")
        }
        // Where the kernel caches files in large folios, a cold read through
        // a huge-page mapping fills the cache in 2 MiB folios, mapped with one
        // page-table entry each: faulting in and unmapping ViT-B/32's image
        // tower then costs ~1 ms, not ~35 ms, on every later run. A hint:
        // ignored where transparent huge pages are off.
        _ = madvise(p, size, 14 /* MADV_HUGEPAGE */)
        try self.init(base: UnsafeRawPointer(p), length: size, name: path, mapped: true, owner: Owner { munmap(p, size) })
    }

    /// Parses the container that starts at `offset` in `bytes`; trailing data
    /// after it (the next record of a stream) is left alone.
    public convenience init(bytes: [UInt8], offset: Int = 0, name: String) throws {
        let n = bytes.count - offset
        guard n >= 0 else { throw UnclipError.badInput("\(name): offset past the end") }
        let copy = UnsafeMutableRawPointer.allocate(byteCount: max(n, 1), alignment: 16)
        bytes.withUnsafeBytes { src in
            if n > 0 { copy.copyMemory(from: src.baseAddress! + offset, byteCount: n) }
        }
        try self.init(base: UnsafeRawPointer(copy), length: n, name: name, mapped: false, owner: Owner { copy.deallocate() })
    }

    private init(base: UnsafeRawPointer, length: Int, name: String, mapped: Bool, owner: Owner) throws {
        self.base = base
        self.length = length
        self.mapped = mapped
        self.owner = owner
        self.sourceName = name
        guard length >= 8 else { throw UnclipError.badInput("\(name): truncated (no safetensors header)") }
        var headerLen: UInt64 = 0
        for i in (0..<8).reversed() { headerLen = headerLen << 8 | UInt64(base.load(fromByteOffset: i, as: UInt8.self)) }
        guard headerLen >= 2, headerLen <= 100_000_000 else {
            throw UnclipError.badInput("\(name): not a safetensors file (header length \(headerLen))")
        }
        guard 8 + Int(headerLen) <= length else {
            throw UnclipError.badInput("\(name): truncated (header says \(headerLen) bytes, file has \(length - 8))")
        }
        let headerData = Data(bytes: base + 8, count: Int(headerLen))
        guard let json = try? JSONSerialization.jsonObject(with: headerData), let dict = json as? [String: Any] else {
            throw UnclipError.badInput("\(name): the safetensors header is not a JSON object")
        }
        dataStart = 8 + Int(headerLen)
        var meta: [String: String] = [:]
        var infos: [String: TensorInfo] = [:]
        var dataEnd = 0
        for (key, value) in dict {
            if key == "__metadata__" {
                guard let m = value as? [String: Any] else { throw UnclipError.badInput("\(name): __metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw UnclipError.badInput("\(name): metadata value for \(k) is not a string") }
                    meta[k] = s
                }
                continue
            }
            guard let t = value as? [String: Any],
                  let dts = t["dtype"] as? String,
                  let shapeAny = t["shape"] as? [Any],
                  let offs = t["data_offsets"] as? [Any], offs.count == 2 else {
                throw UnclipError.badInput("\(name): malformed entry for tensor \(key)")
            }
            guard let dt = DType(rawValue: dts) else { throw UnclipError.badInput("\(name): tensor \(key) has unsupported dtype \(dts)") }
            let shape = try shapeAny.map { (v: Any) -> Int in
                guard let n = (v as? NSNumber)?.intValue, n >= 0 else { throw UnclipError.badInput("\(name): tensor \(key) has a bad shape") }
                return n
            }
            guard let b = (offs[0] as? NSNumber)?.intValue, let e = (offs[1] as? NSNumber)?.intValue, b >= 0, e >= b else {
                throw UnclipError.badInput("\(name): tensor \(key) has bad data offsets")
            }
            // Extents are checked against what the input holds before any
            // arithmetic can overflow: a 100-byte file cannot claim gigabytes.
            guard e <= length - dataStart else {
                throw UnclipError.badInput("\(name): truncated (tensor \(key) ends past the end of the data)")
            }
            guard let expected = Self.byteCount(shape, dt.size), e - b == expected else {
                throw UnclipError.badInput("\(name): tensor \(key) holds \(e - b) bytes but \(dts)\(shape) needs \(Self.byteCount(shape, dt.size).map(String.init) ?? "more than there are")")
            }
            dataEnd = max(dataEnd, e)
            infos[key] = TensorInfo(name: key, dtype: dt, shape: shape, begin: b, end: e)
        }
        metadata = meta
        tensors = infos
        names = infos.values.sorted { ($0.begin, $0.name) < ($1.begin, $1.name) }.map(\.name)
        byteCount = dataStart + dataEnd
    }

    /// The bytes `shape` of `size`-byte elements takes, or nil where that overflows.
    static func byteCount(_ shape: [Int], _ size: Int) -> Int? {
        var n = size
        for d in shape {
            let (p, o) = n.multipliedReportingOverflow(by: d)
            if o { return nil }
            n = p
        }
        return n
    }

    public func info(_ name: String) throws -> TensorInfo {
        guard let t = tensors[name] else { throw UnclipError.badInput("\(sourceName): no tensor named \(name)") }
        return t
    }

    /// Every byte of the file or buffer, trailing bytes after the container included.
    public var allBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: length) }

    /// Unmaps the pages holding `bytes` (offsets into `allBytes`), widened to
    /// whole 2 MiB huge pages so that none is split; they stay in the page
    /// cache, and tensors there stay valid (mapped again on use). For reads of
    /// scattered samples that should not count in this process's memory.
    /// No-op for a buffer.
    public func unmapPages(holding bytes: Range<Int>) {
        guard mapped, !bytes.isEmpty else { return }
        let huge = 2 << 20
        let start = max(Int(bitPattern: base), (Int(bitPattern: base) + bytes.lowerBound) & ~(huge - 1))
        let end = min(Int(bitPattern: base) + length, (Int(bitPattern: base) + bytes.upperBound + huge - 1) & ~(huge - 1))
        _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_DONTNEED)
    }

    /// The tensor's bytes, in place (valid while `self` lives).
    public func raw(_ name: String) throws -> UnsafeRawBufferPointer {
        let t = try info(name)
        return UnsafeRawBufferPointer(start: base + dataStart + t.begin, count: t.end - t.begin)
    }

    /// The tensor widened to Float32, whatever its stored float type.
    public func floats(_ name: String) throws -> [Float] {
        let t = try info(name)
        return try Self.widen(try raw(name), dtype: t.dtype, count: t.count, what: "\(sourceName): tensor \(name)")
    }

    /// `count` little-endian values of a float type, as Float32 (for any container's tensors).
    static func widen(_ r: UnsafeRawBufferPointer, dtype: DType, count: Int, what: String) throws -> [Float] {
        var out = [Float](repeating: 0, count: count)
        switch dtype {
        case .F32:
            out.withUnsafeMutableBytes { $0.copyMemory(from: r) }
        case .F16:
            for i in 0..<count { out[i] = Float(Float16(bitPattern: r.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .BF16:
            for i in 0..<count {
                out[i] = Float(bitPattern: UInt32(r.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
            }
        case .F64:
            for i in 0..<count { out[i] = Float(r.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
        default:
            throw UnclipError.badInput("\(what) is \(dtype.rawValue), expected a float type")
        }
        return out
    }

    public func bytes(_ name: String) throws -> [UInt8] {
        Array(try raw(name))
    }

    /// True when the header's metadata claims to be an unclip embedding; used
    /// by `FileKind.sniff` to tell `.emb` files from other safetensors.
    static func headerMentionsEmbedding(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let window = bytes.prefix(4096)
        let needle = Array("unclip.embedding".utf8)
        let hay = Array(window)
        guard hay.count >= needle.count else { return false }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] {
            if Array(hay[i..<(i + needle.count)]) == needle { return true }
        }
        return false
    }

    // MARK: Writing

    public struct Entry {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        public var data: [UInt8]
        public init(name: String, dtype: DType, shape: [Int], data: [UInt8]) {
            self.name = name; self.dtype = dtype; self.shape = shape; self.data = data
        }
        public static func f32(_ name: String, _ values: [Float], shape: [Int]) -> Entry {
            Entry(name: name, dtype: .F32, shape: shape, data: values.withUnsafeBytes { Array($0) })
        }
    }

    /// Serialises tensors in the given order. The header is padded with
    /// spaces to a multiple of 8 bytes so f32 data stays aligned when mapped.
    public static func serialize(_ entries: [Entry], metadata: [String: String]) -> [UInt8] {
        var header = "{"
        var parts: [String] = []
        if !metadata.isEmpty {
            let m = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }.joined(separator: ",")
            parts.append("\"__metadata__\":{\(m)}")
        }
        var offset = 0
        for e in entries {
            precondition(e.data.count == e.shape.reduce(1, *) * e.dtype.size, "tensor \(e.name) size mismatch")
            let shape = e.shape.map(String.init).joined(separator: ",")
            parts.append("\(jsonString(e.name)):{\"dtype\":\"\(e.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + e.data.count)]}")
            offset += e.data.count
        }
        header += parts.joined(separator: ",") + "}"
        var h = Array(header.utf8)
        while (8 + h.count) % 8 != 0 { h.append(UInt8(ascii: " ")) }
        var out = [UInt8]()
        out.reserveCapacity(8 + h.count + offset)
        var n = UInt64(h.count)
        for _ in 0..<8 { out.append(UInt8(n & 0xFF)); n >>= 8 }
        out += h
        for e in entries { out += e.data }
        return out
    }

    static func jsonString(_ s: String) -> String {
        var r = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": r += "\\\""
            case "\\": r += "\\\\"
            case "\n": r += "\\n"
            case "\r": r += "\\r"
            case "\t": r += "\\t"
            default:
                if u.value < 0x20 { r += String(format: "\\u%04x", u.value) } else { r.unicodeScalars.append(u) }
            }
        }
        return r + "\""
    }
}
