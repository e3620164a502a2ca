import Foundation
import XCTest
import UnclipKit

final class AdjustmentSearchTests: XCTestCase {
    let m = StatisticEmbedder()

    func testOwnEmbeddingNeedsNoEdit() throws {
        let im = TestImages.scene()
        let z = try m.embed(images: [im])[0]
        let r = try AdjustmentSearch.search(image: im, target: z, embedder: m)
        XCTAssertTrue(r.adjustments.isIdentity)
        XCTAssertEqual(r.evaluations, 1)
    }

    func testRecoversAKnownEdit() throws {
        let im = TestImages.scene()
        var truth = PhotoAdjustments(); truth.exposure = 0.8; truth.temperature = 0.6
        let edited = truth.apply(to: im)
        let z = try m.embed(images: [edited])[0]
        var o = AdjustmentSearch.Options(); o.closeness = 0.01; o.local = false
        let r = try AdjustmentSearch.search(image: im, target: z, embedder: m, options: o)
        XCTAssertLessThan(r.startCosine, 0.97)
        XCTAssertGreaterThan(r.cosine, 0.995)
        let out = r.adjustments.apply(to: im)
        XCTAssertEqual(TestImages.meanLuma(out), TestImages.meanLuma(edited), accuracy: 6)
        XCTAssertEqual(TestImages.meanWarmth(out), TestImages.meanWarmth(edited), accuracy: 8)
    }

    func textDiff(_ caption: String, theta: Double, seed: UInt64 = 0) throws -> (Image, Image, AdjustmentSearch.Result) {
        let im = TestImages.scene()
        let zi = try m.embed(images: [im])[0]
        let zd = try TextDiff.direction(text: m, to: caption, from: "a photo")
        let target = try TextDiff.target(image: zi, direction: zd, theta: theta)
        var o = AdjustmentSearch.Options(); o.seed = seed
        let r = try AdjustmentSearch.search(image: im, target: target, embedder: m, options: o)
        return (im, r.adjustments.apply(to: im), r)
    }

    func testBrighterCaptionBrightensAndKeepsWarmth() throws {
        let (im, out, r) = try textDiff("a bright photo", theta: 0.4)
        XCTAssertGreaterThan(r.cosine, r.startCosine + 0.02)
        XCTAssertGreaterThan(TestImages.meanLuma(out), TestImages.meanLuma(im) + 15)
        XCTAssertEqual(TestImages.meanWarmth(out), TestImages.meanWarmth(im), accuracy: 8, "warmth is unrelated to brightness")
    }

    func testWarmerCaptionWarmsAndKeepsBrightness() throws {
        let (im, out, r) = try textDiff("a warm photo", theta: 0.4)
        XCTAssertGreaterThan(r.cosine, r.startCosine + 0.02)
        XCTAssertGreaterThan(TestImages.meanWarmth(out), TestImages.meanWarmth(im) + 15)
        XCTAssertEqual(TestImages.meanLuma(out), TestImages.meanLuma(im), accuracy: 8, "brightness is unrelated to warmth")
    }

    func testSameSeedSameEditDifferentSeedDifferentSearch() throws {
        let a = try textDiff("a photo at night", theta: 0.3, seed: 1).2.adjustments
        let b = try textDiff("a photo at night", theta: 0.3, seed: 1).2.adjustments
        let c = try textDiff("a photo at night", theta: 0.3, seed: 2).2.adjustments
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        XCTAssertLessThan(a.exposure, 0)
    }
}
