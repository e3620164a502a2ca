import Foundation
import XCTest
import UnclipKit

/// `unclip model pull/list/path` through the real binary, against HubServer
/// (a local imitation of the Hugging Face hub) and a scratch model store.
final class ModelCommandTests: XCTestCase {
    let repo = "test/tiny-clip"

    /// A small but real checkpoint (`rows` × 200 floats) and the real vocabulary files.
    func hubFiles(rows: Int = 300) throws -> [String: HubServer.File] {
        let weights = (0..<rows * 200).map { Float(sin(Double($0) * 0.01)) }
        let checkpoint = SafeTensors.serialize([.f32("w", weights, shape: [rows, 200])], metadata: ["format": "pt"])
        let vocab = try IO.read(Fixtures.path("clip-vocab/vocab.json"))
        let merges = try IO.read(Fixtures.path("clip-vocab/merges.txt"))
        return [
            "config.json": .init(body: Array(#"{"model_type": "clip"}"#.utf8), lfs: false),
            "model.safetensors": .init(body: checkpoint),
            "vocab.json": .init(body: vocab),
            "merges.txt": .init(body: merges, lfs: false),
            "preprocessor_config.json": .init(body: Array(#"{"size": 224, "crop_size": 224}"#.utf8), lfs: false),
        ]
    }

    func start(_ files: [String: HubServer.File]) throws -> HubServer {
        let s = try HubServer(repo: repo, files: files)
        addTeardownBlock { s.stop() }
        return s
    }

    func env(_ server: HubServer?, _ cache: URL) -> [String: String] {
        var e = ["XDG_CACHE_HOME": cache.path, "UNCLIP_MODEL": ""]
        if let server { e["UNCLIP_HUB_ENDPOINT"] = server.endpoint }
        return e
    }

    func modelDir(_ cache: URL) -> URL { cache.appendingPathComponent("unclip/models/test--tiny-clip") }

    func leftovers(_ dir: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.hasSuffix(".partial") }.sorted()
    }

    func testPullInstallsEveryFileAndListShowsIt() throws {
        let files = try hubFiles()
        let server = try start(files)
        let cache = try CLI.tempDir(self)
        let r = try CLI.run(["model", "pull", "--progress", repo], env: env(server, cache))
        XCTAssertEqual(r.status, 0, r.stderr)
        let dir = modelDir(cache)
        XCTAssertEqual(r.stdoutText, dir.path + "\n")
        let kib = files["model.safetensors"]!.body.count >> 10
        XCTAssertTrue(r.stderr.contains("\r\(repo): model.safetensors: \(kib)/\(kib) (100%) KiB"), r.stderr)
        for (name, f) in files {
            XCTAssertEqual(try IO.read(dir.appendingPathComponent(name).path), f.body, name)
        }
        XCTAssertEqual(leftovers(dir), [])
        // Large files were fetched through the redirect, small ones directly.
        XCTAssertTrue(server.log.contains("GET /cdn/\(repo)/resolve/main/model.safetensors"), "\(server.log)")
        XCTAssertTrue(server.log.contains("GET /\(repo)/resolve/main/config.json"), "\(server.log)")

        let list = try CLI.run(["model", "list"], env: env(nil, cache))
        XCTAssertEqual(list.status, 0, list.stderr)
        let total = files.values.reduce(0) { $0 + $1.body.count }
        let line = list.stdoutText
        XCTAssertTrue(line.hasPrefix(repo + "  "), line)
        XCTAssertTrue(line.contains(String(format: "%.1f MB", Double(total) / 1_000_000)), line)
        XCTAssertTrue(line.hasSuffix(dir.path + "\n"), line)

        let path = try CLI.run(["model", "path", repo], env: env(nil, cache))
        XCTAssertEqual(path.stdoutText, dir.path + "\n", path.stderr)

        // A second pull finds everything in place and downloads nothing.
        let before = server.log.count
        let again = try CLI.run(["model", "pull", repo], env: env(server, cache))
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("model.safetensors already present"), again.stderr)
        XCTAssertFalse(server.log[before...].contains { $0.hasPrefix("GET") }, "\(server.log[before...])")
    }

    func testInterruptedDownloadResumesWithARangeRequest() throws {
        // 6.4 MB, cut and resumed between the 2 MiB pieces the file is written in.
        var files = try hubFiles(rows: 8_000)
        let full = files["model.safetensors"]!.body
        files["model.safetensors"]!.cutAfter = 2_500_000
        let server = try start(files)
        let cache = try CLI.tempDir(self)
        let dir = modelDir(cache)

        let first = try CLI.run(["model", "pull", repo], env: env(server, cache))
        XCTAssertEqual(first.status, 1)
        XCTAssertTrue(first.stderr.contains("unclip model pull: \(repo): model.safetensors: download interrupted after 2500000 of \(full.count) bytes"), first.stderr)
        XCTAssertTrue(first.stderr.contains("run the same pull again to resume"), first.stderr)
        XCTAssertTrue(first.stdout.isEmpty)
        XCTAssertEqual(ModelDownloaderTestsSupport.size(dir.appendingPathComponent("model.safetensors.partial")), 2_500_000)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("model.safetensors").path))

        // Commands that need the model say what happened.
        let path = try CLI.run(["model", "path", repo], env: env(nil, cache))
        XCTAssertEqual(path.status, 1)
        XCTAssertTrue(path.stderr.contains("a download was interrupted: rerun `unclip model pull`"), path.stderr)

        let second = try CLI.run(["model", "pull", repo], env: env(server, cache))
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stderr.contains("resuming model.safetensors"), second.stderr)
        XCTAssertTrue(server.log.contains("GET /cdn/\(repo)/resolve/main/model.safetensors bytes=2500000-"), "\(server.log)")
        XCTAssertEqual(try IO.read(dir.appendingPathComponent("model.safetensors").path), full)
        XCTAssertEqual(leftovers(dir), [])
    }

    func testServerIgnoringTheRangeRestartsTheFile() throws {
        var files = try hubFiles()
        let full = files["model.safetensors"]!.body
        files["model.safetensors"]!.cutAfter = 50_000
        files["model.safetensors"]!.ignoresRange = true
        let server = try start(files)
        let cache = try CLI.tempDir(self)
        XCTAssertEqual(try CLI.run(["model", "pull", repo], env: env(server, cache)).status, 1)
        let second = try CLI.run(["model", "pull", repo], env: env(server, cache))
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(try IO.read(modelDir(cache).appendingPathComponent("model.safetensors").path), full)
    }

    func testChecksumMismatchIsRefusedAndNothingIsInstalled() throws {
        var files = try hubFiles()
        files["model.safetensors"]!.wrongSHA = String(repeating: "ab", count: 32)
        let server = try start(files)
        let cache = try CLI.tempDir(self)
        let r = try CLI.run(["model", "pull", repo], env: env(server, cache))
        XCTAssertEqual(r.status, 1)
        let real = SHA256.hex(files["model.safetensors"]!.body)
        XCTAssertTrue(r.stderr.contains("\(repo): model.safetensors: checksum mismatch (SHA-256 \(real), the hub announced \(String(repeating: "ab", count: 32)))"), r.stderr)
        let dir = modelDir(cache)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("model.safetensors").path))
        XCTAssertEqual(leftovers(dir), [], "a damaged download must not be resumed")
    }

    func testMissingFileIsNamedWith404() throws {
        var files = try hubFiles()
        files["merges.txt"] = nil
        let server = try start(files)
        let cache = try CLI.tempDir(self)
        let r = try CLI.run(["model", "pull", repo], env: env(server, cache))
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("unclip model pull: \(repo): merges.txt not found at \(server.endpoint)/\(repo)/resolve/main/merges.txt (HTTP 404)"), r.stderr)
    }

    func testMissingPreprocessorConfigIsOptional() throws {
        var files = try hubFiles()
        files["preprocessor_config.json"] = nil
        let server = try start(files)
        let cache = try CLI.tempDir(self)
        let r = try CLI.run(["model", "pull", repo], env: env(server, cache))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("preprocessor_config.json is not on the hub"), r.stderr)
    }

    func testUnknownRepositoryAndBadName() throws {
        let server = try start(try hubFiles())
        let cache = try CLI.tempDir(self)
        let r = try CLI.run(["model", "pull", "nobody/nothing"], env: env(server, cache))
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("nobody/nothing: config.json not found"), r.stderr)
        let bad = try CLI.run(["model", "pull", "../escape"], env: env(server, cache))
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("not a model name"), bad.stderr)
    }

    func testUnreachableHubIsOneClearLineAndLeavesNothing() throws {
        let server = try HubServer(repo: repo, files: [:])
        let endpoint = server.endpoint
        server.stop() // nothing listens on that port any more
        let cache = try CLI.tempDir(self)
        var e = env(nil, cache)
        e["UNCLIP_HUB_ENDPOINT"] = endpoint
        let r = try CLI.run(["model", "pull", repo], env: e)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("unclip model pull: \(repo): config.json: cannot reach 127.0.0.1: "), r.stderr)
        XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: modelDir(cache).path))
        XCTAssertEqual(try CLI.run(["model", "list"], env: env(nil, cache)).stdoutText, "")
    }

    func testNoModelInstalledSaysHowToGetOne() throws {
        let cache = try CLI.tempDir(self)
        let r = try CLI.run(["model", "path"], env: env(nil, cache))
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("unclip model pull openai/clip-vit-base-patch32"), r.stderr)
        XCTAssertTrue(r.stderr.contains("--model DIR"), r.stderr)
        XCTAssertTrue(r.stderr.contains("UNCLIP_MODEL"), r.stderr)
        let list = try CLI.run(["model", "list"], env: env(nil, cache))
        XCTAssertEqual(list.status, 0)
        XCTAssertEqual(list.stdoutText, "")
        XCTAssertTrue(list.stderr.contains("no models in"), list.stderr)
    }

    func testModelDirectoryFromEnvironmentAndOption() throws {
        let cache = try CLI.tempDir(self)
        let dir = cache.appendingPathComponent("my model")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: dir.appendingPathComponent("config.json"))
        var e = env(nil, cache)
        e["UNCLIP_MODEL"] = dir.path
        let r = try CLI.run(["model", "path"], env: e)
        XCTAssertEqual(r.stdoutText, "", "incomplete directory must be refused")
        XCTAssertTrue(r.stderr.contains("UNCLIP_MODEL \(dir.path): missing model.safetensors"), r.stderr)
        try Data().write(to: dir.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(try CLI.run(["model", "path"], env: e).stdoutText, dir.path + "\n")
        // An explicit NAME wins over the environment.
        let other = try CLI.run(["model", "path", "/nonexistent/dir"], env: e)
        XCTAssertEqual(other.status, 1)
        XCTAssertTrue(other.stderr.contains("/nonexistent/dir: no such directory"), other.stderr)
    }
}

enum ModelDownloaderTestsSupport {
    static func size(_ url: URL) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.intValue ?? -1
    }
}
