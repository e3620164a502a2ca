import Foundation
import XCTest
import UnclipKit

/// `unclip model pull kandinsky-2.2` against HubServer serving the tiny
/// pipeline as three hub repositories, then the installed pipeline in use.
final class PipelinePullTests: XCTestCase {
    let tiny = Fixtures.root.appendingPathComponent("diffusion/tiny-a")

    /// Every file of `folder` under the tiny pipeline, as a repository's files.
    func repository(_ folder: String) throws -> [String: HubServer.File] {
        let base = tiny.appendingPathComponent(folder)
        var files: [String: HubServer.File] = [:]
        for path in try FileManager.default.subpathsOfDirectory(atPath: base.path).sorted() {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: base.appendingPathComponent(path).path, isDirectory: &isDir), !isDir.boolValue else { continue }
            files[path] = .init(body: try IO.read(base.appendingPathComponent(path).path), lfs: path.hasSuffix(".safetensors"))
        }
        return files
    }

    func testPullFetchesTheComponentsIntoOnePipelineFolderAndTheyWork() throws {
        var decoder = try repository("decoder")
        // The hub's half-precision variant is preferred where it exists.
        decoder["unet/diffusion_pytorch_model.fp16.safetensors"] = decoder.removeValue(forKey: "unet/diffusion_pytorch_model.safetensors")
        decoder["unet/diffusion_pytorch_model.bin"] = .init(body: [1, 2, 3])   // never fetched
        let prior = try repository("prior")
        let server = try HubServer(repos: ["kandinsky-community/kandinsky-2-2-prior": prior,
                                           "kandinsky-community/kandinsky-2-2-decoder": decoder])
        addTeardownBlock { server.stop() }
        let cache = try CLI.tempDir(self)
        let env = ["XDG_CACHE_HOME": cache.path, "UNCLIP_MODEL": "", "UNCLIP_HUB_ENDPOINT": server.endpoint]
        let dir = cache.appendingPathComponent("unclip/models/kandinsky-2.2")

        let r = try CLI.run(["model", "pull", "kandinsky-2.2", "--only", "prior,decoder"], env: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdoutText, dir.path + "\n")
        let total = (prior.values.map(\.body.count) + decoder.filter { !$0.key.hasSuffix(".bin") }.values.map(\.body.count)).reduce(0, +)
        XCTAssertTrue(r.stderr.hasPrefix("kandinsky-2.2: prior, decoder: 19 files, \(String(format: "%.1f MiB", Double(total) / Double(1 << 20)))\n"), r.stderr)
        for (path, f) in prior { XCTAssertEqual(try IO.read(dir.appendingPathComponent("prior/" + path).path), f.body, path) }
        for (path, f) in decoder where !path.hasSuffix(".bin") {
            XCTAssertEqual(try IO.read(dir.appendingPathComponent("decoder/" + path).path), f.body, path)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("decoder/unet/diffusion_pytorch_model.bin").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("decoder-inpaint").path))
        XCTAssertFalse(server.log.contains { $0.contains(".bin") }, "\(server.log)")

        // Listed with its components.
        let list = try CLI.run(["model", "list"], env: env)
        XCTAssertEqual(list.status, 0, list.stderr)
        let lines = list.stdoutText.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3, list.stdoutText)
        XCTAssertTrue(lines[0].hasPrefix("kandinsky-2.2") && lines[0].hasSuffix(dir.path), lines[0])
        XCTAssertTrue(lines[1].hasPrefix("  prior") && lines[1].hasSuffix(dir.path + "/prior"), lines[1])
        XCTAssertTrue(lines[2].hasPrefix("  decoder") && lines[2].hasSuffix(dir.path + "/decoder"), lines[2])

        // A second pull has nothing left to fetch.
        let again = try CLI.run(["model", "pull", "kandinsky-2.2", "--only", "decoder,prior"], env: env)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.hasPrefix("kandinsky-2.2: prior, decoder: 19 files, ") && again.stderr.contains("(0 bytes left to download)"), again.stderr)

        // Installed, it is found by name: encode with it, and its embeddings
        // select the diffusion decoder with no --model at all.
        let work = try CLI.tempDir(self)
        let photo = Fixtures.path("clip-images/kodim23-80x80.png")
        let path = URL(fileURLWithPath: CLI.binary).deletingLastPathComponent().path
        let s = try CLI.shell("""
            export XDG_CACHE_HOME='\(cache.path)' UNCLIP_MODEL='' PATH='\(path)':"$PATH"
            unclip encode --model kandinsky-2.2 '\(photo)' | unclip vary -n 1 --steps 2 -o v.png
            """, cwd: work)
        XCTAssertEqual(s.status, 0, s.stderr)
        XCTAssertEqual(s.stderr, "")
        let png = try IO.read(work.appendingPathComponent("v.png").path)
        XCTAssertEqual(EditFixtures.pngText(png, "unclip:decoder"), "diffusion")
        XCTAssertEqual(EditFixtures.pngText(png, "unclip:model"), "kandinsky-2.2")
    }

    func testBadComponentListsAndAMissingRepository() throws {
        let cache = try CLI.tempDir(self)
        let server = try HubServer(repos: [:])
        addTeardownBlock { server.stop() }
        let env = ["XDG_CACHE_HOME": cache.path, "UNCLIP_MODEL": "", "UNCLIP_HUB_ENDPOINT": server.endpoint]
        let bad = try CLI.run(["model", "pull", "kandinsky-2.2", "--only", "decoder,upsampler"], env: env)
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.hasPrefix("Error: --only decoder,upsampler: no component \"upsampler\"; the components are prior, decoder, inpaint\n"), bad.stderr)
        let clip = try CLI.run(["model", "pull", "openai/clip-vit-base-patch32", "--only", "decoder"], env: env)
        XCTAssertEqual(clip.status, 64)
        XCTAssertTrue(clip.stderr.hasPrefix("Error: --only applies to kandinsky-2.2, not to a CLIP model\n"), clip.stderr)
        let missing = try CLI.run(["model", "pull", "kandinsky-2.2", "--only", "inpaint"], env: env)
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr, "unclip model pull: kandinsky-community/kandinsky-2-2-decoder-inpaint: model_index.json not found on \(server.endpoint) (HTTP 404)\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: cache.appendingPathComponent("unclip/models/kandinsky-2.2").path))
    }
}
