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
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        if let cwd { p.currentDirectoryURL = cwd }
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        p.standardError = errPipe
        try p.run()
        // Drain both pipes concurrently so a large stdout cannot deadlock the child.
        var out = Data(), err = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { out = outPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { err = errPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        if let stdin { inPipe.fileHandleForWriting.write(stdin) }
        try? inPipe.fileHandleForWriting.close()
        group.wait()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: out, stderr: String(decoding: err, as: UTF8.self))
    }

    /// Runs a real shell pipeline (`sh -c`) with `unclip` on the PATH.
    @discardableResult
    static func shell(_ script: String, cwd: URL) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "set -e; " + script]
        p.currentDirectoryURL = cwd
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = URL(fileURLWithPath: binary).deletingLastPathComponent().path + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        p.environment = env
        let outPipe = Pipe(), errPipe = Pipe()
        p.standardOutput = outPipe
        p.standardError = errPipe
        p.standardInput = FileHandle.nullDevice
        try p.run()
        var out = Data(), err = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { out = outPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { err = errPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.wait()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: out, stderr: String(decoding: err, as: UTF8.self))
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
