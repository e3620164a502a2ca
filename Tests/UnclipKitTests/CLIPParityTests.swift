import Foundation
import XCTest
import UnclipKit

/// Our CLIP towers against transformers' CLIPModel on the same inputs
/// (Fixtures/reference/make_clip_fixtures.py), for two tiny random
/// checkpoints that differ in every size, activation and storage type.
final class CLIPParityTests: XCTestCase {
    func load(_ name: String) throws -> CLIPModel {
        try CLIPModel(directory: CLIPModelFixtures.url("clip/\(name)"))
    }

    func testImageTowerMatchesTransformers() throws {
        for name in CLIPModelFixtures.clipModels {
            let model = try load(name), ref = try CLIPModelFixtures.reference(name)
            let shape = try ref.shape("pixels")
            XCTAssertEqual(Array(shape.dropFirst()), [3, model.inputResolution, model.inputResolution])
            let ours = try model.embed(pixels: try ref.floats("pixels"), count: shape[0])
            CLIPModelFixtures.assertParity(ours, try ref.rows("image_embeds"), "\(name) image")
        }
    }

    func testImageTowerOnProcessedFixtureImages() throws {
        for name in CLIPModelFixtures.clipModels {
            let model = try load(name), ref = try CLIPModelFixtures.reference(name)
            let n = try ref.shape("file_pixels")[0]
            let ours = try model.embed(pixels: try ref.floats("file_pixels"), count: n)
            CLIPModelFixtures.assertParity(ours, try ref.rows("file_embeds"), "\(name) file images")
        }
    }

    func testBatchingDoesNotChangeResults() throws {
        let model = try load("tiny-gelu"), ref = try CLIPModelFixtures.reference("tiny-gelu")
        let px = try ref.floats("pixels"), n = try ref.shape("pixels")[0]
        model.batchSize = n
        let together = try model.embed(pixels: px, count: n)
        model.batchSize = 1
        let single = try model.embed(pixels: px, count: n)
        for (a, b) in zip(together, single) {
            for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-6) }
        }
    }

    func testTextTowerMatchesTransformers() throws {
        for name in CLIPModelFixtures.clipModels {
            let model = try load(name), ref = try CLIPModelFixtures.reference(name)
            let expected = try ref.rows("text_embeds")
            // Unpadded, as the tokenizer produces them, and EOS-padded as the reference ran them.
            CLIPModelFixtures.assertParity(try model.embed(tokenIDs: try ref.ids("input_ids", lengthsKey: "text_lengths")), expected, "\(name) text")
            CLIPModelFixtures.assertParity(try model.embed(tokenIDs: try ref.ids("input_ids", lengthsKey: nil)), expected, "\(name) padded text")
            CLIPModelFixtures.assertParity(try model.embed(tokenIDs: try ref.ids("caption_ids", lengthsKey: "caption_lengths")),
                         try ref.rows("caption_embeds"), "\(name) captions")
        }
    }

    func testPoolingRuleFollowsEOSTokenID() throws {
        // tiny-gelu has the legacy eos_token_id 2 (pool at the largest id),
        // the other the real EOS id (pool at its first occurrence).
        let legacy = try load("tiny-gelu"), modern = try load("tiny-quickgelu-f16")
        XCTAssertTrue(legacy.config.text.poolsAtLargestID)
        XCTAssertFalse(modern.config.text.poolsAtLargestID)
        XCTAssertEqual(legacy.text.pooledIndex([998, 5, 997, 999, 999]), 3)
        XCTAssertEqual(modern.text.pooledIndex([998, 5, 999, 7, 999]), 2)
    }

    func testOutOfVocabularyTokenIsAnError() throws {
        let model = try load("tiny-gelu")
        XCTAssertThrowsError(try model.embed(tokenIDs: [[49406, 320, 49407]])) { e in
            XCTAssertTrue("\(e)".contains("49406"), "\(e)")
        }
    }

    func testWeightsAreF32ViewsOrWidenedF16() throws {
        let f32 = try load("tiny-gelu").weights, f16 = try load("tiny-quickgelu-f16").weights
        XCTAssertEqual(f32.storedTypes, ["F32"])
        XCTAssertEqual(f16.storedTypes, ["F16"])
        // F32 tensors are read in place from the mapped file (no copy); F16 ones are widened copies.
        let name = "vision_model.encoder.layers.0.mlp.fc1.weight"
        XCTAssertEqual(UnsafeRawPointer(f32.tensor(name).data), try f32.file.raw(name).baseAddress)
        XCTAssertNotEqual(UnsafeRawPointer(f16.tensor(name).data), try f16.file.raw(name).baseAddress)
    }

    func testFingerprintIsStableAndDistinguishesModels() throws {
        let a1 = try load("tiny-gelu").modelHash, a2 = try load("tiny-gelu").modelHash
        let b = try load("tiny-quickgelu-f16").modelHash
        XCTAssertEqual(a1, a2)
        XCTAssertNotEqual(a1, b)
        XCTAssertEqual(a1.count, 64, a1)
        // Records written before keep matching the models that made them.
        XCTAssertEqual(a1, "b8a6cc043fa7546f6cfdf4ce7f3214d834969aa84738dc23b3ad0ad3822b8c2a")
    }

    /// The fingerprint's definition, computed here from the file's bytes,
    /// on a file big enough to be sampled and with bytes after the container.
    func testFingerprintOfASampledFileFollowsItsDefinition() throws {
        let values = (0..<400_000).map { Float(($0 * 7919) % 1000) / 1000 }
        var bytes = SafeTensors.serialize([.f32("w", values, shape: [400, 1000])], metadata: [:])
        bytes += (0..<1000).map { UInt8($0 % 251) }
        let path = NSTemporaryDirectory() + "unclip-fingerprint-\(getpid()).safetensors"
        try IO.write(bytes, to: path)
        defer { unlink(path) }
        let file = try SafeTensors(mappingFile: path)

        let headerLen = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let dataStart = 8 + headerLen, dataLen = bytes.count - dataStart
        XCTAssertGreaterThan(dataLen, 256 * 4096)
        var h = SHA256()
        h.update(Array("unclip-weights-fingerprint-v1 \(bytes.count)\n".utf8))
        h.update(Array(bytes[0..<dataStart]))
        for i in 0..<256 {
            let o = dataStart + (dataLen - 4096) * i / 255
            h.update(Array(bytes[o..<o + 4096]))
        }
        XCTAssertEqual(CLIPModel.fingerprint(of: file), SHA256.hex(h.finalize()))
        // The sampled pages were unmapped; the tensor reads the same again.
        XCTAssertEqual(try file.floats("w"), values)
    }
}
