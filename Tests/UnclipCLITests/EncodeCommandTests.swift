import Foundation
import XCTest
import UnclipKit

/// `unclip encode` and `unclip similarity` as a shell user runs them, with
/// the tiny fixture CLIP models (Fixtures/clip/*).
final class EncodeCommandTests: XCTestCase {
    let model = Fixtures.path("clip/tiny-gelu")
    let other = Fixtures.path("clip/tiny-quickgelu-f16")
    let landscape = Fixtures.path("clip-images/kodim03-96x64.png")
    let portrait = Fixtures.path("clip-images/kodim04-64x96.png")

    func reference(_ name: String) throws -> SafeTensors {
        try SafeTensors(mappingFile: Fixtures.path("clip/\(name)/reference.safetensors"))
    }

    func row(_ st: SafeTensors, _ tensor: String, _ i: Int) throws -> [Float] {
        let v = try st.floats(tensor), n = try st.info(tensor).shape[0]
        let d = v.count / n
        return Array(v[(i * d)..<((i + 1) * d)])
    }

    func testPipeIntoInfo() throws {
        let dir = try CLI.tempDir(self)
        let r = try CLI.shell("unclip encode --model '\(model)' '\(landscape)' | unclip info -", cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let prefix = "stdin: unclip embedding v2, image, model tiny-gelu, dim 32, source kodim03-96x64.png, exemplar 96x64, norm "
        XCTAssertTrue(r.stdoutText.hasPrefix(prefix), r.stdoutText)
        // The raw length of the projected features is recorded beside the unit vector.
        let norm = Float(r.stdoutText.dropFirst(prefix.count).trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertNotNil(norm, r.stdoutText)
        XCTAssertGreaterThan(abs((norm ?? 1) - 1), 1e-3)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [], "a pipe writes no files")
    }

    func testStdinImageIsEncoded() throws {
        let dir = try CLI.tempDir(self)
        let r = try CLI.shell("unclip encode --model '\(model)' < '\(portrait)' | unclip info -", cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdoutText.contains("source stdin, exemplar 64x96"), r.stdoutText)
    }

    func testEmbeddingMatchesTransformersAndRecordsProvenance() throws {
        let dir = try CLI.tempDir(self)
        let out = dir.appendingPathComponent("a.emb").path
        let r = try CLI.run(["encode", "--model", model, "-o", out, landscape])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.isEmpty)
        let e = try EmbeddingFile.read(out)
        let expected = try row(try reference("tiny-gelu"), "file_embeds", 0)
        for (x, y) in zip(e.embedding, expected) { XCTAssertEqual(x, y, accuracy: 1e-4) }
        XCTAssertEqual(e.sourceHash, SHA256.hex(try IO.read(landscape)))
        XCTAssertEqual(e.resolution, 32)
        XCTAssertEqual(e.modelHash.count, 64)
        XCTAssertTrue(e.extra["command"]?.contains("encode --model") == true, "\(e.extra)")
        XCTAssertEqual(e.exemplar, try ImageCodec.read(landscape), "small images are kept as they are")
    }

    func testTextPipedIntoSimilarityMatchesReference() throws {
        let dir = try CLI.tempDir(self)
        // Caption 0 of the fixture against image 1, both computed by transformers.
        let ref = try reference("tiny-gelu")
        let expected = zip(try row(ref, "caption_embeds", 0), try row(ref, "file_embeds", 1)).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        var r = try CLI.run(["encode", "--model", model, "-o", "b.emb", portrait], cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try CLI.shell("unclip encode --model '\(model)' --text 'a photo of a cat' | unclip similarity - b.emb", cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let printed = try XCTUnwrap(Double(r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)), r.stdoutText)
        XCTAssertEqual(printed, expected, accuracy: 2e-6)
        r = try CLI.run(["similarity", "b.emb", "b.emb"], cwd: dir)
        XCTAssertEqual(r.stdoutText, "1.000000\n")
    }

    func testPatternNumbersImagesThenTexts() throws {
        let dir = try CLI.tempDir(self)
        let r = try CLI.run(["encode", "--model", model, "-o", "e-%d.emb", landscape, portrait, "--text", "red"], cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let kinds = try (0..<3).map { try EmbeddingFile.read(dir.appendingPathComponent("e-\($0).emb").path) }.map { "\($0.kind.rawValue) \($0.source)" }
        XCTAssertEqual(kinds, ["image kodim03-96x64.png", "image kodim04-64x96.png", "text red"])
    }

    func testStreamOnStdoutHoldsEveryRecordInOrder() throws {
        let r = try CLI.run(["encode", "--model", model, "--batch", "1", landscape, portrait, "--text", "red", "--text", "blue"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let recs = try EmbeddingFile.parseStream([UInt8](r.stdout), name: "stdout")
        XCTAssertEqual(recs.map(\.source), ["kodim03-96x64.png", "kodim04-64x96.png", "red", "blue"])
        // Batching changes nothing but speed.
        let together = try CLI.run(["encode", "--model", model, "--batch", "8", landscape, portrait])
        let recs2 = try EmbeddingFile.parseStream([UInt8](together.stdout), name: "stdout")
        for (a, b) in zip(recs, recs2) {
            for (x, y) in zip(a.embedding, b.embedding) { XCTAssertEqual(x, y, accuracy: 1e-6) }
        }
    }

    func testSameCommandIsByteIdentical() throws {
        let args = ["encode", "--model", other, "--threads", "1", landscape, "--text", "red"]
        let a = try CLI.run(args), b = try CLI.run(args)
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertFalse(a.stdout.isEmpty)
        XCTAssertEqual(a.stdout, b.stdout)
    }

    func testExemplarIsShrunkToExemplarSize() throws {
        let r = try CLI.shell("unclip encode --model '\(model)' --exemplar-size 40 '\(landscape)' | unclip info -", cwd: try CLI.tempDir(self))
        XCTAssertTrue(r.stdoutText.contains(", exemplar 40x27, "), r.stdoutText + r.stderr)
    }

    func testEmbeddingGivenAsImageIsRefused() throws {
        let dir = try CLI.tempDir(self)
        XCTAssertEqual(try CLI.run(["encode", "--model", model, "-o", "a.emb", landscape], cwd: dir).status, 0)
        let r = try CLI.run(["encode", "--model", model, "-o", "b.emb", "a.emb"], cwd: dir)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "unclip encode: a.emb: this is an embedding file, not an image: decode it with `unclip decode` or `unclip vary`\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("b.emb").path))
    }

    func testNonImageInputIsRefused() throws {
        let r = try CLI.run(["encode", "--model", model, "-"], stdin: Data("hello\n".utf8))
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("unclip encode: stdin: "), r.stderr)
        XCTAssertTrue(r.stdout.isEmpty)
    }

    func testSimilarityRefusesImagesAndOtherModels() throws {
        let dir = try CLI.tempDir(self)
        var r = try CLI.run(["similarity", landscape, portrait])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("kodim03-96x64.png: this is a PNG image, not an embedding file: run `unclip encode` first"), r.stderr)
        XCTAssertEqual(try CLI.run(["encode", "--model", model, "-o", "a.emb", landscape], cwd: dir).status, 0)
        XCTAssertEqual(try CLI.run(["encode", "--model", other, "-o", "b.emb", landscape], cwd: dir).status, 0)
        r = try CLI.run(["similarity", "a.emb", "b.emb"], cwd: dir)
        XCTAssertEqual(r.status, 64)
        XCTAssertTrue(r.stderr.contains("embeddings from different models cannot be mixed"), r.stderr)
        r = try CLI.run(["similarity", "-", "-"])
        XCTAssertEqual(r.status, 64)
    }

    func testMissingModelTellsHowToGetOne() throws {
        let dir = try CLI.tempDir(self)
        var r = try CLI.run(["encode", "--model", "/no/such/model", landscape], cwd: dir)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("/no/such/model"), r.stderr)
        r = try CLI.run(["encode", landscape], cwd: dir, env: ["HOME": dir.path, "XDG_CACHE_HOME": "", "UNCLIP_MODEL": ""])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("unclip model pull"), r.stderr)
        XCTAssertTrue(r.stdout.isEmpty)
    }

    func testBadOutputFolderLeavesNothing() throws {
        let r = try CLI.run(["encode", "--model", model, "-o", "/no/such/dir/a.emb", landscape])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("does not exist"), r.stderr)
    }

    func testUsageErrors() throws {
        XCTAssertEqual(try CLI.run(["encode", "--batch", "0", landscape]).status, 64)
        XCTAssertEqual(try CLI.run(["encode", "--threads", "0", landscape]).status, 64)
        XCTAssertEqual(try CLI.run(["encode", "--exemplar-size", "0", landscape]).status, 64)
    }

    /// A model installed in the store is named by its hub name in records.
    func testStoreModelIsNamedByHubName() throws {
        let cache = try CLI.tempDir(self)
        let store = cache.appendingPathComponent("unclip/models/test--tiny-clip")
        try FileManager.default.createDirectory(at: store.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: URL(fileURLWithPath: model), to: store)
        let r = try CLI.run(["encode", "--model", "test/tiny-clip", "--text", "red"], env: ["XDG_CACHE_HOME": cache.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try EmbeddingFile.parseStream([UInt8](r.stdout), name: "stdout")[0].model, "test/tiny-clip")
    }
}
