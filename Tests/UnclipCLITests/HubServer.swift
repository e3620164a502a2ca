import Foundation
import UnclipKit
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 server on 127.0.0.1 that behaves like the parts of the
/// Hugging Face hub `unclip model pull` relies on, so the download code is
/// tested offline against real sockets:
///
/// - `/{repo}/resolve/main/{file}` for a large ("LFS") file answers HEAD and
///   GET with a 302 to `/cdn/...` carrying `X-Linked-Size` and
///   `X-Linked-Etag` (its SHA-256), as the hub does; small files are served
///   directly with a git-style (40-digit) ETag;
/// - `/cdn/...` honours `Range: bytes=N-` with 206 and `Content-Range`;
/// - a file can be cut off after some bytes on its first GET (the connection
///   closes mid-body), announce a wrong digest, or ignore ranges;
/// - anything else is a 404 with `X-Error-Code: EntryNotFound`.
final class HubServer: @unchecked Sendable {
    struct File {
        var body: [UInt8]
        var lfs = true
        /// Announced instead of the real digest when set.
        var wrongSHA: String? = nil
        /// Close the connection after this many body bytes, once.
        var cutAfter: Int? = nil
        /// Answer range requests with the whole file (200).
        var ignoresRange = false
    }

    let port: UInt16
    var endpoint: String { "http://127.0.0.1:\(port)" }

    private let listener: Int32
    private let lock = NSLock()
    private var files: [String: File] = [:]
    private var requestLog: [String] = []

    /// `files`: path under `/{repo}/resolve/main/` → file.
    convenience init(repo: String, files: [String: File]) throws {
        try self.init(repos: [repo: files])
    }

    /// Several repositories: repository → (path in it → file).
    init(repos: [String: [String: File]]) throws {
        for (repo, files) in repos {
            for (name, f) in files { self.files["/\(repo)/resolve/main/\(name)"] = f }
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw NSError(domain: "HubServer", code: Int(errno)) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { close(fd); throw NSError(domain: "HubServer", code: Int(errno)) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        listener = fd
        port = UInt16(bigEndian: addr.sin_port)
        Thread.detachNewThread { [self] in
            while true {
                let c = accept(fd, nil, nil)
                if c < 0 { if errno == EINTR { continue }; return }
                Thread.detachNewThread { [self] in self.serve(c) }
            }
        }
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    /// "METHOD path [Range]" for every request received, in order.
    var log: [String] { lock.lock(); defer { lock.unlock() }; return requestLog }

    static func sha256(_ bytes: [UInt8]) -> String { SHA256.hex(bytes) }

    // MARK: - Connection handling

    private func serve(_ c: Int32) {
        defer { close(c) }
        var request = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 4096)
        while !request.ends(with: [13, 10, 13, 10]) {
            let n = recv(c, &buf, buf.count, 0)
            if n <= 0 { return }
            request.append(contentsOf: buf[0..<n])
        }
        let lines = String(decoding: request, as: UTF8.self).components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2 else { return }
        let method = String(parts[0]), path = String(parts[1])
        var range: Int? = nil
        for l in lines.dropFirst() where l.lowercased().hasPrefix("range:") {
            let v = l.dropFirst(6).trimmingCharacters(in: .whitespaces)
            if v.hasPrefix("bytes="), v.hasSuffix("-") { range = Int(v.dropFirst(6).dropLast()) }
        }
        lock.lock()
        requestLog.append("\(method) \(path)" + (range.map { " bytes=\($0)-" } ?? ""))
        let isCDN = path.hasPrefix("/cdn/")
        let key = isCDN ? String(path.dropFirst(4)) : path
        let file = files[key]
        if let f = file, f.cutAfter != nil, method == "GET", isCDN || !f.lfs {
            files[key]!.cutAfter = nil // only the first GET is cut off
        }
        lock.unlock()

        guard let f = file else {
            respond(c, "404 Not Found", ["X-Error-Code": "EntryNotFound", "Content-Length": "15"], Array("Entry not found".utf8), method)
            return
        }
        let sha = f.wrongSHA ?? Self.sha256(f.body)
        if f.lfs && !isCDN {
            respond(c, "302 Found", ["Location": "/cdn" + key, "X-Linked-Size": "\(f.body.count)",
                                     "X-Linked-Etag": "\"\(sha)\"", "ETag": "\"\(sha)\"", "Content-Length": "0"], [], method)
            return
        }
        var headers = ["ETag": f.lfs ? "\"\(sha)\"" : "\"\(String(sha.prefix(40)))\"", "Accept-Ranges": "bytes"]
        var status = "200 OK"
        var body = f.body[...]
        if let start = range, !f.ignoresRange {
            if start >= f.body.count {
                respond(c, "416 Range Not Satisfiable", ["Content-Range": "bytes */\(f.body.count)", "Content-Length": "0"], [], method)
                return
            }
            status = "206 Partial Content"
            headers["Content-Range"] = "bytes \(start)-\(f.body.count - 1)/\(f.body.count)"
            body = f.body[start...]
        }
        headers["Content-Length"] = "\(body.count)"
        if method == "GET", let cut = f.cutAfter {
            respond(c, status, headers, Array(body.prefix(cut)), method)
            return
        }
        respond(c, status, headers, Array(body), method)
    }

    private func respond(_ c: Int32, _ status: String, _ headers: [String: String], _ body: [UInt8], _ method: String) {
        var head = "HTTP/1.1 \(status)\r\nConnection: close\r\n"
        for (k, v) in headers.sorted(by: { $0.key < $1.key }) { head += "\(k): \(v)\r\n" }
        head += "\r\n"
        send(c, Array(head.utf8))
        if method != "HEAD" { send(c, body) }
    }

    private func send(_ c: Int32, _ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(c, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            off += n
        }
    }
}

private extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
