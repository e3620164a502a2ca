import Foundation
import XCTest
import UnclipKit

final class EmbeddingFileTests: XCTestCase {
    func unit(_ v: [Float]) -> [Float] {
        let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / n }
    }

    func sample() -> EmbeddingFile {
        let ex = Image(width: 3, height: 2, channels: 3, pixels: (0..<18).map { UInt8($0 * 10) })
        return EmbeddingFile(embedding: unit([1, 2, 3, 4]), exemplar: ex, kind: .image, model: "tiny",
                             modelHash: "abc", source: "a.png", sourceHash: "def", resolution: 32, extra: ["seed": "7"])
    }

    func testRoundTripKeepsEverything() throws {
        let e = sample()
        let back = try EmbeddingFile.parse(e.serialize(), name: "x")
        XCTAssertEqual(back, e)
    }

    func testStreamOfRecords() throws {
        var a = sample(), b = sample()
        b.embedding = unit([4, 3, 2, 1]); b.source = "b.png"
        let stream = a.serialize() + b.serialize()
        let recs = try EmbeddingFile.parseStream(stream, name: "s")
        XCTAssertEqual(recs.map(\.source), ["a.png", "b.png"])
        a.extra = [:]
        _ = a
    }

    func testNaNIsRejected() throws {
        var e = sample()
        e.embedding[1] = .nan
        XCTAssertThrowsError(try EmbeddingFile.parse(e.serialize(), name: "n.emb")) { err in
            XCTAssertTrue("\(err)".contains("non-finite"), "\(err)")
        }
    }

    func testPNGWhereEmbeddingExpected() throws {
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]
        XCTAssertThrowsError(try EmbeddingFile.parse(png, name: "a.png")) { err in
            XCTAssertEqual("\(err)", "a.png: this is a PNG image, not an embedding file: run `unclip encode` first")
        }
    }

    func testTruncatedIsRejected() throws {
        let bytes = sample().serialize()
        XCTAssertThrowsError(try EmbeddingFile.parse(Array(bytes.dropLast(5)), name: "t.emb")) { err in
            XCTAssertTrue("\(err)".contains("truncated"), "\(err)")
        }
    }

    func testUnknownVersion() throws {
        var bytes = sample().serialize()
        let s = String(decoding: bytes, as: UTF8.self)
        let r = s.range(of: "\"format_version\":\"2\"")!
        let off = s.utf8.distance(from: s.startIndex, to: r.lowerBound) + "\"format_version\":\"".utf8.count
        bytes[off] = UInt8(ascii: "9")
        XCTAssertThrowsError(try EmbeddingFile.parse(bytes, name: "v.emb")) { err in
            XCTAssertTrue("\(err)".contains("version 9 is not supported"), "\(err)")
        }
    }

    func testNormAndLatentRoundTripAndAreChecked() throws {
        var e = sample()
        e.norm = 12.5
        e.latent = .init(shape: [4, 2, 3], values: (0..<24).map { Float($0) / 7 })
        let back = try EmbeddingFile.parse(e.serialize(), name: "x")
        XCTAssertEqual(back, e)
        XCTAssertEqual(back.rawEmbedding!, e.embedding.map { $0 * 12.5 })
        var nan = e
        nan.latent!.values[5] = .infinity
        XCTAssertThrowsError(try EmbeddingFile.parse(nan.serialize(), name: "l.emb")) { XCTAssertTrue("\($0)".contains("latent has a non-finite value at index 5"), "\($0)") }
        var badNorm = e.serialize()
        let s = String(decoding: badNorm, as: UTF8.self)
        let r = s.range(of: "\"norm\":\"12.5\"")!
        let off = s.utf8.distance(from: s.startIndex, to: r.lowerBound) + "\"norm\":\"".utf8.count
        badNorm[off] = UInt8(ascii: "-")
        XCTAssertThrowsError(try EmbeddingFile.parse(badNorm, name: "n.emb")) { XCTAssertTrue("\($0)".contains("\"norm\" must be a positive number"), "\($0)") }
        let wrongShape = SafeTensors.serialize([.f32("embedding", e.embedding, shape: [4]), .f32("latent", [1, 2], shape: [2])],
                                               metadata: ["format": "unclip.embedding", "format_version": "2", "kind": "text"])
        XCTAssertThrowsError(try EmbeddingFile.parse(wrongShape, name: "s.emb")) { XCTAssertTrue("\($0)".contains("\"latent\" must be F32 with shape [C, h, w]"), "\($0)") }
    }

    func testSHA256KnownVectors() {
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex([UInt8]()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        XCTAssertEqual(SHA256.hex(million), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
