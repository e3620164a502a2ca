import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A PyTorch checkpoint written by `torch.save(state_dict)`
/// (`diffusion_pytorch_model.bin`), read without running any of it.
///
/// A `.bin` is a Python pickle, and unpickling calls whatever functions the
/// pickle names, so a hostile checkpoint can run code on load. This reader
/// is a small pickle machine (opcodes as in PEP 307 and CPython's
/// `Lib/pickletools.py`) that knows only what a plain dict of tensors needs:
/// the container and scalar opcodes, `collections.OrderedDict`,
/// `torch._utils._rebuild_tensor_v2` / `_rebuild_parameter` and the
/// `torch.*Storage` types. Any other global, and any other opcode, is refused
/// where it appears, before anything could be called; even the allowed
/// "functions" are never called, only recognised and turned into records.
///
/// Two layouts, both memory-mapped and read in place:
/// - zip (torch ≥ 1.6's default): an uncompressed ZIP archive holding
///   `<archive>/data.pkl`, `<archive>/data/<key>` (one raw storage each) and
///   `<archive>/byteorder`;
/// - legacy (`_use_new_zipfile_serialization=False`): five pickles in a row
///   (magic number, protocol version, system info, the state dict, the list
///   of storage keys), then each storage as a u64 LE element count and its
///   raw bytes.
/// Tensors must be contiguous and little-endian; names, types and shapes are
/// checked against the bytes present before a tensor is handed out.
public final class TorchPickle: @unchecked Sendable {
    public struct TensorRecord: Sendable, Equatable {
        public let name: String
        public let dtype: SafeTensors.DType
        public let shape: [Int]
        /// Byte range of the tensor's elements in the file (row-major, little-endian).
        public let begin: Int
        public let end: Int
        public var count: Int { shape.reduce(1, *) }
    }

    public enum Format: String, Sendable {
        case zip, legacy
    }

    /// State-dict keys in file order.
    public let names: [String]
    public let tensors: [String: TensorRecord]
    public let format: Format
    /// The path, as messages name it.
    public let sourceName: String

    private let mapping: Mapping

    /// Maps `path` and parses it; throws `UnclipError.badInput` for anything
    /// that is not a plain, intact state dict of tensors.
    public convenience init(path: String) throws {
        try self.init(mapping: try Mapping(path: path), name: path)
    }

    /// Parses a checkpoint held in memory (`name` for messages).
    public convenience init(bytes: [UInt8], name: String) throws {
        try self.init(mapping: Mapping(copying: bytes), name: name)
    }

    private init(mapping map: Mapping, name path: String) throws {
        let b = map.bytes
        guard b.count >= 16 else { throw UnclipError.badInput("\(path): too short to be a PyTorch checkpoint (\(b.count) bytes)") }
        let format: Format
        let records: [TensorRecord]
        if Self.le(b, 0, 4) == 0x0403_4B50 {
            format = .zip
            records = try Self.parseZip(b, file: path)
        } else if b[0] == 0x80 {
            format = .legacy
            records = try Self.parseLegacy(b, file: path)
        } else {
            throw UnclipError.badInput("\(path): not a PyTorch checkpoint (neither a zip archive nor a legacy torch.save pickle)")
        }
        mapping = map
        sourceName = path
        self.format = format
        names = records.map(\.name)
        tensors = Dictionary(records.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func info(_ name: String) -> TensorRecord? { tensors[name] }

    /// The tensor's bytes, in place (valid while `self` lives).
    public func raw(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let t = tensors[name] else { throw UnclipError.badInput("\(sourceName): no tensor named \(name)") }
        return UnsafeRawBufferPointer(start: UnsafeRawPointer(mapping.base) + t.begin, count: t.end - t.begin)
    }

    /// The tensor widened to Float32, whatever its stored float type.
    public func floats(_ name: String) throws -> [Float] {
        guard let t = tensors[name] else { throw UnclipError.badInput("\(sourceName): no tensor named \(name)") }
        return try SafeTensors.widen(try raw(name), dtype: t.dtype, count: t.count, what: "\(sourceName): tensor \(name)")
    }

    // MARK: The file

    /// The whole file, mapped read-only: storages are read in place, so a
    /// multi-gigabyte UNet costs page cache, not a copy.
    private final class Mapping {
        let base: UnsafeMutableRawPointer
        let length: Int
        private let release: () -> Void

        init(path: String) throws {
            let fd = try IO.openForReading(path)
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw UnclipError.io("cannot stat \(path)") }
            guard (st.st_mode & S_IFMT) == S_IFREG else { throw UnclipError.io("\(path) is not a regular file") }
            let size = Int(st.st_size)
            guard size >= 16 else { throw UnclipError.badInput("\(path): too short to be a PyTorch checkpoint (\(size) bytes)") }
            guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
                throw UnclipError.io("cannot map \(path): \(String(cString: strerror(errno)))")
            }
            base = p
            length = size
            release = { munmap(p, size) }
        }

        init(copying bytes: [UInt8]) {
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
            bytes.withUnsafeBytes { if let src = $0.baseAddress { p.copyMemory(from: src, byteCount: bytes.count) } }
            base = p
            length = bytes.count
            release = { p.deallocate() }
        }

        deinit { release() }

        var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: length) }
    }

    /// `n` bytes at `at` as a little-endian unsigned integer; the caller has
    /// checked that they lie inside `b` (release builds do not).
    private static func le(_ b: UnsafeRawBufferPointer, _ at: Int, _ n: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in stride(from: n - 1, through: 0, by: -1) { v = v << 8 | UInt64(b[at + i]) }
        return v
    }

    /// Text from the file as it may appear in a one-line message: printable
    /// ASCII only, and not too long.
    private static func printable(_ s: String) -> String {
        let chars = s.unicodeScalars.prefix(120).map { u -> Character in
            u.value >= 0x20 && u.value < 0x7F ? Character(u) : "?"
        }
        return String(chars)
    }

    private static func elementCount(_ shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            guard !overflow else { return nil }
            n = p
        }
        return n
    }

    // MARK: Zip layout

    private static func parseZip(_ b: UnsafeRawBufferPointer, file: String) throws -> [TensorRecord] {
        let zip = try Zip(bytes: b, file: file)
        // torch's reader takes the archive's folder from its first entry
        // ("movq/data.pkl" → "movq/") and reads every record under it.
        guard let first = zip.order.first, let slash = first.firstIndex(of: "/") else {
            throw UnclipError.badInput("\(file): not a PyTorch checkpoint (a zip archive without torch's top-level folder)")
        }
        let prefix = String(first[...slash])
        if let r = try zip.data(prefix + "byteorder") {
            let order = String(decoding: b[r], as: UTF8.self)
            guard order == "little" else {
                throw UnclipError.badInput("\(file): the checkpoint's byte order is \"\(printable(order))\"; only little-endian checkpoints are read")
            }
        }
        guard let pkl = try zip.data(prefix + "data.pkl") else {
            throw UnclipError.badInput("\(file): not a PyTorch checkpoint (no \(printable(prefix))data.pkl in the zip archive)")
        }
        let machine = Machine(Cursor(bytes: b, pos: pkl.lowerBound, end: pkl.upperBound, file: file, part: "data.pkl"))
        let tensors = try stateDict(try machine.run(), file: file)
        return try resolve(tensors, file: file) { ref in
            guard let r = try zip.data(prefix + "data/" + ref.key) else {
                throw UnclipError.badInput("\(file): storage \(printable(ref.key)) is missing from the archive (no \(printable(prefix))data/\(printable(ref.key)))")
            }
            return r
        }
    }

    /// The few parts of the ZIP format (APPNOTE.TXT) that torch's writer
    /// uses: stored entries found through the central directory, which
    /// alone has their sizes (torch sets "sizes in a data descriptor" and
    /// leaves the local headers' zero), with ZIP64 for archives over 4 GiB.
    private struct Zip {
        struct Entry {
            let flags: Int
            let method: Int
            let compressedSize: Int
            let size: Int
            let localHeader: Int
        }

        let bytes: UnsafeRawBufferPointer
        let file: String
        private(set) var entries: [String: Entry] = [:]
        /// Entry names in central-directory order.
        private(set) var order: [String] = []

        init(bytes: UnsafeRawBufferPointer, file: String) throws {
            self.bytes = bytes
            self.file = file
            let n = bytes.count
            func bad(_ m: String) -> UnclipError { UnclipError.badInput("\(file): \(m)") }

            // The end-of-central-directory record: 22 bytes and a comment of
            // at most 64 KiB, which must reach exactly to the end of the file.
            var eocd = -1
            if n >= 22 {
                var i = n - 22
                let lowest = max(0, n - 22 - 0xFFFF)
                while i >= lowest {
                    if TorchPickle.le(bytes, i, 4) == 0x0605_4B50 && i + 22 + Int(TorchPickle.le(bytes, i + 20, 2)) == n {
                        eocd = i
                        break
                    }
                    i -= 1
                }
            }
            guard eocd >= 0 else { throw bad("truncated or not a zip archive (no end-of-central-directory record)") }
            var count = UInt64(TorchPickle.le(bytes, eocd + 10, 2))
            var cdSize = TorchPickle.le(bytes, eocd + 12, 4)
            var cdOffset = TorchPickle.le(bytes, eocd + 16, 4)
            if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
                // ZIP64: a 20-byte locator just before the record points at a 56-byte record with 64-bit fields.
                let loc = eocd - 20
                guard loc >= 0, TorchPickle.le(bytes, loc, 4) == 0x0706_4B50 else {
                    throw bad("damaged zip archive (ZIP64 fields without a ZIP64 locator)")
                }
                let rec = TorchPickle.le(bytes, loc + 8, 8)
                guard n >= 56, rec <= UInt64(n - 56), TorchPickle.le(bytes, Int(rec), 4) == 0x0606_4B50 else {
                    throw bad("damaged zip archive (no ZIP64 end-of-central-directory record where the locator points)")
                }
                count = TorchPickle.le(bytes, Int(rec) + 32, 8)
                cdSize = TorchPickle.le(bytes, Int(rec) + 40, 8)
                cdOffset = TorchPickle.le(bytes, Int(rec) + 48, 8)
            }
            guard cdOffset <= UInt64(n), cdSize <= UInt64(n) - cdOffset else {
                throw bad("truncated (the zip central directory lies past the end of the file)")
            }
            // Each central-directory entry takes at least 46 bytes, which bounds the loop by the bytes present.
            guard count <= cdSize / 46 else { throw bad("damaged zip archive (\(count) entries cannot fit in a \(cdSize)-byte central directory)") }
            var p = Int(cdOffset)
            let cdEnd = p + Int(cdSize)
            for _ in 0..<Int(count) {
                guard cdEnd - p >= 46, TorchPickle.le(bytes, p, 4) == 0x0201_4B50 else { throw bad("damaged zip central directory") }
                let nameLen = Int(TorchPickle.le(bytes, p + 28, 2))
                let extraLen = Int(TorchPickle.le(bytes, p + 30, 2))
                let commentLen = Int(TorchPickle.le(bytes, p + 32, 2))
                guard cdEnd - p - 46 >= nameLen + extraLen + commentLen else { throw bad("damaged zip central directory") }
                let name = String(decoding: bytes[(p + 46)..<(p + 46 + nameLen)], as: UTF8.self)
                var size = TorchPickle.le(bytes, p + 24, 4)
                var csize = TorchPickle.le(bytes, p + 20, 4)
                var local = TorchPickle.le(bytes, p + 42, 4)
                // A ZIP64 extra field (id 1) holds 64-bit values for exactly the fields saturated above, in this order.
                var x = p + 46 + nameLen
                let xEnd = x + extraLen
                while xEnd - x >= 4 {
                    let id = TorchPickle.le(bytes, x, 2)
                    let len = Int(TorchPickle.le(bytes, x + 2, 2))
                    guard xEnd - x - 4 >= len else { break }
                    if id == 1 {
                        var f = x + 4
                        let fEnd = f + len
                        if size == 0xFFFF_FFFF, fEnd - f >= 8 { size = TorchPickle.le(bytes, f, 8); f += 8 }
                        if csize == 0xFFFF_FFFF, fEnd - f >= 8 { csize = TorchPickle.le(bytes, f, 8); f += 8 }
                        if local == 0xFFFF_FFFF, fEnd - f >= 8 { local = TorchPickle.le(bytes, f, 8); f += 8 }
                    }
                    x += 4 + len
                }
                guard size <= UInt64(n), csize <= UInt64(n), local <= UInt64(n) else {
                    throw bad("truncated (zip entry \(TorchPickle.printable(name)) lies past the end of the file)")
                }
                // Two entries of one name would let the archive say two things about one record.
                guard entries[name] == nil else { throw bad("damaged zip archive (it lists \(TorchPickle.printable(name)) twice)") }
                order.append(name)
                entries[name] = Entry(flags: Int(TorchPickle.le(bytes, p + 8, 2)), method: Int(TorchPickle.le(bytes, p + 10, 2)),
                                      compressedSize: Int(csize), size: Int(size), localHeader: Int(local))
                p += 46 + nameLen + extraLen + commentLen
            }
        }

        /// The bytes of entry `name`, or nil when the archive has none;
        /// throws for an entry that cannot be read in place.
        func data(_ name: String) throws -> Range<Int>? {
            guard let e = entries[name] else { return nil }
            let shown = TorchPickle.printable(name)
            guard e.flags & 1 == 0 else { throw UnclipError.badInput("\(file): zip entry \(shown) is encrypted") }
            guard e.method == 0, e.compressedSize == e.size else {
                throw UnclipError.badInput("\(file): zip entry \(shown) is compressed (method \(e.method)); torch.save stores entries uncompressed, and only such archives are read")
            }
            let n = bytes.count
            let h = e.localHeader
            guard n - h >= 30, TorchPickle.le(bytes, h, 4) == 0x0403_4B50 else {
                throw UnclipError.badInput("\(file): damaged zip archive (no local header for \(shown))")
            }
            let start = h + 30 + Int(TorchPickle.le(bytes, h + 26, 2)) + Int(TorchPickle.le(bytes, h + 28, 2))
            guard start <= n, e.size <= n - start else {
                throw UnclipError.badInput("\(file): truncated (zip entry \(shown) runs past the end of the file)")
            }
            return start..<(start + e.size)
        }
    }

    // MARK: Legacy layout

    /// `torch.serialization.MAGIC_NUMBER`, 0x1950a86a20f9469cfc6c, as LONG1 stores it.
    private static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    private static func parseLegacy(_ b: UnsafeRawBufferPointer, file: String) throws -> [TensorRecord] {
        var pos = 0
        // Each pickle gets a machine of its own, as torch gives each its own Unpickler (and memo).
        func load(_ part: String) throws -> Machine {
            let m = Machine(Cursor(bytes: b, pos: pos, end: b.count, file: file, part: part))
            m.result = try m.run()
            pos = m.cur.pos
            return m
        }
        guard case .bigInt(let magic)? = try load("the magic-number pickle").result, magic == legacyMagic else {
            throw UnclipError.badInput("\(file): not a PyTorch checkpoint (a pickle, but not torch.save's legacy format)")
        }
        guard case .int(1001)? = try load("the protocol-version pickle").result else {
            throw UnclipError.badInput("\(file): unsupported legacy torch.save protocol version (only 1001 is read)")
        }
        if case .dict(let info)? = try load("the system-info pickle").result {
            for (key, value) in info.items {
                if case .string("little_endian") = key, case .bool(false) = value {
                    throw UnclipError.badInput("\(file): the checkpoint was written big-endian; only little-endian checkpoints are read")
                }
            }
        }
        let main = try load("the state-dict pickle")
        guard let root = main.result else { throw UnclipError.badInput("\(file): the state-dict pickle is empty") }
        let tensors = try stateDict(root, file: file)
        guard case .list(let keyList)? = try load("the storage-key pickle").result else {
            throw UnclipError.badInput("\(file): the storage-key pickle is not a list")
        }
        // The stream stores element counts, so each storage's element type
        // comes from the persistent ids that name it, which must agree.
        var dtypes: [String: SafeTensors.DType] = [:]
        for s in main.storages {
            if let d = dtypes[s.key], d != s.dtype {
                throw UnclipError.badInput("\(file): storage \(printable(s.key)) is read as both \(d.rawValue) and \(s.dtype.rawValue)")
            }
            dtypes[s.key] = s.dtype
        }
        var ranges: [String: Range<Int>] = [:]
        var cur = Cursor(bytes: b, pos: pos, end: b.count, file: file, part: "the storage data")
        for item in keyList.items {
            guard case .string(let key) = item else { throw UnclipError.badInput("\(file): the storage-key list holds \(item.kind), not a key") }
            let n = try cur.uint(8)
            guard let dt = dtypes[key] else {
                throw UnclipError.badInput("\(file): storage \(printable(key)) is stored but no tensor refers to it")
            }
            guard n <= UInt64(b.count / dt.size) else {
                throw UnclipError.badInput("\(file): truncated (storage \(printable(key)) claims \(n) elements, more than the file holds)")
            }
            let r = try cur.take(Int(n) * dt.size)
            guard ranges.updateValue(r, forKey: key) == nil else {
                throw UnclipError.badInput("\(file): the storage-key list names \(printable(key)) twice")
            }
        }
        return try resolve(tensors, file: file) { ref in
            guard let r = ranges[ref.key] else {
                throw UnclipError.badInput("\(file): storage \(printable(ref.key)) has no data in the file")
            }
            return r
        }
    }

    // MARK: From pickled objects to tensors

    private struct NamedTensor {
        let name: String
        let tensor: PendingTensor
    }

    /// The pickle's result as (name, tensor) pairs: it must be a dict (or
    /// OrderedDict) of string keys to tensors, each laid out contiguously.
    private static func stateDict(_ root: Value, file: String) throws -> [NamedTensor] {
        guard case .dict(let d) = root else {
            throw UnclipError.badInput("\(file): the checkpoint holds \(root.kind), not a state dict of tensors")
        }
        var seen = Set<String>()
        var out: [NamedTensor] = []
        for (key, value) in d.items {
            guard case .string(let name) = key else {
                throw UnclipError.badInput("\(file): the state dict has \(key.kind) as a key; only tensor names are read")
            }
            let shown = printable(name)
            guard case .tensor(let t) = value else {
                throw UnclipError.badInput("\(file): \(shown) is \(value.kind), not a tensor; only a plain state dict of tensors is read")
            }
            guard seen.insert(name).inserted else { throw UnclipError.badInput("\(file): the state dict names \(shown) twice") }
            // Size-1 dimensions may have any stride; an empty tensor has no layout at all.
            if t.count > 0 {
                var expected = 1
                for i in t.shape.indices.reversed() where t.shape[i] != 1 {
                    guard t.strides[i] == expected else {
                        throw UnclipError.badInput("\(file): tensor \(shown) has strides \(t.strides) for shape \(t.shape), not a contiguous row-major layout; only contiguous tensors are read (re-save it with .contiguous())")
                    }
                    expected *= t.shape[i]
                }
            }
            out.append(NamedTensor(name: name, tensor: t))
        }
        return out
    }

    /// Places each tensor in the file: `storage` gives the bytes stored for
    /// a storage; its declared size must fit in them and the tensor in it.
    private static func resolve(_ tensors: [NamedTensor], file: String,
                                storage: (StorageRef) throws -> Range<Int>) throws -> [TensorRecord] {
        var out: [TensorRecord] = []
        out.reserveCapacity(tensors.count)
        for nt in tensors {
            let t = nt.tensor, ref = t.storage
            let bytes = try storage(ref)
            let size = ref.dtype.size
            let (need, o1) = ref.numel.multipliedReportingOverflow(by: size)
            guard !o1, need <= bytes.count else {
                throw UnclipError.badInput("\(file): truncated (storage \(printable(ref.key)) should hold \(ref.numel) \(ref.dtype.rawValue) elements, the file has \(bytes.count / size))")
            }
            let (last, o2) = t.offset.addingReportingOverflow(t.count)
            guard !o2, last <= ref.numel else {
                throw UnclipError.badInput("\(file): tensor \(printable(nt.name)) (\(t.count) elements from element \(t.offset)) reaches past the end of its storage (\(ref.numel) elements)")
            }
            // Both products are at most `need`, so they cannot overflow.
            let begin = bytes.lowerBound + t.offset * size
            out.append(TensorRecord(name: nt.name, dtype: ref.dtype, shape: t.shape, begin: begin, end: begin + t.count * size))
        }
        return out
    }

    // MARK: The pickle machine

    /// A storage a persistent id names: `('storage', torch.FloatStorage, key, location, numel)`,
    /// plus a trailing view (always None since torch 1.0) in the legacy layout.
    private struct StorageRef {
        let key: String
        let dtype: SafeTensors.DType
        let numel: Int
    }

    /// What `_rebuild_tensor_v2(storage, offset, size, stride, ...)` describes.
    private struct PendingTensor {
        let storage: StorageRef
        let offset: Int
        let shape: [Int]
        let strides: [Int]
        let count: Int
    }

    /// The only globals a plain state dict names. They are never called:
    /// REDUCE on one of them builds the record it stands for.
    private enum Global {
        case orderedDict
        case rebuildTensorV2
        case rebuildParameter
        case storageType(SafeTensors.DType)

        static let storageTypes: [String: SafeTensors.DType] = [
            "DoubleStorage": .F64, "FloatStorage": .F32, "HalfStorage": .F16, "BFloat16Storage": .BF16,
            "LongStorage": .I64, "IntStorage": .I32, "ShortStorage": .I16, "CharStorage": .I8,
            "ByteStorage": .U8, "BoolStorage": .BOOL,
        ]

        static func resolve(_ module: String, _ name: String) -> Global? {
            switch (module, name) {
            case ("collections", "OrderedDict"): return .orderedDict
            case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
            case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
            case ("torch", _): return storageTypes[name].map { Global.storageType($0) }
            default: return nil
            }
        }
    }

    /// Lists and dicts are mutable after creation (pickles memoise an empty
    /// container, then fill it), hence classes. Once one is placed inside
    /// another object it is sealed: filling it later is refused, so nesting
    /// depth, recorded at each insertion, stays true and no cycle can form.
    private final class ListBox {
        var items: [Value] = []
        var depth = 1
        var sealed = false
    }

    private final class DictBox {
        var items: [(key: Value, value: Value)] = []
        var depth = 1
        var sealed = false
    }

    /// The Python objects a state-dict pickle builds.
    private enum Value {
        case none
        case bool(Bool)
        case int(Int)
        /// A LONG1 integer wider than 64 bits (little-endian two's complement): only the legacy magic number.
        case bigInt([UInt8])
        case float(Double)
        case string(String)
        case tuple([Value], depth: Int)
        case list(ListBox)
        case dict(DictBox)
        case global(Global)
        case storage(StorageRef)
        case tensor(PendingTensor)

        var depth: Int {
            switch self {
            case .tuple(_, let d): return d
            case .list(let l): return l.depth
            case .dict(let d): return d.depth
            default: return 0
            }
        }

        var kind: String {
            switch self {
            case .none: return "None"
            case .bool: return "a bool"
            case .int, .bigInt: return "an integer"
            case .float: return "a float"
            case .string: return "a string"
            case .tuple: return "a tuple"
            case .list: return "a list"
            case .dict: return "a dict"
            case .global: return "a function"
            case .storage: return "a storage"
            case .tensor: return "a tensor"
            }
        }
    }

    /// A bounded read position over one pickle or stream.
    private struct Cursor {
        let bytes: UnsafeRawBufferPointer
        var pos: Int
        let end: Int
        let file: String
        /// Which part of the file, for messages ("data.pkl", "the state-dict pickle").
        let part: String

        /// The next `n` bytes, checked against what is left before anything is allocated.
        mutating func take(_ n: Int) throws -> Range<Int> {
            guard n >= 0, n <= end - pos else {
                throw UnclipError.badInput("\(file): truncated (\(part) ends inside a record at byte \(pos))")
            }
            let r = pos..<(pos + n)
            pos += n
            return r
        }

        mutating func u8() throws -> UInt8 {
            let r = try take(1)
            return bytes[r.lowerBound]
        }

        mutating func uint(_ n: Int) throws -> UInt64 {
            let r = try take(n)
            return TorchPickle.le(bytes, r.lowerBound, n)
        }
    }

    /// The restricted unpickler. Iterative, with every structure bounded: stack
    /// and memo sizes, container nesting, string lengths (against the bytes
    /// left), integer widths and tensor ranks.
    private final class Machine {
        static let maxDepth = 32          // a state dict nests about 4 deep
        static let maxStack = 1 << 20
        static let maxMemo = 1 << 22
        static let maxString = 1 << 20
        static let maxDims = 64
        static let maxGlobalName = 256

        var cur: Cursor
        var result: Value?
        /// Every storage the persistent ids named, in order.
        private(set) var storages: [StorageRef] = []
        private var stack: [Value] = []
        private var marks: [Int] = []
        private var memo: [Int: Value] = [:]
        /// Where the current opcode started, for messages.
        private var at = 0

        init(_ cur: Cursor) { self.cur = cur }

        private var file: String { cur.file }

        private func bad(_ m: String) -> UnclipError {
            UnclipError.badInput("\(file): malformed pickle (\(cur.part), opcode at byte \(at)): \(m)")
        }

        private func refusedOpcode(_ op: UInt8) -> UnclipError {
            let hex = String(op, radix: 16, uppercase: true)
            let name = Self.opcodeNames[op].map { " (\($0))" } ?? ""
            return UnclipError.badInput("\(file): refused: the pickle uses opcode 0x\(hex.count < 2 ? "0" + hex : hex)\(name) at byte \(at) of \(cur.part), which a plain tensor checkpoint never does (only tensors are read; no code is run)")
        }

        /// Opcodes this machine refuses, named for the message (pickletools' names).
        static let opcodeNames: [UInt8: String] = [
            0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x42: "BINBYTES", 0x43: "SHORT_BINBYTES", 0x46: "FLOAT",
            0x49: "INT", 0x4C: "LONG", 0x50: "PERSID", 0x53: "STRING", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING",
            0x56: "UNICODE", 0x67: "GET", 0x69: "INST", 0x6F: "OBJ", 0x70: "PUT", 0x81: "NEWOBJ", 0x82: "EXT1",
            0x83: "EXT2", 0x84: "EXT4", 0x8B: "LONG4", 0x8E: "BINBYTES8", 0x8F: "EMPTY_SET", 0x90: "ADDITEMS",
            0x91: "FROZENSET", 0x92: "NEWOBJ_EX", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
        ]

        /// Runs to STOP and returns the object built.
        func run() throws -> Value {
            while true {
                at = cur.pos
                let op = try cur.u8()
                switch op {
                case 0x80: // PROTO
                    let v = try cur.u8()
                    guard v <= 5 else { throw bad("pickle protocol \(v) is newer than any Python writes") }
                case 0x95: // FRAME (protocol 4): a length prefix for buffered reading; the opcodes follow inline
                    let n = try cur.uint(8)
                    guard n <= UInt64(cur.end - cur.pos) else {
                        throw UnclipError.badInput("\(file): truncated (\(cur.part) ends inside a frame at byte \(at))")
                    }
                case 0x7D: // EMPTY_DICT
                    try push(.dict(DictBox()))
                case 0x5D: // EMPTY_LIST
                    try push(.list(ListBox()))
                case 0x29: // EMPTY_TUPLE
                    try push(.tuple([], depth: 1))
                case 0x28: // MARK
                    guard marks.count < Self.maxStack else { throw bad("more than \(Self.maxStack) open MARKs") }
                    marks.append(stack.count)
                case 0x58: // BINUNICODE
                    let n = try cur.uint(4)
                    let s = try string(n)
                    try push(.string(s))
                case 0x8C: // SHORT_BINUNICODE
                    let n = try cur.u8()
                    let s = try string(UInt64(n))
                    try push(.string(s))
                case 0x8D: // BINUNICODE8
                    let n = try cur.uint(8)
                    let s = try string(n)
                    try push(.string(s))
                case 0x4A: // BININT: signed 32-bit
                    let v = try cur.uint(4)
                    try push(.int(Int(Int32(bitPattern: UInt32(v)))))
                case 0x4B: // BININT1
                    let v = try cur.u8()
                    try push(.int(Int(v)))
                case 0x4D: // BININT2
                    let v = try cur.uint(2)
                    try push(.int(Int(v)))
                case 0x8A: // LONG1: n bytes of little-endian two's complement
                    let n = Int(try cur.u8())
                    let r = try cur.take(n)
                    if n <= 8 {
                        var v = n > 0 ? TorchPickle.le(cur.bytes, r.lowerBound, n) : 0
                        if n > 0 && n < 8 && cur.bytes[r.upperBound - 1] & 0x80 != 0 { v |= ~UInt64(0) << UInt64(8 * n) }
                        try push(.int(Int(Int64(bitPattern: v))))
                    } else {
                        try push(.bigInt(Array(cur.bytes[r])))
                    }
                case 0x47: // BINFLOAT: big-endian IEEE double
                    let r = try cur.take(8)
                    var bits: UInt64 = 0
                    for i in r { bits = bits << 8 | UInt64(cur.bytes[i]) }
                    try push(.float(Double(bitPattern: bits)))
                case 0x4E: // NONE
                    try push(.none)
                case 0x88: // NEWTRUE
                    try push(.bool(true))
                case 0x89: // NEWFALSE
                    try push(.bool(false))
                case 0x74: // TUPLE
                    let items = try popMark()
                    try push(try tuple(items))
                case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
                    let items = try pop(Int(op - 0x84))
                    try push(try tuple(items))
                case 0x6C: // LIST
                    let items = try popMark()
                    let l = ListBox()
                    try append(items, to: l)
                    try push(.list(l))
                case 0x61: // APPEND
                    let x = try pop()
                    try append([x], to: try topList())
                case 0x65: // APPENDS
                    let items = try popMark()
                    try append(items, to: try topList())
                case 0x64: // DICT
                    let items = try popMark()
                    let d = DictBox()
                    try setItems(items, in: d)
                    try push(.dict(d))
                case 0x73: // SETITEM
                    let items = try pop(2)
                    try setItems(items, in: try topDict())
                case 0x75: // SETITEMS
                    let items = try popMark()
                    try setItems(items, in: try topDict())
                case 0x71: // BINPUT
                    let i = try cur.u8()
                    try put(Int(i))
                case 0x72: // LONG_BINPUT
                    let i = try cur.uint(4)
                    try put(Int(i))
                case 0x94: // MEMOIZE
                    try put(memo.count)
                case 0x68: // BINGET
                    let i = try cur.u8()
                    try get(Int(i))
                case 0x6A: // LONG_BINGET
                    let i = try cur.uint(4)
                    try get(Int(i))
                case 0x63: // GLOBAL: "module\nname\n"
                    let module = try line()
                    let name = try line()
                    try push(.global(try global(module, name)))
                case 0x93: // STACK_GLOBAL (protocol 4): module and name from the stack
                    let pair = try pop(2)
                    guard case .string(let module) = pair[0], case .string(let name) = pair[1] else {
                        throw bad("STACK_GLOBAL on \(pair[0].kind) and \(pair[1].kind), not two strings")
                    }
                    try push(.global(try global(module, name)))
                case 0x52: // REDUCE: callable(*args)
                    let pair = try pop(2)
                    try push(try reduce(pair[0], pair[1]))
                case 0x62: // BUILD: set an object's state
                    let state = try pop()
                    let target = try top()
                    // An OrderedDict's state is its instance __dict__; state_dict() keeps `_metadata`
                    // (module versions) there. Not weights, so it is dropped.
                    guard case .dict = target else { throw bad("BUILD on \(target.kind); only an OrderedDict's state is accepted") }
                    switch state {
                    case .none, .dict, .tuple: break
                    default: throw bad("BUILD with \(state.kind) as the state")
                    }
                case 0x51: // BINPERSID: a storage reference, resolved against the file afterwards
                    let pid = try pop()
                    try push(.storage(try persistent(pid)))
                case 0x2E: // STOP
                    return try pop()
                default:
                    throw refusedOpcode(op)
                }
            }
        }

        // Stack, with MARK frames: nothing pops below the innermost mark.

        private var floor: Int { marks.last ?? 0 }

        private func push(_ v: Value) throws {
            guard stack.count < Self.maxStack else { throw bad("the stack grows past \(Self.maxStack) entries") }
            stack.append(v)
        }

        private func pop() throws -> Value {
            guard stack.count > floor else { throw bad("pops an empty stack") }
            return stack.removeLast()
        }

        private func pop(_ n: Int) throws -> [Value] {
            guard stack.count - floor >= n else { throw bad("needs \(n) values on the stack") }
            let items = Array(stack[(stack.count - n)...])
            stack.removeLast(n)
            return items
        }

        private func popMark() throws -> [Value] {
            guard let m = marks.popLast() else { throw bad("no MARK to pop to") }
            let items = Array(stack[m...])
            stack.removeSubrange(m...)
            return items
        }

        private func top() throws -> Value {
            guard stack.count > floor, let v = stack.last else { throw bad("reads the top of an empty stack") }
            return v
        }

        private func topList() throws -> ListBox {
            let v = try top()
            guard case .list(let l) = v else { throw bad("appends to \(v.kind), not a list") }
            return l
        }

        private func topDict() throws -> DictBox {
            let v = try top()
            guard case .dict(let d) = v else { throw bad("sets an item in \(v.kind), not a dict") }
            return d
        }

        // Memo.

        private func put(_ i: Int) throws {
            let v = try top()
            if memo[i] == nil {
                guard memo.count < Self.maxMemo else { throw bad("the memo grows past \(Self.maxMemo) entries") }
            }
            memo[i] = v
        }

        private func get(_ i: Int) throws {
            guard let v = memo[i] else { throw bad("memo entry \(i) was never stored") }
            try push(v)
        }

        // Containers, sealed and depth-checked on every insertion.

        private func seal(_ v: Value) {
            switch v {
            case .list(let l): l.sealed = true
            case .dict(let d): d.sealed = true
            default: break
            }
        }

        private func nested(_ childDepth: Int) throws -> Int {
            guard childDepth + 1 <= Self.maxDepth else { throw bad("objects nest more than \(Self.maxDepth) deep") }
            return childDepth + 1
        }

        private func tuple(_ items: [Value]) throws -> Value {
            var depth = 1
            for x in items {
                depth = max(depth, try nested(x.depth))
                seal(x)
            }
            return .tuple(items, depth: depth)
        }

        private func append(_ items: [Value], to l: ListBox) throws {
            guard !l.sealed else { throw bad("fills a list after placing it inside another object") }
            for x in items {
                if case .list(let y) = x, y === l { throw bad("puts a list inside itself") }
                l.depth = max(l.depth, try nested(x.depth))
                seal(x)
                l.items.append(x)
            }
        }

        private func setItems(_ items: [Value], in d: DictBox) throws {
            guard items.count % 2 == 0 else { throw bad("SETITEMS with an odd number of values") }
            guard !d.sealed else { throw bad("fills a dict after placing it inside another object") }
            var i = 0
            while i < items.count {
                for x in items[i...(i + 1)] {
                    if case .dict(let y) = x, y === d { throw bad("puts a dict inside itself") }
                    d.depth = max(d.depth, try nested(x.depth))
                    seal(x)
                }
                d.items.append((key: items[i], value: items[i + 1]))
                i += 2
            }
        }

        // Scalars.

        private func string(_ n: UInt64) throws -> String {
            guard n <= UInt64(Self.maxString) else { throw bad("a \(n)-byte string; names in a checkpoint are short") }
            let r = try cur.take(Int(n))
            guard let s = String(bytes: cur.bytes[r], encoding: .utf8) else { throw bad("a string that is not UTF-8") }
            return s
        }

        /// One newline-terminated line of a GLOBAL opcode.
        private func line() throws -> String {
            let start = cur.pos
            var i = start
            while i < cur.end && cur.bytes[i] != 0x0A {
                i += 1
                guard i - start <= Self.maxGlobalName else { throw bad("a GLOBAL name longer than \(Self.maxGlobalName) bytes") }
            }
            guard i < cur.end else { throw UnclipError.badInput("\(file): truncated (\(cur.part) ends inside a GLOBAL at byte \(at))") }
            cur.pos = i + 1
            return String(decoding: cur.bytes[start..<i], as: UTF8.self)
        }

        // The allowed globals, and what REDUCE and BINPERSID make of them.

        private func global(_ module: String, _ name: String) throws -> Global {
            guard let g = Global.resolve(module, name) else {
                throw UnclipError.badInput("\(file): refused: the pickle calls \(TorchPickle.printable(module)).\(TorchPickle.printable(name)), which a plain tensor checkpoint never does (only tensors are read; no code is run)")
            }
            return g
        }

        private func reduce(_ callable: Value, _ args: Value) throws -> Value {
            guard case .global(let g) = callable else { throw bad("REDUCE calls \(callable.kind)") }
            guard case .tuple(let a, _) = args else { throw bad("REDUCE with \(args.kind) as the arguments") }
            switch g {
            case .orderedDict:
                guard a.isEmpty else { throw bad("OrderedDict built from arguments") }
                return .dict(DictBox())
            case .rebuildTensorV2:
                // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
                guard a.count == 6 || a.count == 7 else { throw bad("_rebuild_tensor_v2 with \(a.count) arguments") }
                guard case .storage(let storage) = a[0] else { throw bad("_rebuild_tensor_v2 on \(a[0].kind), not a storage") }
                guard case .int(let offset) = a[1], offset >= 0 else { throw bad("_rebuild_tensor_v2 with a bad storage offset") }
                guard let shape = ints(a[2]), let strides = ints(a[3]), shape.count == strides.count else {
                    throw bad("_rebuild_tensor_v2 with a bad size or stride")
                }
                guard let count = TorchPickle.elementCount(shape) else { throw bad("a tensor of shape \(shape) is too large") }
                guard case .dict(let hooks) = a[5], hooks.items.isEmpty else { throw bad("a tensor with backward hooks") }
                return .tensor(PendingTensor(storage: storage, offset: offset, shape: shape, strides: strides, count: count))
            case .rebuildParameter:
                // (data, requires_grad, backward_hooks): an nn.Parameter is just its tensor here.
                guard a.count == 3, case .tensor(let t) = a[0] else { throw bad("_rebuild_parameter without a tensor") }
                guard case .dict(let hooks) = a[2], hooks.items.isEmpty else { throw bad("a parameter with backward hooks") }
                return .tensor(t)
            case .storageType(let dt):
                throw bad("a \(dt.rawValue) storage is constructed directly; storages come only from persistent ids")
            }
        }

        /// A non-negative integer tuple (a size or stride).
        private func ints(_ v: Value) -> [Int]? {
            guard case .tuple(let items, _) = v, items.count <= Self.maxDims else { return nil }
            var out: [Int] = []
            for x in items {
                guard case .int(let i) = x, i >= 0 else { return nil }
                out.append(i)
            }
            return out
        }

        private func persistent(_ pid: Value) throws -> StorageRef {
            guard case .tuple(let t, _) = pid, t.count == 5 || t.count == 6, case .string("storage") = t[0] else {
                throw bad("a persistent id that is not a storage reference")
            }
            guard case .global(.storageType(let dtype)) = t[1] else { throw bad("a storage whose type is \(t[1].kind)") }
            guard case .string(let key) = t[2], case .string = t[3], case .int(let numel) = t[4], numel >= 0 else {
                throw bad("a malformed storage reference")
            }
            if t.count == 6 {
                guard case .none = t[5] else { throw bad("a storage view (written by torch before 1.0), which is not supported") }
            }
            let ref = StorageRef(key: key, dtype: dtype, numel: numel)
            storages.append(ref)
            return ref
        }
    }
}
