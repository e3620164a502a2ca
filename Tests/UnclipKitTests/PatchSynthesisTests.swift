import Foundation
import UnclipKit
import XCTest

final class PatchSynthesisTests: XCTestCase {
    private func options(seed: UInt64 = 0, noise: Float = 0, threads: Int = 2) -> SynthesisOptions {
        var o = SynthesisOptions()
        o.seed = seed; o.noise = noise; o.threads = threads
        return o
    }

    func testInpaintKeepsEveryPixelOutsideTheMaskOnEveryFixture() throws {
        let images = [try DecoderFixtures.photo("kodim23-96.png"), try DecoderFixtures.photo("kodim13-96.png"),
                      DecoderFixtures.synthetic(width: 80, height: 64)]
        for (k, img) in images.enumerated() {
            let w = img.width, h = img.height
            let masks: [[Float]] = [
                DecoderFixtures.box(width: w, height: h, x0: w / 4, y0: h / 4, x1: w / 2, y1: h / 2),
                DecoderFixtures.stroke(width: w, height: h, seed: UInt64(k)),
                // Soft: a half-strength box with a fully masked core.
                zip(DecoderFixtures.box(width: w, height: h, x0: 10, y0: 10, x1: 40, y1: 30, value: 0.5),
                    DecoderFixtures.box(width: w, height: h, x0: 20, y0: 15, x1: 30, y1: 25)).map { max($0, $1) },
                // Touching the image border.
                DecoderFixtures.box(width: w, height: h, x0: 0, y0: h - 12, x1: 20, y1: h),
            ]
            for (j, mask) in masks.enumerated() {
                let out = try Inpainting.inpaint(img, mask: mask, options: options())
                XCTAssertEqual(out.width, w); XCTAssertEqual(out.height, h); XCTAssertEqual(out.channels, img.channels)
                var changedInside = 0
                for i in 0..<img.pixelCount {
                    let a = img.pixels[(3 * i)..<(3 * i + 3)], b = out.pixels[(3 * i)..<(3 * i + 3)]
                    if mask[i] == 0 {
                        XCTAssertEqual(Array(a), Array(b), "image \(k) mask \(j): pixel \(i) outside the mask changed")
                        if Array(a) != Array(b) { return }
                    } else if Array(a) != Array(b) { changedInside += 1 }
                }
                XCTAssertGreaterThan(changedInside, 0, "image \(k) mask \(j): nothing was regenerated")
            }
        }
    }

    func testSameSeedGivesIdenticalBytesWhateverTheThreadCount() throws {
        let img = try DecoderFixtures.photo("kodim23-96.png")
        let mask = DecoderFixtures.stroke(width: 96, height: 96, seed: 3)
        let a = try Inpainting.inpaint(img, mask: mask, options: options(seed: 5, noise: 0.3, threads: 2))
        let b = try Inpainting.inpaint(img, mask: mask, options: options(seed: 5, noise: 0.3, threads: 2))
        let c = try Inpainting.inpaint(img, mask: mask, options: options(seed: 5, noise: 0.3, threads: 1))
        XCTAssertEqual(a.pixels, b.pixels)
        XCTAssertEqual(a.pixels, c.pixels, "the thread count changed the result")
        // The inpainting preset too: its boundary confidence and onion-peel
        // consensus run on the same bands.
        var preset = SynthesisOptions.inpainting
        preset.seed = 5; preset.threads = 2
        let d = try Inpainting.inpaint(img, mask: mask, options: preset)
        preset.threads = 1
        XCTAssertEqual(d.pixels, try Inpainting.inpaint(img, mask: mask, options: preset).pixels,
                       "the thread count changed the inpainting preset's result")

        let ex = [WeightedExemplar(img)]
        let v1 = try PatchSynthesis.synthesize(exemplars: ex, width: 64, height: 48, known: nil, mask: nil,
                                               options: options(seed: 1, noise: 0.75), progress: nil)
        let v1again = try PatchSynthesis.synthesize(exemplars: ex, width: 64, height: 48, known: nil, mask: nil,
                                                    options: options(seed: 1, noise: 0.75, threads: 3), progress: nil)
        let v2 = try PatchSynthesis.synthesize(exemplars: ex, width: 64, height: 48, known: nil, mask: nil,
                                               options: options(seed: 2, noise: 0.75), progress: nil)
        XCTAssertEqual(v1.pixels, v1again.pixels)
        let differing = zip(v1.pixels, v2.pixels).filter { $0 != $1 }.count
        XCTAssertGreaterThan(differing, v1.pixels.count / 10, "different seeds with noise should give different images")
    }

    func testPreparedExemplarGivesTheSameBytesAsSynthesize() throws {
        // Edit settings with the levels shifted down so this 96x96 image
        // also takes the vote-only finest level and the capped search.
        let img = try DecoderFixtures.photo("kodim23-96.png")
        var o = Variation.synthesisDefaults
        o.refinePixels = 24 * 24
        o.noise = 0.75
        let ex = [WeightedExemplar(img)]
        let prepared = try PatchSynthesis.prepare(exemplars: ex, width: 96, height: 96, known: nil, mask: nil, options: o)
        var outputs: [[UInt8]] = []
        for seed: UInt64 in [1, 2] {
            o.seed = seed
            let direct = try PatchSynthesis.synthesize(exemplars: ex, width: 96, height: 96, known: nil, mask: nil,
                                                       options: o, progress: nil)
            XCTAssertEqual(try prepared.run(seed: seed, noise: 0.75, threads: 1).pixels, direct.pixels)
            XCTAssertEqual(try prepared.run(seed: seed, noise: 0.75, threads: 3).pixels, direct.pixels)
            outputs.append(direct.pixels)
        }
        XCTAssertNotEqual(outputs[0], outputs[1])
    }

    func testPlantedPeriodicTextureIsCompleted() throws {
        // The only consistent fill of a hole in an exactly periodic texture is
        // the texture itself, so the answer is known pixel for pixel.
        let img = DecoderFixtures.periodic(width: 72, height: 72, period: 9)
        let mask = DecoderFixtures.box(width: 72, height: 72, x0: 24, y0: 28, x1: 46, y1: 48)
        let out = try Inpainting.inpaint(img, mask: mask, options: options(seed: 3))
        let err = DecoderFixtures.meanAbsDifference(img, out, where: mask)
        XCTAssertLessThan(err, 6, "mean error in the hole \(err) levels; random values would give ~85")
    }

    func testHoleInATextureNextToAFlatAreaIsFilledWithTheTexture() throws {
        // A hole surrounded by texture, with a flat area beside it: a smooth
        // start would pull the fill to the flat patches (closest in SSD to
        // anything uncertain) and leave a smear (about 0.54 of the texture's
        // gradient energy that way); the fill must stay textured.
        let w = 160, h = 112
        let texture = DecoderFixtures.periodic(width: w, height: h, period: 11, seed: 5)
        // The flat area has the texture's mean colour: what a smooth guess
        // of the hole would be.
        var img = texture
        for c in 0..<3 {
            var sum = 0
            for y in 0..<h { for x in 0..<w { sum += Int(texture[x, y, c]) } }
            let mean = UInt8(sum / (w * h))
            for y in 0..<h { for x in 0..<56 { img[x, y, c] = mean } }
        }
        let mask = DecoderFixtures.box(width: w, height: h, x0: 84, y0: 30, x1: 136, y1: 82)
        let out = try Inpainting.inpaint(img, mask: mask, options: options(seed: 1))
        func energy(_ im: Image) -> Double {
            var s = 0.0, n = 0
            for y in 30..<81 { for x in 84..<135 { for c in 0..<3 {
                let dx = Double(im[x + 1, y, c]) - Double(im[x, y, c]), dy = Double(im[x, y + 1, c]) - Double(im[x, y, c])
                s += dx * dx + dy * dy; n += 1
            } } }
            return s / Double(n)
        }
        let ratio = energy(out) / energy(img)
        XCTAssertGreaterThan(ratio, 0.8, "gradient energy in the hole is \(ratio) of the texture's: the fill is smooth")
    }

    func testStrokesThroughGrainBesideAFlatAreaStayGrainy() throws {
        // Film grain beside a flat area of its mean, with 8 px strokes through
        // the grain. SSD rates the flat patches closer to grain than other
        // grain, so a fill that starts smooth stays flat unless the texture
        // prior holds the hole's texture features toward the grain around it.
        // Inpainting's texture weight 3 alone also keeps the grain here, so
        // the comparison without the prior uses the general default, 2.
        let w = 160, h = 128
        var img = Image(width: w, height: h, channels: 3, pixels: [UInt8](repeating: 128, count: w * h * 3))
        var rng = UInt64(11)
        for y in 0..<h {
            for x in 0..<80 {
                for c in 0..<3 {
                    rng = rng &* 6364136223846793005 &+ 1442695040888963407
                    img[x, y, c] = UInt8(111 + Int(rng >> 59))  // 111…142, σ ≈ 9
                }
            }
        }
        var mask = [Float](repeating: 0, count: w * h)
        for y0 in stride(from: 12, to: h - 12, by: 20) {
            for y in y0..<y0 + 8 { for x in 8..<72 { mask[y * w + x] = 1 } }
        }
        func grainKept(_ o: SynthesisOptions) throws -> Double {
            let out = try Inpainting.inpaint(img, mask: mask, options: o)
            var e = 0.0, e0 = 0.0
            for y in 0..<h { for x in 0..<(w - 1) where mask[y * w + x] > 0 { for c in 0..<3 {
                let d = Double(out[x + 1, y, c]) - Double(out[x, y, c]), d0 = Double(img[x + 1, y, c]) - Double(img[x, y, c])
                e += d * d; e0 += d0 * d0
            } } }
            return e / e0
        }
        var off = SynthesisOptions.inpainting
        off.texturePrior = 0
        off.textureWeight = 2
        let kept = try grainKept(.inpainting), keptOff = try grainKept(off)
        XCTAssertGreaterThan(kept, 0.15, "the strokes keep \(kept) of the grain's gradient energy")
        XCTAssertLessThan(keptOff, 0.08, "without the prior the strokes were expected flat, kept \(keptOff)")
    }

    func testMiddleOfALargeHoleStaysSharp() throws {
        // kodim13 at 384x256 (river, bushes, forest) with a 160x140 hole. Each
        // finer level starts from the coarser level's matches carried up;
        // averaged where they disagree, the middle of the hole becomes a blur
        // that every finer level keeps, so it is started from the best
        // carried patch per pixel instead.
        let img = try DecoderFixtures.photo("kodim13-384.jpg")
        let mask = DecoderFixtures.box(width: img.width, height: img.height, x0: 120, y0: 80, x1: 280, y1: 220)
        func energy(_ im: Image) -> Double { DecoderFixtures.gradientEnergy(im, columns: 160..<240, rows: 115..<185) }
        // The last vote averaged, so that only the carried start differs.
        var best = SynthesisOptions.inpainting
        best.finalVoteSharpness = 4
        var averaged = best
        averaged.carriedVoteSharpness = 4
        let sharp = energy(try Inpainting.inpaint(img, mask: mask, options: best)) / energy(img)
        let soft = energy(try Inpainting.inpaint(img, mask: mask, options: averaged)) / energy(img)
        XCTAssertGreaterThan(sharp, 0.45, "the middle of the hole keeps \(sharp) of the photo's gradient energy")
        XCTAssertGreaterThan(sharp, 1.5 * soft, "averaging the carried patches kept \(soft), the best patch \(sharp)")
    }

    /// Three 14-pixel bands across kodim13 at 384x256, through the bushes and the forest.
    static func kodim13Bands(width w: Int, height h: Int) -> [Float] {
        var mask = [Float](repeating: 0, count: w * h)
        for y0 in [60, 130, 200] { for y in y0..<(y0 + 14) { for x in 30..<354 { mask[y * w + x] = 1 } } }
        return mask
    }

    func testLastVoteTakesTheBestPatchAwayFromTheEdge() throws {
        // kodim13 at 384x256 with three 14-pixel bands across it, through
        // the bushes and the forest. Averaged, the patches that cross an
        // edge disagree about where it is, and the bands lost far more of
        // the photo's gradient energy.
        let img = try DecoderFixtures.photo("kodim13-384.jpg")
        let w = img.width, h = img.height
        let mask = PatchSynthesisTests.kodim13Bands(width: w, height: h)
        func energy(_ im: Image) -> Double {
            var s = 0.0
            for y in 0..<(h - 1) { for x in 0..<(w - 1) where mask[y * w + x] > 0 {
                for (nx, ny) in [(x + 1, y), (x, y + 1)] where mask[ny * w + nx] > 0 {
                    for c in 0..<3 { let d = Double(im[nx, ny, c]) - Double(im[x, y, c]); s += d * d }
                }
            } }
            return s
        }
        var averaged = SynthesisOptions.inpainting
        averaged.finalVoteSharpness = 4
        let sharp = energy(try Inpainting.inpaint(img, mask: mask, options: .inpainting)) / energy(img)
        let soft = energy(try Inpainting.inpaint(img, mask: mask, options: averaged)) / energy(img)
        XCTAssertGreaterThan(sharp, 1.25 * soft, "the bands keep \(sharp) of the photo's gradient energy, averaged \(soft)")

        // A prior that asks for the surroundings' texture exactly (gain 1)
        // leaves the bands further below the photo's detail.
        var ungained = SynthesisOptions.inpainting
        ungained.texturePriorGain = 1
        let plain = energy(try Inpainting.inpaint(img, mask: mask, options: ungained)) / energy(img)
        XCTAssertGreaterThan(sharp, 1.15 * plain, "gain 1.3 kept \(sharp) of the photo's gradient energy, gain 1 \(plain)")
        XCTAssertLessThan(sharp, 1, "the bands have more detail than the photo: \(sharp)")

        // The raw synthesis (before the seam blend): within 2 pixels of the
        // known ones the last vote is the averaged one, from 4 pixels on the
        // best patch's, and the two differ in both places.
        var stepped = SynthesisOptions.inpainting
        stepped.finalVoteEdge = 0
        func synth(_ o: SynthesisOptions) throws -> Image {
            try PatchSynthesis.synthesize(exemplars: [], width: w, height: h, known: img, mask: mask, options: o, progress: nil)
        }
        let ramped = try synth(.inpainting), soft0 = try synth(averaged), best0 = try synth(stepped)
        var near = 0, nearSame = 0, nearDiffer = 0, deep = 0, deepSame = 0, deepDiffer = 0
        for y in 0..<h { for x in 0..<w where mask[y * w + x] > 0 {
            var d2 = Int.max
            for dy in -5...5 { for dx in -5...5 {
                let nx = x + dx, ny = y + dy
                if nx >= 0 && nx < w && ny >= 0 && ny < h && mask[ny * w + nx] == 0 { d2 = min(d2, dx * dx + dy * dy) }
            } }
            let pixel = { (im: Image) in (0..<3).map { im[x, y, $0] } }
            if d2 <= 4 {
                near += 1
                if pixel(ramped) == pixel(soft0) { nearSame += 1 }
                if pixel(soft0) != pixel(best0) { nearDiffer += 1 }
            } else if d2 >= 16 {
                deep += 1
                if pixel(ramped) == pixel(best0) { deepSame += 1 }
                if pixel(soft0) != pixel(best0) { deepDiffer += 1 }
            }
        } }
        XCTAssertEqual(nearSame, near, "within 2 pixels of the edge: the averaged vote")
        XCTAssertEqual(deepSame, deep, "4 pixels and more from the edge: the best patch's")
        XCTAssertGreaterThan(nearDiffer, near / 2, "the two votes differ near the edge")
        XCTAssertGreaterThan(deepDiffer, deep / 2, "the two votes differ deep in the bands")
    }

    func testTexturePriorFadesDeepInAHoleAboveTheFinestLevel() throws {
        // kodim13 at 384x256. Above the finest level the pull toward the
        // texture prior fades beyond `texturePriorReach` (8) pixels from the
        // hole's edge: deep in a 120x120 box the fill is less busy than with
        // the full pull everywhere, and 14-pixel bands, never deeper than 8
        // pixels at any level, come out byte for byte the same.
        let img = try DecoderFixtures.photo("kodim13-384.jpg")
        let w = img.width, h = img.height
        var everywhere = SynthesisOptions.inpainting
        everywhere.texturePriorReach = .infinity

        let box = DecoderFixtures.box(width: w, height: h, x0: 230, y0: 120, x1: 350, y1: 240)
        // Pixels more than 16 from the box's edge.
        func deepEnergy(_ im: Image) -> Double { DecoderFixtures.gradientEnergy(im, columns: 247..<333, rows: 137..<223) }
        let faded = deepEnergy(try Inpainting.inpaint(img, mask: box, options: .inpainting)) / deepEnergy(img)
        let full = deepEnergy(try Inpainting.inpaint(img, mask: box, options: everywhere)) / deepEnergy(img)
        XCTAssertLessThan(faded, 0.93 * full, "deep in the box: \(faded) of the photo's gradient energy faded, \(full) not")
        XCTAssertGreaterThan(faded, 0.5, "the middle of the box went flat: \(faded)")

        let bands = PatchSynthesisTests.kodim13Bands(width: w, height: h)
        XCTAssertEqual(try Inpainting.inpaint(img, mask: bands, options: .inpainting),
                       try Inpainting.inpaint(img, mask: bands, options: everywhere))
    }

    func testDominantOffsetsAreTheFacadesPeriod() throws {
        // A grainy wall with a row of identical windows every 37 pixels (a
        // dark pane, a light frame and cross); the grain does not repeat.
        let w = 230, h = 90
        var img = Image(width: w, height: h, channels: 3)
        var rng = SplitMix64(seed: 11)
        for y in 0..<h {
            for x in 0..<w {
                let g = 142 + rng.below(17)
                var v = (g, g - 10, g - 30)
                let wx = (x - 10) % 37, wy = y - 30
                if x >= 10 && wx < 19 && wy >= 0 && wy < 31 {
                    let light = wx == 0 || wx == 18 || wx == 9 || wy == 0 || wy == 30 || wy == 15
                    v = light ? (225, 225, 215) : (40 + g / 8, 45 + g / 8, 60 + g / 8)
                }
                img[x, y, 0] = UInt8(v.0); img[x, y, 1] = UInt8(v.1); img[x, y, 2] = UInt8(v.2)
            }
        }
        let offsets = try DominantOffsets.find(in: img, count: 4)
        XCTAssertEqual(offsets.count, 4)
        // Every peak is a whole number of windows along the row.
        XCTAssertTrue(offsets.allSatisfy { $0.dy == 0 && $0.dx != 0 && $0.dx % 37 == 0 }, "strongest offsets \(offsets)")
        // With the windows masked out only the grain is left, which repeats nowhere.
        var hole = [Float](repeating: 0, count: w * h)
        for y in 28..<63 { for x in 0..<w { hole[y * w + x] = 1 } }
        let wall = try DominantOffsets.find(in: img, hole: hole, count: 4)
        XCTAssertFalse(wall.contains { $0.dy == 0 && abs($0.dx) % 37 == 0 }, "offsets of the bare wall \(wall)")
        XCTAssertThrowsError(try DominantOffsets.find(in: img, hole: [0, 1], count: 4))
    }

    func testHoleInTheSkyIsNotFilledWithARareObject() throws {
        // A grainy sky with eight small dark birds. Around each bird the
        // patch is sky, so it matches the sky at the hole's edge as well as
        // any other, and with the grain one of them is some edge pixel's
        // best match: a start that copies the single best match's centre
        // brings a bird in (darkest value 19 with peelConsensus 1), and EM
        // keeps it, a coherent copy. The median of nine candidates does not.
        let w = 112, h = 96
        var img = Image(width: w, height: h, channels: 3, pixels: [UInt8](repeating: 0, count: w * h * 3))
        var rng = UInt64(7)
        for y in 0..<h {
            for x in 0..<w {
                rng = rng &* 6364136223846793005 &+ 1442695040888963407
                let n = Int(rng >> 61)  // 0…7: the sky's grain
                img[x, y, 0] = UInt8(100 + n); img[x, y, 1] = UInt8(140 + n); img[x, y, 2] = UInt8(200 + n)
            }
        }
        let mask = DecoderFixtures.box(width: w, height: h, x0: 34, y0: 28, x1: 78, y1: 68)
        for (bx, by) in [(10, 10), (95, 15), (12, 80), (98, 84), (56, 8), (54, 88), (20, 45), (92, 50)] {
            for dy in 0...1 { for dx in 0...1 { for c in 0..<3 { img[bx + dx, by + dy, c] = 20 } } }
        }
        func darkest(_ o: SynthesisOptions) throws -> Int {
            let out = try Inpainting.inpaint(img, mask: mask, options: o)
            var m = 255
            for y in 28..<68 { for x in 34..<78 { m = min(m, Int(out[x, y, 2])) } }
            return m
        }
        XCTAssertGreaterThan(try darkest(.inpainting), 150, "a bird was copied into the sky")
    }

    func testReconstructsTheExemplarWithoutNoise() throws {
        // GPNN with zero noise reconstructs its input.
        let img = try DecoderFixtures.photo("kodim13-96.png")
        let out = try PatchSynthesis.synthesize(exemplars: [WeightedExemplar(img)], width: 96, height: 96, known: nil, mask: nil,
                                                options: options(), progress: nil)
        let all = [Float](repeating: 1, count: 96 * 96)
        XCTAssertLessThan(DecoderFixtures.meanAbsDifference(img, out, where: all), 8)
    }

    func testExemplarWeightsDecideWhichSourceDominates() throws {
        func flat(_ r: UInt8, _ g: UInt8, _ b: UInt8, seed: UInt64) -> Image {
            var img = DecoderFixtures.periodic(width: 48, height: 48, period: 6, seed: seed)
            for i in 0..<img.pixelCount {
                img.pixels[3 * i] = r &+ img.pixels[3 * i] / 8
                img.pixels[3 * i + 1] = g &+ img.pixels[3 * i + 1] / 8
                img.pixels[3 * i + 2] = b &+ img.pixels[3 * i + 2] / 8
            }
            return img
        }
        let red = flat(200, 20, 20, seed: 1), blue = flat(20, 20, 200, seed: 2)
        func redness(_ wRed: Float, _ wBlue: Float) throws -> Double {
            let out = try PatchSynthesis.synthesize(
                exemplars: [WeightedExemplar(red, weight: wRed), WeightedExemplar(blue, weight: wBlue)],
                width: 48, height: 48, known: nil, mask: nil, options: options(seed: 4, noise: 0.5), progress: nil)
            var r = 0.0
            for i in 0..<out.pixelCount { r += Double(out.pixels[3 * i]) - Double(out.pixels[3 * i + 2]) }
            return r / Double(out.pixelCount)
        }
        XCTAssertGreaterThan(try redness(1, 0.05), 100)
        XCTAssertLessThan(try redness(0.05, 1), -100)
    }

    func testBadArgumentsAreUsageErrors() {
        let img = DecoderFixtures.synthetic(width: 32, height: 32)
        let o = options()
        XCTAssertThrowsError(try PatchSynthesis.synthesize(exemplars: [], width: 32, height: 32, known: nil, mask: nil, options: o, progress: nil)) {
            XCTAssertTrue(($0 as? UnclipError)?.isUsage ?? false)
        }
        XCTAssertThrowsError(try PatchSynthesis.synthesize(exemplars: [], width: 32, height: 32, known: img, mask: [1, 0], options: o, progress: nil)) {
            XCTAssertTrue(($0 as? UnclipError)?.isUsage ?? false)
        }
        XCTAssertThrowsError(try PatchSynthesis.synthesize(exemplars: [WeightedExemplar(img)], width: 4, height: 32, known: nil, mask: nil, options: o, progress: nil))
        for reach: Float in [0, -8, .nan] {
            var r = o
            r.texturePriorReach = reach
            XCTAssertThrowsError(try PatchSynthesis.synthesize(exemplars: [], width: 32, height: 32, known: img, mask: nil, options: r, progress: nil)) {
                XCTAssertEqual(($0 as? UnclipError)?.description, "texture prior reach must be above 0, not \(reach)")
            }
        }
        XCTAssertThrowsError(try Inpainting.inpaint(img, mask: [Float](repeating: 1, count: 32 * 32), options: o)) {
            XCTAssertEqual(($0 as? UnclipError)?.description, "the mask covers the whole image: nothing is left to copy from")
        }
        // A mask of zeros changes nothing.
        XCTAssertEqual(try Inpainting.inpaint(img, mask: [Float](repeating: 0, count: 32 * 32), options: o), img)
    }

    func testGrayAndAlphaImagesKeepTheirChannels() throws {
        let rgb = DecoderFixtures.synthetic(width: 48, height: 40)
        let gray = Image(width: 48, height: 40, channels: 1, pixels: rgb.gray())
        let mask = DecoderFixtures.box(width: 48, height: 40, x0: 10, y0: 10, x1: 24, y1: 22)
        let g = try Inpainting.inpaint(gray, mask: mask, options: options())
        XCTAssertEqual(g.channels, 1)
        for i in 0..<gray.pixelCount where mask[i] == 0 { XCTAssertEqual(g.pixels[i], gray.pixels[i]) }
        var rgba = Image(width: 48, height: 40, channels: 4, fill: 100)
        for i in 0..<rgba.pixelCount { for c in 0..<3 { rgba.pixels[4 * i + c] = rgb.pixels[3 * i + c] } }
        let a = try Inpainting.inpaint(rgba, mask: mask, options: options())
        XCTAssertEqual(a.channels, 4)
        for i in 0..<rgba.pixelCount {
            XCTAssertEqual(a.pixels[4 * i + 3], mask[i] > 0 ? 255 : 100, "alpha of regenerated pixels becomes opaque")
        }
    }
}

extension PatchSynthesisTests {
    /// `guide`: synthesis starts from a half-size picture of the result and
    /// rebuilds full-resolution detail from the known pixels' patches (the
    /// diffusion fill's upsampler). Given the truth at half size, the hole
    /// comes back sharper and closer to the truth than the guide upscaled.
    func testGuidedSynthesisRestoresFullResolutionDetail() throws {
        let truth = try DecoderFixtures.photo("kodim13-96.png").rgb()
        let small = Exemplar.areaResize(truth, width: 48, height: 48)
        let hole = DecoderFixtures.box(width: 96, height: 96, x0: 28, y0: 28, x1: 68, y1: 68)
        var o = SynthesisOptions.inpainting
        o.guide = small
        let guided = try PatchSynthesis.synthesize(exemplars: [], width: 96, height: 96, known: truth, mask: hole, options: o, progress: nil)
        let upscaled = PillowResample.bicubic(small, width: 96, height: 96)
        func detail(_ im: Image) -> Double {
            var sum = 0.0, n = 0
            for y in 28..<68 { for x in 28..<67 { for c in 0..<3 {
                sum += abs(Double(im[x + 1, y, c]) - Double(im[x, y, c])); n += 1 } } }
            return sum / Double(n)
        }
        let errGuided = DecoderFixtures.meanAbsDifference(guided, truth, where: hole)
        let errUp = DecoderFixtures.meanAbsDifference(upscaled, truth, where: hole)
        let unguided = try PatchSynthesis.synthesize(exemplars: [], width: 96, height: 96, known: truth, mask: hole,
                                                     options: .inpainting, progress: nil)
        let errUnguided = DecoderFixtures.meanAbsDifference(unguided, truth, where: hole)
        print(String(format: "guided synthesis: detail %.2f (truth %.2f, upscaled guide %.2f); mean error %.2f (upscaled %.2f, unguided %.2f)",
                     detail(guided), detail(truth), detail(upscaled), errGuided, errUp, errUnguided))
        XCTAssertGreaterThan(detail(guided), detail(upscaled) * 1.15, "sharper than the upscaled guide")
        XCTAssertLessThan(errGuided, errUnguided, "the guide's layout is followed")
        XCTAssertEqual(DecoderFixtures.meanAbsDifference(guided, truth, where: hole.map { 1 - $0 }), 0, "known pixels untouched")
    }
}
