import Foundation
import XCTest
import UnclipKit

/// `.emb` files must stay readable by numpy/safetensors in both directions:
/// Fixtures/embeddings/python-written.emb was written by safetensors.numpy
/// (Fixtures/reference/make_image_fixtures.py), and swift-written.emb, which
/// this suite proves is exactly what the Swift writer produces today, was read
/// back in Python by Fixtures/reference/check_swift_emb.py.
final class EmbeddingInteropTests: XCTestCase {
    /// The record in swift-written.emb; check_swift_emb.py rebuilds the same values.
    static func swiftSample() -> EmbeddingFile {
        let raw = (0..<16).map { Float($0) - 7.5 }
        let n = raw.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let exemplar = Image(width: 6, height: 4, channels: 3, pixels: (0..<72).map { UInt8(($0 * 5) % 256) })
        return EmbeddingFile(embedding: raw.map { $0 / n }, exemplar: exemplar, kind: .image, model: "swift-test",
                             modelHash: String(repeating: "a", count: 64), source: "swift.png",
                             sourceHash: String(repeating: "b", count: 64), resolution: 224,
                             extra: ["seed": "9", "command": "unclip encode swift.png"],
                             norm: n, latent: .init(shape: [2, 2, 3], values: (0..<12).map { Float($0) * 0.25 - 1.5 }))
    }

    /// swift-written-v1.emb is what the writer produced before format version 2: no norm, no latent.
    func testVersionOneFilesStillRead() throws {
        let e = try EmbeddingFile.read(KitFixtures.path("embeddings/swift-written-v1.emb"))
        var want = Self.swiftSample()
        want.norm = nil; want.latent = nil; want.version = 1
        XCTAssertEqual(e, want)
        XCTAssertNil(e.rawEmbedding)
    }

    func testPythonWrittenEmbLoads() throws {
        let e = try EmbeddingFile.read(KitFixtures.path("embeddings/python-written.emb"))
        let raw = (1...16).map { Float($0) }
        let n = raw.reduce(0) { $0 + $1 * $1 }.squareRoot()
        XCTAssertEqual(e.dimension, 16)
        for (a, b) in zip(e.embedding, raw.map { $0 / n }) { XCTAssertEqual(a, b, accuracy: 1e-7) }
        XCTAssertEqual(e.kind, .image)
        XCTAssertEqual(e.model, "python-test")
        XCTAssertEqual(e.modelHash, String(repeating: "0", count: 64))
        XCTAssertEqual(e.source, "python.png")
        XCTAssertEqual(e.resolution, 224)
        XCTAssertEqual(e.extra, ["seed": "42"])
        let x = try XCTUnwrap(e.exemplar)
        XCTAssertEqual([x.width, x.height, x.channels], [5, 4, 3])
        XCTAssertEqual(x.pixels, (0..<60).map { UInt8(($0 * 7) % 256) })
    }

    func testSwiftWrittenFixtureIsWhatTheWriterProduces() throws {
        let path = KitFixtures.path("embeddings/swift-written.emb")
        let bytes = Self.swiftSample().serialize()
        if ProcessInfo.processInfo.environment["UNCLIP_WRITE_FIXTURES"] == "1" {
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
        XCTAssertEqual(try KitFixtures.bytes("embeddings/swift-written.emb"), bytes,
                       "the .emb writer changed: rerun with UNCLIP_WRITE_FIXTURES=1, then Fixtures/reference/check_swift_emb.py")
        XCTAssertEqual(try EmbeddingFile.read(path), Self.swiftSample())
    }

    /// Re-reads the writer's output with nothing but the safetensors
    /// specification, checking what numpy's `frombuffer` and torch's mmap
    /// loading rely on: a little-endian u64 header length, a JSON header
    /// padded so the data starts 8-byte aligned, dtype names from the
    /// specification, contiguous offsets, and little-endian IEEE floats.
    func testSafetensorsLayoutIsNumpyCompatible() throws {
        let e = Self.swiftSample()
        let b = e.serialize()
        let n = (0..<8).reduce(0) { $0 | Int(b[$1]) << (8 * $1) }
        XCTAssertEqual((8 + n) % 8, 0, "tensor data must start 8-byte aligned")
        let header = Array(b[8..<(8 + n)])
        XCTAssertEqual(header.first, UInt8(ascii: "{"))
        let close = try XCTUnwrap(header.lastIndex(of: UInt8(ascii: "}")))
        XCTAssertTrue(header[(close + 1)...].allSatisfy { $0 == UInt8(ascii: " ") }, "padding must be spaces")
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(header)) as? [String: Any])

        let meta = try XCTUnwrap(json["__metadata__"] as? [String: Any])
        XCTAssertTrue(meta.values.allSatisfy { $0 is String }, "metadata values must all be strings")
        XCTAssertEqual(meta["format"] as? String, "unclip.embedding")
        XCTAssertEqual(meta["dim"] as? String, "16")

        let numpyNames: Set<String> = ["F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"]
        var spans: [(Int, Int)] = []
        XCTAssertEqual(meta["format_version"] as? String, "2")
        XCTAssertEqual(Float(meta["norm"] as? String ?? ""), e.norm)
        for (name, dtype, shape, size) in [("embedding", "F32", [16], 4), ("exemplar", "U8", [4, 6, 3], 1), ("latent", "F32", [2, 2, 3], 4)] {
            let t = try XCTUnwrap(json[name] as? [String: Any], name)
            let dt = try XCTUnwrap(t["dtype"] as? String)
            XCTAssertTrue(numpyNames.contains(dt))
            XCTAssertEqual(dt, dtype, name)
            XCTAssertEqual(t["shape"] as? [Int], shape, name)
            let offs = try XCTUnwrap(t["data_offsets"] as? [Int], name)
            XCTAssertEqual(offs[1] - offs[0], shape.reduce(1, *) * size, name)
            XCTAssertEqual((8 + n + offs[0]) % size, 0, "\(name) is not aligned for its dtype")
            spans.append((offs[0], offs[1]))
        }
        XCTAssertEqual(json.count, 4, "only __metadata__, embedding, exemplar and latent")
        spans.sort { $0.0 < $1.0 }
        XCTAssertEqual(spans.first?.0, 0)
        for i in 1..<spans.count { XCTAssertEqual(spans[i - 1].1, spans[i].0, "tensors must be contiguous") }
        XCTAssertEqual(8 + n + spans.last!.1, b.count, "no bytes after the last tensor")

        let emb = try XCTUnwrap(json["embedding"] as? [String: Any])
        let start = 8 + n + (emb["data_offsets"] as! [Int])[0]
        let floats = (0..<16).map { i -> Float in
            let o = start + 4 * i
            return Float(bitPattern: UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24)
        }
        XCTAssertEqual(floats, e.embedding)
        let ex = try XCTUnwrap(json["exemplar"] as? [String: Any])
        let xs = 8 + n + (ex["data_offsets"] as! [Int])[0]
        XCTAssertEqual(Array(b[xs..<(xs + 72)]), e.exemplar!.pixels, "exemplar rows are [H, W, 3], row-major")
    }
}
