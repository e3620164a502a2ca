import XCTest
import UnclipKit

final class RegionDissolveTests: XCTestCase {
    func testFieldIsASmoothPermutationOfRanks() {
        let w = 96, h = 64, n = w * h
        let f = RegionDissolve.field(width: w, height: h, seed: 3)
        // Ranks: threshold u selects exactly that fraction of the frame.
        XCTAssertTrue(f.map { Int(($0 * Float(n - 1)).rounded()) }.sorted() == Array(0..<n), "not a permutation of ranks")
        XCTAssertEqual(f, RegionDissolve.field(width: w, height: h, seed: 3))
        XCTAssertNotEqual(f, RegionDissolve.field(width: w, height: h, seed: 4))
        // Blobs, not salt and pepper: neighbours' ranks differ by about a
        // third in a random permutation.
        var step: Float = 0
        for y in 0..<h { for x in 1..<w { step += abs(f[y * w + x] - f[y * w + x - 1]) } }
        XCTAssertLessThan(step / Float(h * (w - 1)), 0.03)
    }

    func testFieldFollowingAPictureRevealsItsBrightRegionsFirst() {
        let w = 96, h = 64, n = w * h
        // A bright disc on a dark ground.
        var img = Image(width: w, height: h, channels: 3)
        let disc = { (x: Int, y: Int) in (x - 30) * (x - 30) + (y - 32) * (y - 32) < 18 * 18 }
        for y in 0..<h { for x in 0..<w { for c in 0..<3 { img[x, y, c] = disc(x, y) ? 230 : 30 } } }
        let f = RegionDissolve.field(following: img, seed: 2)
        XCTAssertTrue(f.map { Int(($0 * Float(n - 1)).rounded()) }.sorted() == Array(0..<n), "not a permutation of ranks")
        // Inside the disc, away from its blurred edge, every pixel comes
        // before every pixel of the ground far from it.
        var inside: Float = 0, outside: Float = 1
        for y in 0..<h { for x in 0..<w {
            let d2 = (x - 30) * (x - 30) + (y - 32) * (y - 32)
            if d2 < 8 * 8 { inside = max(inside, f[y * w + x]) }
            if d2 > 30 * 30 { outside = min(outside, f[y * w + x]) }
        } }
        XCTAssertLessThan(inside, outside)
    }

    func testBandCoversBothSidesOfTheEdgeOut_toTheRadius() {
        let w = 20, h = 3
        let region = (0..<(w * h)).map { $0 % w < 10 }
        let band = RegionDissolve.band(region: region, width: w, height: h, radius: 2)
        for y in 0..<h {
            XCTAssertEqual(Array(band[(y * w)..<(y * w + w)]), (0..<w).map { (8...11).contains($0) ? 1 : 0 }, "row \(y)")
        }
    }

    func testFrameShowsEachPictureOutsideTheBandAndRegrowsOnlyTheBand() throws {
        let a = try EditKitFixtures.red(), b = try EditKitFixtures.blue()
        let w = a.width, h = a.height
        let field = RegionDissolve.field(width: w, height: h, seed: 1)
        var o = Variation.synthesisDefaults
        o.threads = 1
        let ex = [WeightedExemplar(a), WeightedExemplar(b)]
        XCTAssertEqual(try RegionDissolve.frame(from: a, to: b, field: field, u: 0, exemplars: ex, options: o), a)
        XCTAssertEqual(try RegionDissolve.frame(from: a, to: b, field: field, u: 1, exemplars: ex, options: o), b)
        let u: Float = 0.4
        let out = try RegionDissolve.frame(from: a, to: b, field: field, u: u, exemplars: ex, options: o)
        let region = field.map { $0 < u }
        let band = RegionDissolve.band(region: region, width: w, height: h, radius: max(2, min(w, h) / 64))
        var fromB = 0, regrown = 0
        for i in 0..<(w * h) {
            let px = Array(out.pixels[(3 * i)..<(3 * i + 3)])
            if band[i] > 0 {
                if px != Array((region[i] ? b : a).pixels[(3 * i)..<(3 * i + 3)]) { regrown += 1 }
                continue
            }
            XCTAssertEqual(px, Array((region[i] ? b : a).pixels[(3 * i)..<(3 * i + 3)]), "pixel \(i)")
            if region[i] { fromB += 1 }
        }
        let bandCount = band.reduce(0) { $0 + Int($1) }
        XCTAssertEqual(Float(fromB + band.indices.filter { band[$0] > 0 && region[$0] }.count) / Float(w * h), u, accuracy: 0.001)
        XCTAssertGreaterThan(regrown, bandCount / 4, "the band is synthesised, not a hard cut")
    }
}

final class TextureTransferTests: XCTestCase {
    /// Noise of amplitude ±20 around `colour`, so that patches differ.
    func noisy(_ colour: [Float], width w: Int, height h: Int, seed: UInt64, where pick: (Int, Int) -> Bool,
               else other: [Float]) -> Image {
        var rng = SplitMix64(seed: seed)
        var f = FloatImage(width: w, height: h, channels: 3)
        for y in 0..<h {
            for x in 0..<w {
                let c = pick(x, y) ? colour : other
                for k in 0..<3 { f[x, y, k] = c[k] + 40 * (rng.unit() - 0.5) }
            }
        }
        return f.image()
    }

    func testRecolouredTakesTheMaterialsMeanAndSpread() throws {
        let a = FloatImage(try EditKitFixtures.red()), b = FloatImage(try EditKitFixtures.blue())
        let r = TextureTransfer.recoloured(a, like: b)
        func stats(_ f: FloatImage, _ c: Int) -> (Double, Double) {
            let s = f.data[(c * f.planeSize)..<((c + 1) * f.planeSize)].map(Double.init)
            let m = s.reduce(0, +) / Double(s.count)
            return (m, (s.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(s.count)).squareRoot())
        }
        for c in 0..<3 {
            let (mr, sr) = stats(r, c), (mb, sb) = stats(b, c)
            XCTAssertEqual(mr, mb, accuracy: 0.01, "channel \(c) mean")
            XCTAssertEqual(sr, sb, accuracy: 0.01, "channel \(c) spread")
        }
    }

    func testLayoutIsRebuiltFromTheMaterialsPatches() throws {
        let w = 64, h = 64
        // Layout: dark left half, bright right half. Material: dark green
        // top, bright yellow bottom. The result must be green on the left
        // and yellow on the right.
        let layout = noisy([40, 40, 40], width: w, height: h, seed: 1, where: { x, _ in x < w / 2 }, else: [210, 210, 210])
        let material = noisy([30, 110, 30], width: w, height: h, seed: 2, where: { _, y in y < h / 2 }, else: [230, 210, 40])
        var o = SynthesisOptions()
        o.threads = 1
        let out = FloatImage(try TextureTransfer.transfer(layout: layout, material: material, options: o))
        func mean(_ xs: Range<Int>) -> [Float] {
            (0..<3).map { c in
                var s: Float = 0
                for y in 0..<h { for x in xs { s += out[x, y, c] } }
                return s / Float(h * xs.count)
            }
        }
        // Away from the middle, where patches straddle both halves.
        let left = mean(0..<(w / 2 - 8)), right = mean((w / 2 + 8)..<w)
        XCTAssertEqual(left[0], 30, accuracy: 12); XCTAssertEqual(left[1], 110, accuracy: 12); XCTAssertEqual(left[2], 30, accuracy: 12)
        XCTAssertEqual(right[0], 230, accuracy: 12); XCTAssertEqual(right[1], 210, accuracy: 12); XCTAssertEqual(right[2], 40, accuracy: 12)
    }

    func testBadGuideDivisorIsAUsageError() throws {
        let a = try EditKitFixtures.red()
        XCTAssertThrowsError(try TextureTransfer.transfer(layout: a, material: a, guideDivisor: 0, options: SynthesisOptions())) {
            XCTAssertEqual(($0 as? UnclipError)?.description, "guide divisor must be at least 1")
        }
    }
}
