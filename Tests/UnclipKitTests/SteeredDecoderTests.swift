import Foundation
import UnclipKit
import XCTest

/// A stand-in embedder: the normalised mean colour, cheap and predictable.
private final class MeanColourEmbedder: ImageEmbedder {
    var modelName: String { "mean-colour" }
    var modelHash: String { "0" }
    var inputResolution: Int { 1 }
    var calls = 0
    func embed(images: [Image]) throws -> [[Float]] {
        calls += 1
        return images.map { img in
            let rgb = img.rgb()
            var v: [Float] = [0, 0, 0]
            for i in 0..<rgb.pixelCount { for c in 0..<3 { v[c] += Float(rgb.pixels[3 * i + c]) } }
            let n = max(1e-6, sqrt(v.reduce(0) { $0 + $1 * $1 }))
            return v.map { $0 / n }
        }
    }
}

final class SteeredDecoderTests: XCTestCase {
    private func solid(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Image {
        var img = Image(width: 4, height: 4, channels: 3)
        for i in 0..<16 { img.pixels[3 * i] = r; img.pixels[3 * i + 1] = g; img.pixels[3 * i + 2] = b }
        return img
    }

    func testKeepsTheCandidatesClosestToTheTarget() throws {
        let e = MeanColourEmbedder()
        let d = SteeredDecoder(embedder: e)
        let cands = [solid(0, 0, 255), solid(250, 10, 0), solid(200, 60, 0), solid(0, 255, 0)]
        let picked = try d.select(candidates: cands, target: [1, 0, 0], keep: 2, minDistance: nil)
        XCTAssertEqual(picked.map(\.image), [cands[1], cands[2]])
        XCTAssertGreaterThan(picked[0].score, picked[1].score)
        XCTAssertEqual(picked[0].score, Float(Slerp.cosine(try e.embed(images: [cands[1]])[0], [1, 0, 0])), accuracy: 1e-6)
        XCTAssertTrue(d.isSteering)
    }

    func testMinimumDistanceSkipsNearDuplicates() throws {
        let d = SteeredDecoder(embedder: MeanColourEmbedder())
        let cands = [solid(250, 10, 0), solid(251, 10, 0), solid(200, 0, 120), solid(0, 0, 255)]
        let picked = try d.select(candidates: cands, target: [1, 0, 0], keep: 2, minDistance: 0.05)
        // 251 is a hair closer to pure red than 250, which is then too close to it.
        XCTAssertEqual(picked.map(\.image), [cands[1], cands[2]])
        // Too few far-apart candidates: the best remaining fill the gap.
        let all = try d.select(candidates: Array(cands[0...1]), target: [1, 0, 0], keep: 2, minDistance: 0.5)
        XCTAssertEqual(all.count, 2)
    }

    func testWithoutAModelKeepsTheFirstCandidatesUnscored() throws {
        let d = SteeredDecoder(embedder: nil)
        XCTAssertFalse(d.isSteering)
        let cands = [solid(1, 1, 1), solid(2, 2, 2), solid(3, 3, 3)]
        let picked = try d.select(candidates: cands, target: [1, 0, 0], keep: 2, minDistance: nil)
        XCTAssertEqual(picked.map(\.image), Array(cands[0...1]))
        XCTAssertTrue(picked.allSatisfy { $0.score.isNaN })
    }

    func testWrongTargetDimensionIsAnError() {
        let d = SteeredDecoder(embedder: MeanColourEmbedder())
        XCTAssertThrowsError(try d.select(candidates: [solid(1, 2, 3)], target: [1, 0], keep: 1, minDistance: nil))
        XCTAssertThrowsError(try d.select(candidates: [solid(1, 2, 3)], target: [1, 0, 0], keep: 0, minDistance: nil))
    }
}
