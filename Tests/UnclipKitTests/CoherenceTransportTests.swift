import UnclipKit
import XCTest

final class CoherenceTransportTests: XCTestCase {
    /// A 3 px diagonal line (value 1 on 0) through a `side`² picture, with
    /// a 17×17 hole over its middle.
    func diagonal(side w: Int) -> (FloatImage, [Float]) {
        var img = FloatImage(width: w, height: w, channels: 1)
        var trust = [Float](repeating: 1, count: w * w)
        let hole = (w / 2 - 8)...(w / 2 + 8)
        for y in 0..<w {
            for x in 0..<w {
                if abs(y - x) <= 1 { img.data[y * w + x] = 1 }
                if hole.contains(x) && hole.contains(y) { trust[y * w + x] = 0; img.data[y * w + x] = 0.5 }
            }
        }
        return (img, trust)
    }

    func testALineGoesOnAcrossTheHole() {
        // 64 px: the whole picture is near the hole; 200 px: only a box
        // around the hole is worked on, and the rest is left as it was.
        for w in [64, 200] {
            let (img, trust) = diagonal(side: w)
            let out = CoherenceTransport.fill(img, gray: img.data, trust: trust)
            for i in 0..<(w * w) where trust[i] > 0 { XCTAssertEqual(out.data[i], img.data[i], "known pixel \(i) changed (\(w) px)") }
            // On the line, in the middle of the hole, and about 4 px off it.
            let c = w / 2
            let on = out.data[c * w + c], off = out.data[(c - 3) * w + c + 3]
            XCTAssertGreaterThan(on, 0.8, "the line's middle was filled with \(on) (\(w) px)")
            XCTAssertLessThan(off, 0.1, "about 4 px off the line the fill is \(off) (\(w) px)")
            // Without the steering (κ = 0, every direction alike) the line fades.
            let isotropic = CoherenceTransport.fill(img, gray: img.data, trust: trust, kappa: 0).data[c * w + c]
            XCTAssertLessThan(isotropic, 0.5, "an unsteered fill was expected to fade the line, it gave \(isotropic) (\(w) px)")
        }
    }

    func testEveryHolePixelIsFilledFromItsSurroundings() {
        // A hole with no edges around it gets the flat value it is surrounded by.
        var img = FloatImage(width: 20, height: 12, channels: 2, fill: 0.25)
        var trust = [Float](repeating: 1, count: 240)
        for y in 2..<10 { for x in 3..<17 { trust[y * 20 + x] = 0; img.data[y * 20 + x] = 9; img.data[240 + y * 20 + x] = 9 } }
        let out = CoherenceTransport.fill(img, gray: [Float](repeating: 0.5, count: 240), trust: trust)
        for v in out.data { XCTAssertEqual(v, 0.25, accuracy: 1e-6) }
    }

    func testInpaintingContinuesALineThroughGrain() throws {
        // A 3 px dark line at a slant (40 on grain of 120…140) with a 40×40
        // hole over its middle. Pulled toward the grain around it from all
        // sides, the hole's texture prior has no line in it and the fill
        // mostly loses it; carried along the edges, it continues the line.
        let w = 128, h = 128
        func onLine(_ x: Int, _ y: Int) -> Bool { abs(Double(y) - 0.6 * Double(x) - 20) <= 1.5 }
        func nearLine(_ x: Int, _ y: Int) -> Bool { abs(Double(y) - 0.6 * Double(x) - 20) <= 6 }
        var img = Image(width: w, height: h, channels: 3)
        var rng = SplitMix64(seed: 5)
        for y in 0..<h {
            for x in 0..<w {
                let g = UInt8(120 + rng.below(21))
                for c in 0..<3 { img[x, y, c] = onLine(x, y) ? 40 : g }
            }
        }
        var mask = [Float](repeating: 0, count: w * h)
        for y in 30..<70 { for x in 40..<80 { mask[y * w + x] = 1 } }
        func means(_ o: SynthesisOptions) throws -> (line: Double, rest: Double) {
            let out = try Inpainting.inpaint(img, mask: mask, options: o)
            var line = 0.0, nl = 0.0, rest = 0.0, nr = 0.0
            for y in 30..<70 {
                for x in 40..<80 {
                    let v = Double(out[x, y, 0])
                    if onLine(x, y) { line += v; nl += 1 } else if !nearLine(x, y) { rest += v; nr += 1 }
                }
            }
            return (line / nl, rest / nr)
        }
        var smoothed = SynthesisOptions.inpainting
        smoothed.texturePriorAlongEdges = false
        let along = try means(.inpainting), off = try means(smoothed)
        XCTAssertLessThan(along.line, 80, "the line's pixels in the hole average \(along.line) (the line is 40, the grain 130)")
        XCTAssertGreaterThan(along.rest, 115, "away from the line the fill averages \(along.rest)")
        // Smoothed, the fill keeps less than half the line's contrast: above 85, halfway from 40 to 130.
        XCTAssertGreaterThan(off.line, 85, "without the transported prior the line was expected mostly lost, it averages \(off.line)")
    }
}
