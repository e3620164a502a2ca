import Foundation
import UnclipKit
import XCTest

final class PoissonBlendTests: XCTestCase {
    private func plane(_ w: Int, _ h: Int, _ f: (Int, Int) -> Float) -> FloatImage {
        var img = FloatImage(width: w, height: h, channels: 1)
        for y in 0..<h { for x in 0..<w { img[x, y, 0] = f(x, y) } }
        return img
    }

    func testLinearFieldIsReproducedFromItsBoundary() {
        // A linear field is harmonic, so with a flat source (no gradients of
        // its own) the solve must rebuild it exactly from the boundary.
        let w = 90, h = 70
        let target = plane(w, h) { x, y in 20 + 1.5 * Float(x) + 0.75 * Float(y) }
        let source = plane(w, h) { _, _ in 0 }
        let mask = DecoderFixtures.box(width: w, height: h, x0: 10, y0: 8, x1: 80, y1: 60)
        let (out, report) = PoissonBlend.blend(source: source, into: target, mask: mask, tolerance: 1e-6)
        var worst: Float = 0
        for i in 0..<(w * h) { worst = max(worst, abs(out.data[i] - target.data[i])) }
        XCTAssertLessThan(worst, 0.02, "after \(report.iterations) iterations")
        XCTAssertLessThanOrEqual(report.relativeResidual, 1e-6)
    }

    func testConstantOffsetSourceBlendsSeamlessly() {
        // A source that is the target plus a constant has the target's
        // gradients: blending must remove the offset entirely.
        let w = 64, h = 64
        let target = plane(w, h) { x, y in 100 + 40 * sin(Float(x) * 0.3) * cos(Float(y) * 0.2) }
        let source = plane(w, h) { x, y in target[x, y, 0] + 37 }
        let mask = DecoderFixtures.stroke(width: w, height: h, seed: 9)
        let (out, _) = PoissonBlend.blend(source: source, into: target, mask: mask, tolerance: 1e-6)
        var worst: Float = 0
        for i in 0..<(w * h) { worst = max(worst, abs(out.data[i] - target.data[i])) }
        XCTAssertLessThan(worst, 0.05)
    }

    func testSourceDetailIsKeptAndItsOffsetRemoved() {
        // A bump on a 128 background, pasted into a flat 100: inside the hole
        // the result is the bump on 100 (gradients kept, level matched).
        let w = 60, h = 60
        let target = plane(w, h) { _, _ in 100 }
        let source = plane(w, h) { x, y in
            let dx = Float(x - 30), dy = Float(y - 30)
            return 128 + 50 * exp(-(dx * dx + dy * dy) / 30)
        }
        let mask = DecoderFixtures.box(width: w, height: h, x0: 12, y0: 12, x1: 48, y1: 48)
        let (out, _) = PoissonBlend.blend(source: source, into: target, mask: mask, tolerance: 1e-6)
        for y in 12..<48 {
            for x in 12..<48 { XCTAssertEqual(out[x, y, 0], source[x, y, 0] - 28, accuracy: 0.3) }
        }
        XCTAssertEqual(out[0, 0, 0], 100)
    }

    func testSoftMaskFadesBetweenBlendAndTarget() {
        let w = 32, h = 32
        let target = plane(w, h) { _, _ in 50 }
        let source = plane(w, h) { _, _ in 200 }
        var mask = DecoderFixtures.box(width: w, height: h, x0: 8, y0: 8, x1: 24, y1: 24, value: 0.5)
        mask[16 * w + 16] = 1
        let (out, _) = PoissonBlend.blend(source: source, into: target, mask: mask, tolerance: 1e-6)
        // The flat source blended into flat surroundings gives the surroundings.
        XCTAssertEqual(out[16, 16, 0], 50, accuracy: 0.05)
        XCTAssertEqual(out[10, 10, 0], 50, accuracy: 0.05)
    }

    func testEightBitBlendKeepsAlphaAndChecksSizes() throws {
        let t = Image(width: 20, height: 20, channels: 4, fill: 77)
        let s = Image(width: 20, height: 20, channels: 3, fill: 10)
        let mask = DecoderFixtures.box(width: 20, height: 20, x0: 5, y0: 5, x1: 15, y1: 15)
        let out = try PoissonBlend.blend(source: s, into: t, mask: mask)
        XCTAssertEqual(out.channels, 4)
        XCTAssertEqual(out.pixels, t.pixels, "flat source into flat target is the target")
        XCTAssertThrowsError(try PoissonBlend.blend(source: Image(width: 10, height: 20, channels: 3), into: t, mask: mask))
    }
}
