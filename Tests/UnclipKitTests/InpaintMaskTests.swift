import Foundation
import UnclipKit
import XCTest

final class InpaintMaskTests: XCTestCase {
    func testMaskImageWhiteRegeneratesAndInvertFlips() {
        let m = Image(width: 3, height: 1, channels: 1, pixels: [0, 255, 128])
        XCTAssertEqual(InpaintMask.fromMaskImage(m), [0, 1, Float(128) / 255])
        XCTAssertEqual(InpaintMask.fromMaskImage(m, invert: true), [1, 0, 1 - Float(128) / 255])
        // Colour masks use luminance.
        let c = Image(width: 1, height: 1, channels: 3, pixels: [255, 255, 255])
        XCTAssertEqual(InpaintMask.fromMaskImage(c), [1])
    }

    func testAlphaTransparentRegenerates() {
        let img = Image(width: 3, height: 1, channels: 4, pixels: [9, 9, 9, 255, 9, 9, 9, 0, 9, 9, 9, 64])
        XCTAssertEqual(InpaintMask.fromAlpha(img), [0, 1, 1 - Float(64) / 255])
    }

    func testGrowIsAnExactDisc() {
        let w = 21, h = 21
        var m = [Float](repeating: 0, count: w * h)
        m[10 * w + 10] = 1
        let g = InpaintMask.grow(m, width: w, height: h, radius: 4)
        for y in 0..<h {
            for x in 0..<w {
                let inside = (x - 10) * (x - 10) + (y - 10) * (y - 10) <= 16
                XCTAssertEqual(g[y * w + x], inside ? 1 : 0, "(\(x),\(y))")
            }
        }
        // Growing at the border does not wrap around.
        var e = [Float](repeating: 0, count: w * h)
        e[0] = 0.5
        let ge = InpaintMask.grow(e, width: w, height: h, radius: 2)
        XCTAssertEqual(ge[2], 0.5); XCTAssertEqual(ge[w - 1], 0); XCTAssertEqual(ge[2 * w], 0.5)
    }

    /// Large radii over few mask values go by level sets: the same disc max,
    /// pixel for pixel, as brute force, on either side of the crossover.
    func testGrowMatchesTheDiscMaxForAnyRadiusAndLevels() {
        var g = SplitMix64(seed: 9)
        let w = 37, h = 23
        for levels in [1, 2, 3, 9] {
            var m = [Float](repeating: 0, count: w * h)
            for _ in 0..<6 { m[Int(g.next() % UInt64(w * h))] = Float(1 + Int(g.next() % UInt64(levels))) / Float(levels) }
            for radius in [1, 2, 5, 8, 13, 30, 70] {
                let got = InpaintMask.grow(m, width: w, height: h, radius: radius)
                for y in 0..<h { for x in 0..<w {
                    var best: Float = 0
                    for sy in 0..<h { for sx in 0..<w where (sx - x) * (sx - x) + (sy - y) * (sy - y) <= radius * radius {
                        best = max(best, m[sy * w + sx])
                    } }
                    if got[y * w + x] != best { return XCTFail("levels \(levels), radius \(radius): (\(x),\(y)) is \(got[y * w + x]), not \(best)") }
                } }
            }
        }
    }

    func testFeatherKeepsTheCoreAndFadesOutward() {
        let w = 40, h = 40
        let m = DecoderFixtures.box(width: w, height: h, x0: 15, y0: 15, x1: 25, y1: 25)
        let f = InpaintMask.feather(m, width: w, height: h, radius: 6)
        for i in 0..<(w * h) where m[i] == 1 { XCTAssertEqual(f[i], 1) }
        XCTAssertGreaterThan(f[20 * w + 27], 0); XCTAssertLessThan(f[20 * w + 27], 1)
        XCTAssertEqual(f[20 * w + 38], 0)
        XCTAssertEqual(f[2 * w + 2], 0)
    }
}
