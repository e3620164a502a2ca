import Foundation
import XCTest
import UnclipKit

/// The loader's strict check: any disagreement between a checkpoint and its
/// config.json is an error naming the tensor. The broken checkpoints are the
/// fixture rewritten in a temporary folder.
final class CLIPWeightsTests: XCTestCase {
    let fixture = "tiny-gelu"

    /// A copy of the fixture model whose safetensors went through `edit`.
    func brokenModel(_ edit: (inout [SafeTensors.Entry]) -> Void) throws -> URL {
        let src = CLIPModelFixtures.url("clip/\(fixture)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-weights-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: src.appendingPathComponent("config.json"), to: dir.appendingPathComponent("config.json"))
        let st = try SafeTensors(mappingFile: src.appendingPathComponent("model.safetensors").path)
        var entries = try st.names.map { n -> SafeTensors.Entry in
            let t = try st.info(n)
            return SafeTensors.Entry(name: n, dtype: t.dtype, shape: t.shape, data: try st.bytes(n))
        }
        edit(&entries)
        try Data(SafeTensors.serialize(entries, metadata: st.metadata))
            .write(to: dir.appendingPathComponent("model.safetensors"))
        return dir
    }

    func assertLoadFails(_ dir: URL, mentioning parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try CLIPModel(directory: dir), file: file, line: line) { error in
            let msg = "\(error)"
            XCTAssertEqual(error as? UnclipError, .model(msg), "should be a model error", file: file, line: line)
            for p in parts { XCTAssertTrue(msg.contains(p), "\"\(msg)\" should mention \(p)", file: file, line: line) }
        }
    }

    func testUnmodifiedCopyLoads() throws {
        XCTAssertNoThrow(try CLIPModel(directory: try brokenModel { _ in }))
    }

    func testMissingTensorIsNamed() throws {
        let name = "vision_model.encoder.layers.1.mlp.fc2.bias"
        let dir = try brokenModel { $0.removeAll { $0.name == name } }
        assertLoadFails(dir, mentioning: ["missing tensor", name])
    }

    func testExtraTensorIsNamed() throws {
        let dir = try brokenModel {
            $0.append(.f32("text_model.encoder.layers.2.mlp.fc1.bias", [Float](repeating: 0, count: 96), shape: [96]))
        }
        assertLoadFails(dir, mentioning: ["unused tensor", "text_model.encoder.layers.2.mlp.fc1.bias"])
    }

    func testWronglyShapedTensorIsNamed() throws {
        let name = "visual_projection.weight"
        let dir = try brokenModel { entries in
            let i = entries.firstIndex { $0.name == name }!
            // Same byte count, transposed shape: only the shape check can catch it.
            entries[i].shape = [64, 32]
        }
        assertLoadFails(dir, mentioning: ["wrong shape", name, "[64, 32]", "[32, 64]"])
    }

    func testNonFloatTensorIsRefused() throws {
        let name = "text_model.final_layer_norm.bias"
        let dir = try brokenModel { entries in
            let i = entries.firstIndex { $0.name == name }!
            entries[i] = SafeTensors.Entry(name: name, dtype: .I32, shape: [48], data: entries[i].data)
        }
        assertLoadFails(dir, mentioning: ["unsupported type", name])
    }

    func testKnownBuffersAreAccepted() throws {
        // Older transformers saved position_ids buffers; they carry no weights.
        let dir = try brokenModel { entries in
            let ids = (0..<77).flatMap { i -> [UInt8] in withUnsafeBytes(of: Int64(i).littleEndian) { Array($0) } }
            entries.append(SafeTensors.Entry(name: "text_model.embeddings.position_ids", dtype: .I64, shape: [1, 77], data: ids))
        }
        XCTAssertNoThrow(try CLIPModel(directory: dir))
    }

    func testBF16WeightsLoadAndAgreeWithF32() throws {
        // Truncating to bf16 keeps ~3 significant digits: embeddings stay close, not equal.
        let dir = try brokenModel { entries in
            for i in entries.indices where entries[i].dtype == .F32 {
                let words = entries[i].data.withUnsafeBytes { Array($0.bindMemory(to: UInt32.self)) }
                entries[i].data = words.flatMap { w -> [UInt8] in withUnsafeBytes(of: UInt16(w >> 16)) { Array($0) } }
                entries[i].dtype = .BF16
            }
        }
        let bf = try CLIPModel(directory: dir), f32 = try CLIPModel(directory: CLIPModelFixtures.url("clip/\(fixture)"))
        XCTAssertEqual(bf.weights.storedTypes, ["BF16"])
        let ref = try CLIPModelFixtures.reference(fixture)
        let px = try ref.floats("pixels"), n = try ref.shape("pixels")[0]
        for (a, b) in zip(try bf.embed(pixels: px, count: n), try f32.embed(pixels: px, count: n)) {
            let cos = zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            XCTAssertGreaterThan(cos, 0.99)
        }
    }

    func testMissingWeightsFileSaysWhatIsNeeded() throws {
        let dir = try brokenModel { _ in }
        try FileManager.default.removeItem(at: dir.appendingPathComponent("model.safetensors"))
        assertLoadFails(dir, mentioning: ["no model.safetensors"])
    }

    func testMissingConfigSaysWhatIsNeeded() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        assertLoadFails(dir, mentioning: ["no config.json"])
    }
}
