import Foundation
import XCTest
import UnclipKit

final class PhotoAdjustmentsTests: XCTestCase {
    /// Every 8-bit code, as a 256×1 gray ramp in RGB.
    let ramp = Image(width: 256, height: 1, channels: 3, pixels: (0..<256).flatMap { [UInt8($0), UInt8($0), UInt8($0)] })

    func srgbToLinear(_ c: Double) -> Double { c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4) }
    func linearToSRGB(_ c: Double) -> Double { c <= 0.0031308 ? 12.92 * c : 1.055 * pow(c, 1 / 2.4) - 0.055 }

    func testIdentityIsExact() {
        let im = TestImages.scene()
        XCTAssertEqual(PhotoAdjustments().apply(to: im), im)
        // A vanishing exposure still runs the linear-light path: every code must survive the round trip.
        var a = PhotoAdjustments(); a.exposure = 1e-9
        XCTAssertEqual(a.apply(to: ramp), ramp)
    }

    func testExposureDoublesLinearLight() {
        var a = PhotoAdjustments(); a.exposure = 1
        let out = a.apply(to: ramp)
        for code in [10, 50, 100, 150] {
            let expect = Int((linearToSRGB(min(1, 2 * srgbToLinear(Double(code) / 255))) * 255).rounded())
            XCTAssertEqual(Int(out.pixels[3 * code]), expect, accuracy: 1, "code \(code)")
        }
        XCTAssertEqual(out.pixels[3 * 255], 255)
        XCTAssertEqual(out.pixels[0], 0)
    }

    func testTemperatureWarmsAndTintGreens() {
        let gray = Image(width: 1, height: 1, channels: 3, pixels: [128, 128, 128])
        var a = PhotoAdjustments(); a.temperature = 0.5
        let w = a.apply(to: gray).pixels
        XCTAssertGreaterThan(w[0], 128); XCTAssertLessThan(w[2], 128)
        a = PhotoAdjustments(); a.tint = 0.5
        let t = a.apply(to: gray).pixels
        XCTAssertGreaterThan(t[1], 128); XCTAssertLessThan(t[0], 128); XCTAssertEqual(t[0], t[2])
    }

    func testSaturationMinusOneIsGrayAndKeepsLuma() {
        var a = PhotoAdjustments(); a.saturation = -1
        let im = TestImages.scene()
        let out = a.apply(to: im)
        for i in 0..<out.pixelCount {
            XCTAssertEqual(Int(out.pixels[3 * i]), Int(out.pixels[3 * i + 1]), accuracy: 1)
            XCTAssertEqual(Int(out.pixels[3 * i]), Int(out.pixels[3 * i + 2]), accuracy: 1)
        }
        XCTAssertEqual(TestImages.meanLuma(out), TestImages.meanLuma(im), accuracy: 1)
    }

    func testFullHueTurnIsIdentity() {
        var a = PhotoAdjustments(); a.hue = 2 * Double.pi
        a.global = a.global  // bounds clamp hue to ±1 rad
        XCTAssertEqual(a.hue, 1)
        var b = PhotoAdjustments(); b.hue = 2 * Double.pi  // unclamped when set directly
        let im = TestImages.scene()
        let out = b.apply(to: im)
        for (x, y) in zip(out.pixels, im.pixels) { XCTAssertEqual(Int(x), Int(y), accuracy: 1) }
    }

    func testToneCurveIsMonotoneWithFixedEnds() {
        for (c, sh, hl) in [(1.0, 0.5, 0.5), (-1, -0.5, -0.5), (1, -0.5, 0.5), (-1, 0.5, -0.5), (0.5, 0.5, -0.5)] {
            var a = PhotoAdjustments(); a.contrast = c; a.shadows = sh; a.highlights = hl
            let out = a.apply(to: ramp)
            XCTAssertEqual(out.pixels[0], 0); XCTAssertEqual(out.pixels[3 * 255], 255)
            for i in 1..<256 { XCTAssertGreaterThanOrEqual(out.pixels[3 * i], out.pixels[3 * (i - 1)], "c \(c) sh \(sh) hl \(hl) at \(i)") }
        }
        var a = PhotoAdjustments(); a.contrast = 1
        let out = a.apply(to: ramp)
        XCTAssertLessThan(out.pixels[3 * 60], 60); XCTAssertGreaterThan(out.pixels[3 * 200], 200)
    }

    func testThreadCountDoesNotChangePixels() {
        var a = PhotoAdjustments(); a.exposure = 0.3; a.saturation = 0.4; a.hue = 0.2; a.contrast = 0.3
        a.local = BilateralGrid(nx: 2, ny: 2, nz: 3, values: (0..<36).map { Double($0 % 7) / 10 - 0.3 })
        let im = TestImages.scene(width: 64, height: 41)
        XCTAssertEqual(a.apply(to: im, threads: 1), a.apply(to: im, threads: 3))
    }

    func testSummaryNamesTheControlsThatMoved() {
        var a = PhotoAdjustments(); a.exposure = 0.42; a.hue = -0.1
        XCTAssertEqual(a.summary, "exposure +0.42 hue -0.10")
        XCTAssertEqual(PhotoAdjustments().summary, "none")
    }
}

final class BilateralGridTests: XCTestCase {
    func testSlicingInterpolatesVertices() {
        var g = BilateralGrid(nx: 2, ny: 2, nz: 2)
        // Red gain 1 at the (x=1, y=0, z=1) vertex only.
        g.values[((1 * 2 + 0) * 2 + 1) * 3] = 1
        XCTAssertEqual(g.slice(u: 1, v: 0, luma: 1).0, 1)
        XCTAssertEqual(g.slice(u: 0, v: 0, luma: 1).0, 0)
        XCTAssertEqual(g.slice(u: 0.5, v: 0.5, luma: 0.5).0, 0.125, accuracy: 1e-6)
        XCTAssertEqual(g.slice(u: 1, v: 0, luma: 0.25).0, 0.25, accuracy: 1e-6)
        XCTAssertEqual(g.slice(u: 1, v: 0, luma: 1).1, 0)
    }

    func testEditIsEdgeAwareThroughLuminance() {
        // Left half dark, right half bright, one edge. Gains only on the dark
        // luminance vertices brighten the dark side and leave the bright side.
        var px = [UInt8]()
        for _ in 0..<8 { for x in 0..<16 { let v: UInt8 = x < 8 ? 30 : 230; px += [v, v, v] } }
        let im = Image(width: 16, height: 8, channels: 3, pixels: px)
        var g = BilateralGrid(nx: 2, ny: 2, nz: 3)
        for y in 0..<2 { for x in 0..<2 { for c in 0..<3 { g.values[((0 * 2 + y) * 2 + x) * 3 + c] = 1 } } }
        var a = PhotoAdjustments(); a.local = g
        let out = a.apply(to: im)
        XCTAssertGreaterThan(out.pixels[0], 40, "dark side brightened")
        // Bright pixels read luminance 230/255 ≈ 0.9, i.e. the z=1..2 cells with small weight on z=0... none.
        XCTAssertEqual(out.pixels[3 * 15], 230, "bright side untouched")
        XCTAssertEqual(out.pixels[3 * 8], 230, "right next to the edge too")
    }
}

final class ShrinkTests: XCTestCase {
    func testAreaAverageExact() {
        // 4×2 → 2×1: each output is the mean of a 2×2 block.
        let im = Image(width: 4, height: 2, channels: 1, pixels: [0, 10, 100, 200, 20, 30, 40, 60])
        let out = Shrink.resize(im.rgb(), width: 2, height: 1)
        XCTAssertEqual(out.pixels, [15, 15, 15, 100, 100, 100])
        // 3 → 2 splits the middle pixel in halves.
        let row = Image(width: 3, height: 1, channels: 1, pixels: [0, 90, 180]).rgb()
        XCTAssertEqual(Shrink.resize(row, width: 2, height: 1).pixels, [30, 30, 30, 150, 150, 150])
    }

    func testShortSide() {
        let im = TestImages.scene(width: 96, height: 64)
        let s = Shrink.toShortSide(im, 32)
        XCTAssertEqual(s.width, 48); XCTAssertEqual(s.height, 32)
        XCTAssertEqual(Shrink.toShortSide(im, 200), im)
    }
}
