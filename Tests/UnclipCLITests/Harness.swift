import Foundation
import XCTest

/// Runs the real `unclip` executable, built next to this test bundle, as a
/// child process: these tests check what a shell user sees (stdout bytes,
/// stderr lines, exit codes, files left behind), not library calls.
enum CLI {
    static var binary: String {
        if let p = ProcessInfo.processInfo.environment["UNCLIP_BIN"] { return p }
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = here.deletingLastPathComponent()
        // On Linux the test runner is `<config>/unclipPackageTests.xctest`; elsewhere a bundle inside <config>.
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("unclip").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        fatalError("cannot find the unclip executable near \(here.path); set UNCLIP_BIN")
    }

    struct Result {
        var status: Int32
        var stdout: Data
        var stderr: String
        var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// Runs `unclip args` with `stdin` piped in (empty when nil) in `cwd`.
    @discardableResult
    static func run(_ args: [String], stdin: Data? = nil, cwd: URL? = nil, env: [String: String] = [:]) throws -> Result {
        try spawn(binary, args, stdin: stdin, cwd: cwd, env: env)
    }

    /// Runs a real shell pipeline (`sh -c`) with `unclip` on the PATH.
    @discardableResult
    static func shell(_ script: String, cwd: URL) throws -> Result {
        let path = URL(fileURLWithPath: binary).deletingLastPathComponent().path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        return try spawn("/bin/sh", ["-c", "set -e; " + script], stdin: nil, cwd: cwd, env: ["PATH": path])
    }

    /// Collects one pipe's bytes on a background thread.
    private final class Drain: @unchecked Sendable {
        private(set) var data = Data()
        private let done = DispatchSemaphore(value: 0)
        init(_ handle: FileHandle) {
            Thread.detachNewThread { [self] in
                data = handle.readDataToEndOfFile()
                done.signal()
            }
        }
        func wait() -> Data { done.wait(); return data }
    }

    private static func spawn(_ executable: String, _ args: [String], stdin: Data?, cwd: URL?, env: [String: String]) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        if let cwd { p.currentDirectoryURL = cwd }
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        p.standardError = errPipe
        try p.run()
        // Drain both pipes while writing stdin, so a large output cannot deadlock the child.
        let out = Drain(outPipe.fileHandleForReading), err = Drain(errPipe.fileHandleForReading)
        if let stdin { try? inPipe.fileHandleForWriting.write(contentsOf: stdin) }
        try? inPipe.fileHandleForWriting.close()
        let outData = out.wait(), errData = err.wait()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: outData, stderr: String(decoding: errData, as: UTF8.self))
    }

    /// A fresh scratch folder, removed when the test ends.
    static func tempDir(_ test: XCTestCase) throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("unclip-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: d) }
        return d
    }
}

/// The repository's `Fixtures/` folder.
enum Fixtures {
    static let root: URL = {
        var u = URL(fileURLWithPath: #filePath)
        while u.path != "/" {
            u = u.deletingLastPathComponent()
            if FileManager.default.fileExists(atPath: u.appendingPathComponent("Package.swift").path) { break }
        }
        return u.appendingPathComponent("Fixtures")
    }()

    static func path(_ name: String) -> String { root.appendingPathComponent(name).path }
}
