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

    /// Cosine ≥ 0.99999 and max |Δ| ≤ 1e-4 per embedding, and unit length.
    func assertParity(_ ours: [[Float]], _ ref: [[Float]], _ label: String,
                      file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(ours.count, ref.count, label, file: file, line: line)
        var worstCos = 1.0, worstDiff: Float = 0
        defer { print(String(format: "parity %@: 1 - min cosine %.1e, max abs diff %.2e", label, 1 - worstCos, worstDiff)) }
        for (i, (a, b)) in zip(ours, ref).enumerated() {
            XCTAssertEqual(a.count, b.count, "\(label)[\(i)] dimension", file: file, line: line)
            var dot = 0.0, na = 0.0, nb = 0.0, maxDiff: Float = 0
            for (x, y) in zip(a, b) {
                dot += Double(x) * Double(y); na += Double(x) * Double(x); nb += Double(y) * Double(y)
                maxDiff = max(maxDiff, abs(x - y))
            }
            let cos = dot / (na.squareRoot() * nb.squareRoot())
            worstCos = min(worstCos, cos); worstDiff = max(worstDiff, maxDiff)
            XCTAssertEqual(na, 1, accuracy: 1e-5, "\(label)[\(i)] is not unit length", file: file, line: line)
            XCTAssertGreaterThanOrEqual(cos, 0.99999, "\(label)[\(i)] cosine", file: file, line: line)
            XCTAssertLessThanOrEqual(maxDiff, 1e-4, "\(label)[\(i)] max abs diff", file: file, line: line)
        }
    }

    func testImageTowerMatchesTransformers() throws {
        for name in CLIPModelFixtures.clipModels {
            let model = try load(name), ref = try CLIPModelFixtures.reference(name)
            let shape = try ref.shape("pixels")
            XCTAssertEqual(Array(shape.dropFirst()), [3, model.inputResolution, model.inputResolution])
            let ours = try model.embed(pixels: try ref.floats("pixels"), count: shape[0])
            assertParity(ours, try ref.rows("image_embeds"), "\(name) image")
        }
    }

    func testImageTowerOnProcessedFixtureImages() throws {
        for name in CLIPModelFixtures.clipModels {
            let model = try load(name), ref = try CLIPModelFixtures.reference(name)
            let n = try ref.shape("file_pixels")[0]
            let ours = try model.embed(pixels: try ref.floats("file_pixels"), count: n)
            assertParity(ours, try ref.rows("file_embeds"), "\(name) file images")
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
            assertParity(try model.embed(tokenIDs: try ref.ids("input_ids", lengthsKey: "text_lengths")), expected, "\(name) text")
            assertParity(try model.embed(tokenIDs: try ref.ids("input_ids", lengthsKey: nil)), expected, "\(name) padded text")
            assertParity(try model.embed(tokenIDs: try ref.ids("caption_ids", lengthsKey: "caption_lengths")),
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
    }
}
