import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// `unclip model pull`: fetches a model's files from the Hugging Face hub
/// (`$UNCLIP_HUB_ENDPOINT`, default https://huggingface.co, URLs
/// `/{name}/resolve/main/{file}`) into the model store.
///
/// Each file is downloaded into `FILE.partial` next to its final name; a rerun
/// continues it with a `Range:` request. A finished file is checked against
/// the size and SHA-256 the hub announces (`X-Linked-Size` and
/// `X-Linked-Etag` on the redirect it answers a HEAD for a large file with,
/// or `Content-Length` and a 64-hex-digit `ETag` on a direct answer) and only
/// then renamed into place, so the store never holds a damaged file under
/// its real name.
public final class ModelDownloader {
    public static let defaultEndpoint = "https://huggingface.co"

    public let endpoint: String
    public let showProgress: Bool
    private let note: (String) -> Void

    /// What the hub says about one file before it is fetched.
    public struct RemoteFile: Sendable, Equatable {
        public var status: Int
        public var size: Int64?
        /// Lower-case hex, when the hub gave a SHA-256.
        public var sha256: String?
    }

    /// `endpoint` nil: `$UNCLIP_HUB_ENDPOINT`, else the public hub.
    /// `showProgress` nil: a progress line only when stderr is a terminal.
    public init(endpoint: String? = nil, showProgress: Bool? = nil, note: @escaping (String) -> Void = IO.note) {
        let e = endpoint ?? ProcessInfo.processInfo.environment["UNCLIP_HUB_ENDPOINT"] ?? Self.defaultEndpoint
        self.endpoint = e.hasSuffix("/") ? String(e.dropLast()) : e
        self.showProgress = showProgress ?? IO.isTerminal(2)
        self.note = note
    }

    public func url(model name: String, file: String) -> URL {
        URL(string: "\(endpoint)/\(name)/resolve/main/\(file)")!
    }

    /// Downloads every file of `name` (ModelStore.hubFiles) into `directory`
    /// (default: its folder in the store) and returns that directory.
    @discardableResult
    public func pull(_ name: String, into directory: URL? = nil) throws -> URL {
        guard ModelStore.isHubName(name) else {
            throw UnclipError.usage("\(name): not a model name such as \(ModelStore.defaultModelName)")
        }
        guard URL(string: endpoint)?.scheme.map({ ["http", "https"].contains($0) }) == true else {
            throw UnclipError.usage("hub endpoint \(endpoint) is not an http(s) URL (check UNCLIP_HUB_ENDPOINT)")
        }
        let dir = directory ?? ModelStore.directory(for: name)
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw UnclipError.io("cannot create \(dir.path): \(error.localizedDescription)")
        }
        do {
            for file in ModelStore.hubFiles {
                try fetch(name, file: file, into: dir)
            }
        } catch {
            // A pull that got nothing (wrong name, no network) leaves no empty
            // folder behind to show up in `model list`.
            if (try? FileManager.default.contentsOfDirectory(atPath: dir.path))?.isEmpty == true {
                try? FileManager.default.removeItem(at: dir)
            }
            throw error
        }
        return dir
    }

    // MARK: - The diffusion pipeline

    /// One file of a pipeline component: its path in the hub repository,
    /// tried in order (the half-precision variant first: half the download,
    /// and the loaders widen it exactly). It goes to the same path under
    /// the component's folder.
    public struct PipelineFile: Sendable, Equatable {
        public var component: KandinskyPipeline.Component
        public var candidates: [String]
    }

    /// What the subcommands read, per component; nothing else is fetched.
    public static func pipelineFiles(_ c: KandinskyPipeline.Component) -> [PipelineFile] {
        func one(_ path: String) -> PipelineFile { PipelineFile(component: c, candidates: [path]) }
        func weights(_ stem: String) -> PipelineFile {
            PipelineFile(component: c, candidates: [stem + ".fp16.safetensors", stem + ".safetensors"])
        }
        switch c {
        case .prior:
            return [one("model_index.json"),
                    one("image_encoder/config.json"), weights("image_encoder/model"),
                    one("text_encoder/config.json"), weights("text_encoder/model"),
                    one("tokenizer/vocab.json"), one("tokenizer/merges.txt"), one("tokenizer/tokenizer_config.json"),
                    one("tokenizer/special_tokens_map.json"), one("image_processor/preprocessor_config.json"),
                    one("prior/config.json"), weights("prior/diffusion_pytorch_model"),
                    one("scheduler/scheduler_config.json")]
        case .decoder, .inpaint:
            return [one("model_index.json"),
                    one("unet/config.json"), weights("unet/diffusion_pytorch_model"),
                    one("movq/config.json"), weights("movq/diffusion_pytorch_model"),
                    one("scheduler/scheduler_config.json")]
        }
    }

    /// `unclip model pull kandinsky-2.2`: the components' files from their
    /// three hub repositories into one pipeline folder (default: the
    /// store's), each laid out as on the hub. Every file is looked up
    /// first, so the total size is printed before anything is downloaded.
    @discardableResult
    public func pullPipeline(only components: [KandinskyPipeline.Component] = KandinskyPipeline.Component.allCases,
                             into directory: URL? = nil) throws -> URL {
        guard URL(string: endpoint)?.scheme.map({ ["http", "https"].contains($0) }) == true else {
            throw UnclipError.usage("hub endpoint \(endpoint) is not an http(s) URL (check UNCLIP_HUB_ENDPOINT)")
        }
        let name = ModelStore.pipelineName
        let dir = directory ?? ModelStore.directory(for: name)
        var plan: [(file: PipelineFile, path: String, url: URL, remote: RemoteFile)] = []
        for c in components {
            for f in Self.pipelineFiles(c) {
                var found: (String, URL, RemoteFile)?
                for path in f.candidates {
                    let url = url(model: c.repository, file: path)
                    let remote = try head(url, name: c.repository, file: path)
                    if remote.status != 404 { found = (path, url, remote); break }
                }
                guard let (path, url, remote) = found else {
                    throw UnclipError.failure("\(c.repository): \(f.candidates.joined(separator: " or ")) not found on \(endpoint) (HTTP 404)")
                }
                plan.append((f, path, url, remote))
            }
        }
        let sizes = plan.map { item -> Int64 in
            let have = Self.fileSize(dir.appendingPathComponent(item.file.component.folder + "/" + item.path).path)
            return have != nil && have == item.remote.size ? 0 : item.remote.size ?? 0
        }
        let total = plan.compactMap(\.remote.size).reduce(0, +), left = sizes.reduce(0, +)
        note("\(name): \(components.map(\.rawValue).joined(separator: ", ")): \(plan.count) files, \(Self.megabytes(total))"
             + (left < total ? " (\(Self.megabytes(left)) left to download)" : ""))
        do {
            for item in plan {
                try install(item.file.component.repository, file: item.path, from: item.url, remote: item.remote,
                            to: dir.appendingPathComponent(item.file.component.folder + "/" + item.path))
            }
        } catch {
            if (try? FileManager.default.subpathsOfDirectory(atPath: dir.path))?.allSatisfy({ p in
                var isDir: ObjCBool = false
                return FileManager.default.fileExists(atPath: dir.appendingPathComponent(p).path, isDirectory: &isDir) && isDir.boolValue
            }) == true {
                try? FileManager.default.removeItem(at: dir)
            }
            throw error
        }
        return dir
    }

    // MARK: - One file

    func fetch(_ name: String, file: String, into dir: URL) throws {
        let url = url(model: name, file: file)
        let remote = try head(url, name: name, file: file)
        if remote.status == 404 {
            if ModelStore.optionalFiles.contains(file) {
                note("\(name): \(file) is not on the hub; using CLIP's defaults instead")
                return
            }
            throw UnclipError.failure("\(name): \(file) not found at \(url.absoluteString) (HTTP 404): check the model name")
        }
        try install(name, file: file, from: url, remote: remote, to: dir.appendingPathComponent(file))
    }

    /// Downloads one file whose HEAD answer is `remote` into `dest`
    /// (through `dest.partial`, resumed when present, checked, renamed).
    func install(_ name: String, file: String, from url: URL, remote: RemoteFile, to dest: URL) throws {
        let partial = URL(fileURLWithPath: dest.path + ".partial")
        if remote.status == 401 || remote.status == 403 {
            throw UnclipError.failure("\(name): \(file): the hub refused access (HTTP \(remote.status)): the repository does not exist or needs a login")
        }
        guard (200..<300).contains(remote.status) else {
            throw UnclipError.failure("\(name): \(file): HTTP \(remote.status) from \(url.absoluteString)")
        }
        if let have = Self.fileSize(dest.path), remote.size == nil || have == remote.size {
            note("\(name): \(file) already present")
            return
        }
        do {
            try FileManager.default.createDirectory(at: dest.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw UnclipError.io("cannot create \(dest.deletingLastPathComponent().path): \(error.localizedDescription)")
        }

        var have = Self.fileSize(partial.path) ?? 0
        if let size = remote.size, have > size {
            unlink(partial.path)
            have = 0
        }
        if remote.size == nil || have < remote.size! {
            let total = remote.size.map { " of \(Self.megabytes($0))" } ?? ""
            note(have > 0 ? "\(name): resuming \(file) at \(Self.megabytes(have))\(total)"
                          : "\(name): downloading \(file)\(remote.size.map { " (\(Self.megabytes($0)))" } ?? "")")
            try get(url, to: partial, from: have, expected: remote.size, name: name, file: file)
        }
        try verify(partial, remote: remote, name: name, file: file)
        guard rename(partial.path, dest.path) == 0 else {
            throw UnclipError.io("cannot rename \(partial.path) to \(file): \(String(cString: strerror(errno)))")
        }
    }

    /// Size and digest checks; a file that fails them is deleted so the next
    /// run starts it over instead of resuming garbage.
    private func verify(_ partial: URL, remote: RemoteFile, name: String, file: String) throws {
        let size = Self.fileSize(partial.path) ?? 0
        if let want = remote.size, size != want {
            unlink(partial.path)
            throw UnclipError.failure("\(name): \(file): got \(size) bytes, the hub announced \(want); removed it, run the pull again")
        }
        guard let want = remote.sha256 else { return }
        let got = try Self.sha256(ofFile: partial.path)
        if got != want {
            unlink(partial.path)
            throw UnclipError.failure("\(name): \(file): checksum mismatch (SHA-256 \(got), the hub announced \(want)); removed it, run the pull again")
        }
    }

    // MARK: - HTTP

    /// HEAD without following the hub's redirect to its file storage: the
    /// redirect itself carries the size and digest of large files.
    func head(_ url: URL, name: String, file: String) throws -> RemoteFile {
        var current = url
        for _ in 0..<5 {
            var req = URLRequest(url: current)
            req.httpMethod = "HEAD"
            req.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
            let result: Transfer.Result
            do {
                result = try Transfer(request: req, followRedirects: false, sink: nil, progress: nil).run(name: name, file: file)
            } catch let e as UnclipError {
                throw e
            } catch {
                throw UnclipError.failure("\(name): \(file): cannot reach \(current.host ?? endpoint): \(Self.describe(error))")
            }
            let r = result.response
            let linkedSize = r.header("X-Linked-Size").flatMap { Int64($0) }
            let linkedTag = r.header("X-Linked-Etag").flatMap(Self.digest)
            if (300..<400).contains(r.statusCode) {
                if linkedSize != nil || linkedTag != nil {
                    return RemoteFile(status: 200, size: linkedSize, sha256: linkedTag)
                }
                // A renamed repository answers with a relative redirect on the hub itself.
                guard let loc = r.header("Location"), let next = URL(string: loc, relativeTo: current) else {
                    throw UnclipError.failure("\(name): \(file): redirect without a location from \(current.absoluteString)")
                }
                current = next.absoluteURL
                continue
            }
            let size = linkedSize ?? r.header("Content-Length").flatMap { Int64($0) }
            let tag = linkedTag ?? r.header("ETag").flatMap(Self.digest)
            return RemoteFile(status: r.statusCode, size: size, sha256: tag)
        }
        throw UnclipError.failure("\(name): \(file): too many redirects from \(url.absoluteString)")
    }

    /// GET into `partial`, appending from `offset` when the server honours the
    /// range and starting over when it answers with the whole file.
    private func get(_ url: URL, to partial: URL, from offset: Int64, expected: Int64?, name: String, file: String) throws {
        var req = URLRequest(url: url)
        req.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        if offset > 0 { req.setValue("bytes=\(offset)-", forHTTPHeaderField: "Range") }
        let sink = try FileSink(path: partial.path, offset: offset, file: file)
        defer { sink.close() }
        let progress = Progress("\(name): \(file)", enabled: showProgress)
        let report = { (done: Int64) in
            guard let expected else { return }
            let shift: Int64 = expected >= 10 << 20 ? 20 : 10
            progress.update(Int(done >> shift), of: Int(expected >> shift), shift == 20 ? "MiB" : "KiB")
        }
        let transfer = Transfer(request: req, followRedirects: true, sink: sink, progress: report)
        let result: Transfer.Result
        do {
            result = try transfer.run(name: name, file: file)
        } catch {
            progress.finish()
            sink.close()
            let got = Self.fileSize(partial.path) ?? 0
            let of = expected.map { " of \($0)" } ?? ""
            throw UnclipError.io("\(name): \(file): download interrupted after \(got)\(of) bytes (\(Self.describe(error))): run the same pull again to resume")
        }
        report(sink.position)
        progress.finish()
        let status = result.response.statusCode
        if status == 416, let expected, offset == expected { return }
        guard status == 200 || status == 206 else {
            unlink(partial.path)
            throw UnclipError.failure("\(name): \(file): HTTP \(status) from \(url.absoluteString)")
        }
        try sink.finish()
    }

    // MARK: - Helpers

    /// The innermost readable reason: curl's message rather than an NSError dump.
    static func describe(_ error: Error) -> String {
        var e = error as NSError
        while let inner = e.userInfo[NSUnderlyingErrorKey] as? NSError { e = inner }
        if let text = e.userInfo[NSLocalizedDescriptionKey] as? String { return text }
        return error.localizedDescription
    }

    /// A 64-hex-digit ETag (quotes and `W/` stripped) is a SHA-256; the hub's
    /// ETags for small files are git hashes (40 digits) and are not checked.
    static func digest(_ tag: String) -> String? {
        var t = tag.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix("W/") { t.removeFirst(2) }
        t = t.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        let hex = t.lowercased()
        return hex.count == 64 && hex.allSatisfy({ $0.isHexDigit }) ? hex : nil
    }

    static func fileSize(_ path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(st.st_size)
    }

    static func megabytes(_ n: Int64) -> String {
        n >= 1 << 20 ? String(format: "%.1f MiB", Double(n) / Double(1 << 20)) : "\(n) bytes"
    }

    static func sha256(ofFile path: String) throws -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw UnclipError.io("cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var h = SHA256()
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw UnclipError.io("cannot read \(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            buf.withUnsafeBytes { h.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        return h.finalize().map { String(format: "%02x", $0) }.joined()
    }
}

/// Appends response bytes to the `.partial` file as they arrive, so an
/// interrupted transfer keeps what it got.
///
/// Bytes go to the file in whole 2 MiB pieces at 2 MiB-aligned offsets, not
/// in the network's 16–64 KiB pieces: the page cache keeps the folio size a
/// file was written with, and a checkpoint cached in 2 MiB folios maps with
/// one page-table entry per 2 MiB. Every run that maps the weights then
/// spends ~1 ms instead of ~35 ms on page tables (measured on the full-size
/// ViT-B/32: faulting in and unmapping the image tower, Linux 6.18, ext4).
private final class FileSink: @unchecked Sendable {
    private static let piece = 2 << 20
    private var fd: Int32
    private let path: String
    private let file: String
    private var start: Int64
    private(set) var written: Int64 = 0
    private(set) var failure: String?
    /// Received, not yet written: always less than one piece.
    private var pending: [UInt8] = []

    init(path: String, offset: Int64, file: String) throws {
        self.path = path; self.file = file; self.start = offset
        fd = open(path, O_WRONLY | O_CREAT, 0o644)
        guard fd >= 0 else { throw UnclipError.io("cannot write \(path): \(String(cString: strerror(errno)))") }
        // Two pulls of the same model must not interleave writes into one file.
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            Glibc.close(fd)
            throw UnclipError.failure("\(file): another `unclip model pull` is downloading it (\(path))")
        }
        resume(at: offset)
    }

    /// The server answered 200 to a range request: start the file over.
    func restart() {
        resume(at: 0)
    }

    func resume(at offset: Int64) {
        pending.removeAll(keepingCapacity: true)
        ftruncate(fd, off_t(offset))
        lseek(fd, off_t(offset), SEEK_SET)
        start = offset
        written = 0
    }

    /// Received bytes, written or pending.
    var position: Int64 { start + written }

    func write(_ data: Data) {
        guard failure == nil, fd >= 0 else { return }
        pending.append(contentsOf: data)
        written += Int64(data.count)
        // Up to the next piece boundary first (a resumed file ends anywhere),
        // then whole pieces.
        let onDisk = position - Int64(pending.count)
        let boundary = (onDisk / Int64(Self.piece) + 1) * Int64(Self.piece)
        var cut = Int(boundary - onDisk)
        var done = 0
        while cut <= pending.count {
            writeOut(done..<cut)
            done = cut
            cut += Self.piece
        }
        if done > 0 { pending.removeFirst(done) }
    }

    private func writeOut(_ range: Range<Int>) {
        guard failure == nil else { return }
        pending.withUnsafeBytes { (p: UnsafeRawBufferPointer) in
            var off = range.lowerBound
            while off < range.upperBound {
                let n = Glibc.write(fd, p.baseAddress! + off, range.upperBound - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno)); return
                }
                off += n
            }
        }
    }

    /// Writes what is pending: the tail of the file, or what an interrupted
    /// transfer got, so that a later pull resumes after it.
    private func flush() {
        guard fd >= 0, !pending.isEmpty else { return }
        writeOut(0..<pending.count)
        pending.removeAll(keepingCapacity: true)
    }

    func finish() throws {
        flush()
        if let failure { throw UnclipError.io("cannot write \(path): \(failure)") }
        guard fsync(fd) == 0 else { throw UnclipError.io("cannot write \(path): \(String(cString: strerror(errno)))") }
    }

    func close() {
        flush()
        if fd >= 0 { Glibc.close(fd); fd = -1 }
    }
}

/// One HTTP exchange over URLSession, run synchronously.
private final class Transfer: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    struct Result { var response: HTTPURLResponse }

    private let request: URLRequest
    private let followRedirects: Bool
    private let sink: FileSink?
    private let progress: ((Int64) -> Void)?
    private let done = DispatchSemaphore(value: 0)
    private var response: HTTPURLResponse?
    private var error: Error?
    private var ok = true
    private var lastReport: Int64 = -1

    init(request: URLRequest, followRedirects: Bool, sink: FileSink?, progress: ((Int64) -> Void)?) {
        self.request = request; self.followRedirects = followRedirects; self.sink = sink; self.progress = progress
    }

    func run(name: String, file: String) throws -> Result {
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = 60
        config.requestCachePolicy = .reloadIgnoringLocalAndRemoteCacheData
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: config, delegate: self, delegateQueue: queue)
        session.dataTask(with: request).resume()
        done.wait()
        session.finishTasksAndInvalidate()
        if let error { throw error }
        guard let response else {
            throw UnclipError.failure("\(name): \(file): no HTTP response from \(request.url?.absoluteString ?? "?")")
        }
        return Result(response: response)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        guard followRedirects else { completionHandler(nil); return }
        // Keep the range on the storage server the hub redirects to.
        var next = newRequest
        if let range = request.value(forHTTPHeaderField: "Range") { next.setValue(range, forHTTPHeaderField: "Range") }
        next.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        completionHandler(next)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        let http = response as? HTTPURLResponse
        self.response = http
        if let sink, let http {
            if http.statusCode == 200 {
                sink.restart()
            } else if http.statusCode == 206 {
                // Trust the server's Content-Range over our own offset.
                if let cr = http.header("Content-Range"),
                   let startText = cr.split(separator: " ").last?.split(separator: "-").first,
                   let start = Int64(startText) {
                    sink.resume(at: start)
                }
            } else {
                ok = false
            }
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard ok, let sink else { return }
        sink.write(data)
        let pos = sink.position
        // Every 64 KiB at most: often enough to move, rarely enough to be free.
        if pos >> 16 != lastReport >> 16 { lastReport = pos; progress?(pos) }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        if let error { self.error = error }
        if let http = task.response as? HTTPURLResponse { response = http }
        done.signal()
    }
}

extension HTTPURLResponse {
    /// Case-insensitive header lookup (HTTP/2 servers send lower case).
    func header(_ name: String) -> String? {
        let lower = name.lowercased()
        for (k, v) in allHeaderFields {
            if let k = k as? String, k.lowercased() == lower { return v as? String }
        }
        return nil
    }
}
