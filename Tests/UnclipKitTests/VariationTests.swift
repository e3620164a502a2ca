import Foundation
import XCTest
import UnclipKit

final class VariationTests: XCTestCase {
    let m = StatisticEmbedder()

    func testChosenCandidatesAreCloserToTheSourceThanRejectedOnes() throws {
        let ex = try EditKitFixtures.red()
        let z = try m.embed(images: [ex])[0]
        var o = Variation.Options()
        o.candidatesPerOutput = 3; o.minDistance = 0; o.scoreRejected = true; o.seed = 3
        let r = try Variation.generate(exemplar: ex, target: z, count: 2, embedder: m, options: o)
        XCTAssertEqual(r.outputs.count, 2)
        XCTAssertEqual(r.candidates.count, 6)
        let chosen = Set(r.outputs.map(\.seed))
        let rejected = r.candidates.filter { !chosen.contains($0.seed) }.map(\.score)
        XCTAssertEqual(rejected.count, 4)
        XCTAssertGreaterThanOrEqual(r.outputs.map(\.score).min()!, rejected.max()!)
        XCTAssertGreaterThanOrEqual(r.outputs[0].score, r.outputs[1].score, "best first")
        // The reported scores are the real cosines.
        for c in r.outputs { XCTAssertEqual(Double(c.score), Slerp.cosine(try m.embed(images: [c.image])[0], z), accuracy: 1e-5) }
    }

    func testDiversityRuleSkipsNearDuplicates() throws {
        let ex = try EditKitFixtures.red()
        let z = try m.embed(images: [ex])[0]
        var o = Variation.Options(); o.candidatesPerOutput = 3; o.scoreRejected = true; o.seed = 1
        o.minDistance = 0
        let plain = try Variation.generate(exemplar: ex, target: z, count: 3, embedder: m, options: o)
        // A threshold just above the closest pair among the plain top 3 forces a different pick.
        let e = try m.embed(images: plain.outputs.map(\.image))
        var closest = Float.infinity
        for i in 0..<3 { for j in (i + 1)..<3 { closest = min(closest, 1 - Float(Slerp.cosine(e[i], e[j]))) } }
        o.minDistance = closest * 1.0001
        let diverse = try Variation.generate(exemplar: ex, target: z, count: 3, embedder: m, options: o)
        XCTAssertNotEqual(plain.outputs.map(\.seed), diverse.outputs.map(\.seed))
        XCTAssertEqual(diverse.outputs.count, 3)
    }

    func testStrengthZeroReconstructsTheExemplar() throws {
        let ex = try EditKitFixtures.blue()
        var o = Variation.Options(); o.strength = 0
        let r = try Variation.generate(exemplar: ex, target: try m.embed(images: [ex])[0], count: 2, embedder: m, options: o)
        XCTAssertEqual(r.candidates.count, 2, "no noise: one candidate per output")
        for c in r.outputs { XCTAssertGreaterThanOrEqual(EditKitFixtures.psnr(c.image, ex), 35) }
    }

    func testSeedsDecideTheOutput() throws {
        let ex = try EditKitFixtures.red()
        let z = try m.embed(images: [ex])[0]
        func run(_ seed: UInt64) throws -> [Image] {
            var o = Variation.Options(); o.seed = seed; o.candidatesPerOutput = 2
            return try Variation.generate(exemplar: ex, target: z, count: 2, embedder: m, options: o).outputs.map(\.image)
        }
        let a = try run(4)
        XCTAssertEqual(a, try run(4))
        XCTAssertNotEqual(a, try run(5))
        XCTAssertNotEqual(a[0], ex, "strength 1 changes the image")
        XCTAssertNotEqual(Variation.candidateSeed(4, 1), Variation.candidateSeed(5, 0))
    }

    func testUnsteeredKeepsTheFirstCandidates() throws {
        let ex = try EditKitFixtures.red()
        var o = Variation.Options(); o.candidatesPerOutput = 3
        let r = try Variation.generate(exemplar: ex, target: try m.embed(images: [ex])[0], count: 2, embedder: nil, options: o)
        XCTAssertEqual(r.candidates.count, 2)
        XCTAssertTrue(r.outputs.allSatisfy { $0.score.isNaN })
    }
}

final class InterpolationTests: XCTestCase {
    let m = StatisticEmbedder()

    func testEndpointsReproduceTheExemplarsAndFramesMoveTowardB() throws {
        let a = try EditKitFixtures.red(), b = try EditKitFixtures.blue()
        let z = try m.embed(images: [a, b])
        let frames = try Interpolation.thetas(frames: 5).map {
            try Interpolation.frame(a: a, b: b, za: z[0], zb: z[1], theta: $0, embedder: m, options: Interpolation.Options())
        }
        XCTAssertGreaterThanOrEqual(EditKitFixtures.psnr(frames[0].image, a), 35)
        XCTAssertGreaterThanOrEqual(EditKitFixtures.psnr(frames[4].image, b), 35)
        let toB = try m.embed(images: frames.map(\.image)).map { Slerp.cosine($0, z[1]) }
        for i in 1..<toB.count { XCTAssertGreaterThan(toB[i], toB[i - 1], "cosine to B must grow with θ: \(toB)") }
        // Targets are the slerp.
        XCTAssertEqual(frames[2].target, Slerp.slerp(z[0], z[1], 0.5))
    }

    func testFramesSideBySideEqualFramesOneByOne() throws {
        let a = try EditKitFixtures.red(), b = try EditKitFixtures.blue()
        let z = try m.embed(images: [a, b])
        var o = Interpolation.Options(); o.candidates = 2; o.strength = 0.5; o.seed = 8
        o.synthesis.threads = 2
        let thetas = [0, 0.3, 0.7]
        let together = try Interpolation.frames(a: a, b: b, za: z[0], zb: z[1], thetas: thetas, embedder: m, options: o)
        o.synthesis.threads = 1
        for (t, f) in zip(thetas, together) {
            let alone = try Interpolation.frame(a: a, b: b, za: z[0], zb: z[1], theta: t, embedder: m, options: o)
            XCTAssertEqual(alone.image, f.image, "θ \(t)")
            XCTAssertEqual(alone.score, f.score)
        }
        XCTAssertNotEqual(together[0].image, a, "with noise the endpoint is decoded, not copied")
    }

    func testMiddleFrameIsALayoutInTheOtherMaterialAndStepsChangeEqualAreas() throws {
        let a = try EditKitFixtures.red(), b = try EditKitFixtures.blue()
        let z = try m.embed(images: [a, b])
        var o = Interpolation.Options(); o.synthesis.threads = 1
        let thetas = Interpolation.thetas(frames: 9)
        let frames = try Interpolation.frames(a: a, b: b, za: z[0], zb: z[1], thetas: thetas, embedder: nil, options: o)
        var s = o.synthesis; s.seed = Variation.candidateSeed(o.seed, 0)
        XCTAssertEqual(frames[4].image, try TextureTransfer.transfer(layout: a, material: b, options: s),
                       "θ = 0.5 is A's layout in B's patches")
        // Each step switches a quarter of the frame, plus the moving seam band.
        let changed = (0..<8).map { f in
            (0..<(a.width * a.height)).filter { i in
                frames[f].image.pixels[(3 * i)..<(3 * i + 3)] != frames[f + 1].image.pixels[(3 * i)..<(3 * i + 3)]
            }.count
        }
        let mean = Double(changed.reduce(0, +)) / 8
        XCTAssertLessThanOrEqual(Double(changed.max()!), 1.5 * mean, "pixels changed per step: \(changed)")
        XCTAssertGreaterThanOrEqual(Double(changed.min()!), 0.5 * mean, "pixels changed per step: \(changed)")
    }

    func testFrameSizeMovesBetweenTheTwoSizes() {
        let a = Image(width: 100, height: 50, channels: 3), b = Image(width: 60, height: 90, channels: 3)
        XCTAssertTrue(Interpolation.frameSize(a, b, theta: 0) == (100, 50))
        XCTAssertTrue(Interpolation.frameSize(a, b, theta: 1) == (60, 90))
        XCTAssertTrue(Interpolation.frameSize(a, b, theta: 0.5) == (80, 70))
        XCTAssertEqual(Interpolation.thetas(frames: 3), [0, 0.5, 1])
    }
}

final class EmbeddingDecoderTests: XCTestCase {
    let m = StatisticEmbedder()

    func testUneditedEmbeddingDecodesToItsExemplar() throws {
        let ex = try EditKitFixtures.red()
        let r = try EmbeddingDecoder.decode(exemplar: ex, target: try m.embed(images: [ex])[0], embedder: m, options: .init())
        XCTAssertEqual(r.image, ex)
        XCTAssertTrue(r.adjustments.isIdentity)
    }

    func testEncoderRoundingIsNotAnEdit() throws {
        // A vector a hair away from the exemplar's own (as when encode saw the
        // full-size source) decodes to the exemplar without a search.
        let ex = try EditKitFixtures.red()
        let z = try m.embed(images: [ex, try EditKitFixtures.blue()])
        let near = Slerp.slerp(z[0], z[1], 0.02)
        XCTAssertGreaterThan(Slerp.cosine(near, z[0]), EmbeddingDecoder.unedited)
        let r = try EmbeddingDecoder.decode(exemplar: ex, target: near, embedder: m, options: .init())
        XCTAssertEqual(r.image, ex)
        XCTAssertEqual(r.score, Slerp.cosine(z[0], near), accuracy: 1e-6)
        // Further away it is an edit.
        let far = Slerp.slerp(z[0], z[1], 0.5)
        XCTAssertNotEqual(try EmbeddingDecoder.decode(exemplar: ex, target: far, embedder: m, options: .init()).image, ex)
    }

    func testTextDiffTargetDecodesDarkerForNight() throws {
        let ex = try EditKitFixtures.red()
        let zi = try m.embed(images: [ex])[0]
        let zd = try TextDiff.direction(text: m, to: "a photo at night", from: "a photo")
        let r = try EmbeddingDecoder.decode(exemplar: ex, target: try TextDiff.target(image: zi, direction: zd, theta: 0.4),
                                            embedder: m, options: .init())
        XCTAssertGreaterThan(r.score, r.startScore)
        let luma = { (im: Image) in Double(im.gray().reduce(0) { $0 + Int($1) }) / Double(im.pixelCount) }
        XCTAssertLessThan(luma(r.image), luma(ex) - 10)
    }
}

final class ContactSheetTests: XCTestCase {
    func testGridPlacesEachThumbnail() {
        let a = Image(width: 4, height: 2, channels: 3, fill: 10), b = Image(width: 4, height: 2, channels: 3, fill: 200)
        let s = ContactSheet.make([a, b, a], columns: 2, thumbnail: 8, gap: 1)
        XCTAssertEqual(s.width, 2 * 4 + 3); XCTAssertEqual(s.height, 2 * 2 + 3)
        XCTAssertEqual(s[0, 0, 0], 255)
        XCTAssertEqual(s[1, 1, 0], 10)
        XCTAssertEqual(s[6, 1, 0], 200)
        XCTAssertEqual(s[1, 4, 0], 10)
        XCTAssertEqual(s[6, 4, 0], 255, "third cell of two columns wraps; the fourth is empty")
    }
}

final class EmbeddingEditTests: XCTestCase {
    func base(kind: EmbeddingFile.Kind = .image) -> EmbeddingFile {
        EmbeddingFile(embedding: [0.6, 0.8], exemplar: kind == .image ? Image(width: 2, height: 1, channels: 3, fill: 9) : nil,
                      kind: kind, model: "m", modelHash: "h1", source: "a.png", sourceHash: "s", resolution: 64, extra: ["edit": "first"])
    }

    func testTextEmbeddingNeedsAnExemplar() throws {
        XCTAssertThrowsError(try EmbeddingEdit.exemplar(of: base(kind: .text), name: "cap.emb", override: nil)) { e in
            XCTAssertEqual("\(e)", "cap.emb: a text embedding has no exemplar to take pixels from; give one with --exemplar IMAGE")
            XCTAssertTrue((e as! UnclipError).isUsage)
        }
        let given = Image(width: 1, height: 1, channels: 1, fill: 3)
        XCTAssertEqual(try EmbeddingEdit.exemplar(of: base(kind: .text), name: "x", override: given), given.rgb())
    }

    func testModelMismatchIsRefused() {
        XCTAssertThrowsError(try EmbeddingEdit.checkModel(StatisticEmbedder(), matches: base(), name: "a.emb")) { e in
            XCTAssertTrue("\(e)".hasPrefix("a.emb was made with model m (h1) but the model loaded is statistic"), "\(e)")
        }
    }

    func testRecordChainsEditsAndKeepsTheModel() throws {
        let r = EmbeddingEdit.record(editing: base(), vector: [0.8, 0.6], exemplar: Image(width: 1, height: 1, channels: 3), edit: "second",
                                     provenance: ["seed": "4"])
        XCTAssertEqual(r.extra["edit"], "first; second")
        XCTAssertEqual(r.extra["seed"], "4")
        XCTAssertEqual(r.modelHash, "h1")
        XCTAssertEqual(r.embedding, [0.8, 0.6])
        XCTAssertEqual(try EmbeddingFile.parse(r.serialize(), name: "r"), r)
    }
}
