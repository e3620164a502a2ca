import Foundation
import XCTest
import UnclipKit

final class StatisticEmbedderTests: XCTestCase {
    let m = StatisticEmbedder()

    func testUnitVectorsOfTheDocumentedDimension() throws {
        let z = try m.embed(images: [TestImages.scene(), TestImages.scene(seed: 2)])
        XCTAssertEqual(z.count, 2)
        for v in z { XCTAssertEqual(v.count, 38); XCTAssertEqual(Slerp.norm(v), 1, accuracy: 1e-6) }
        XCTAssertEqual(try m.embed(images: [TestImages.scene()]), [z[0]], "deterministic")
    }

    func testConstantImageHistogramsAreExact() throws {
        // White: luminance all in the last bin, warmth and tint centred between
        // the middle bins, saturation and gradient in bin 0, orientation uniform.
        let white = Image(width: 8, height: 8, channels: 3, fill: 255)
        let z = try m.embed(images: [white])[0]
        var raw = [Double](repeating: 0, count: 38)
        raw[7] = 1
        raw[8 + 3] = 0.5; raw[8 + 4] = 0.5
        raw[16 + 2] = 0.5; raw[16 + 3] = 0.5
        raw[22] = 1
        raw[28] = 1
        for j in 34..<38 { raw[j] = 0.25 }
        // Hellinger: square roots, then one norm (√6, one per block).
        assertClose(z.map(Double.init), raw.map { $0.squareRoot() / 6.0.squareRoot() }, accuracy: 1e-6)
    }

    func testBrighterImageMovesTowardTheBrightCaption() throws {
        let im = TestImages.scene()
        var a = PhotoAdjustments(); a.exposure = 1
        let z = try m.embed(images: [im, a.apply(to: im)])
        let d = try TextDiff.direction(text: m, to: "a bright photo", from: "a photo")
        XCTAssertGreaterThan(Slerp.dot(z[1], d), Slerp.dot(z[0], d) + 0.05)
        let warm = try TextDiff.direction(text: m, to: "a warm photo", from: "a photo")
        var t = PhotoAdjustments(); t.temperature = 1
        XCTAssertGreaterThan(Slerp.dot(try m.embed(images: [t.apply(to: im)])[0], warm), Slerp.dot(z[0], warm) + 0.05)
    }

    func testTextVectorsAreUnitAndWordsMatter() throws {
        let z = try m.embed(texts: ["a photo", "A photo of a dog", "a photo at NIGHT"])
        XCTAssertEqual(z[0], z[1], "unknown words add nothing")
        XCTAssertNotEqual(z[0], z[2])
        XCTAssertEqual(Slerp.norm(z[2]), 1, accuracy: 1e-6)
        XCTAssertEqual(StatisticEmbedder.knownWords("A sunny, warm day!"), ["sunny", "warm", "day"])
        XCTAssertEqual(m.modelName, "statistic")
        XCTAssertEqual(m.modelHash.count, 64)
    }
}
