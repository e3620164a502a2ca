import Foundation

/// The shifts under which a photo most often repeats itself: the peaks of
/// the histogram of offsets from each known patch to its most similar
/// known patch elsewhere (He & Sun 2012, "Statistics of patch offsets for
/// image completion", §3). Windows in a row, bricks, blinds and fence posts
/// each give a peak. He & Sun fill a hole by copying along a few of them;
/// here they are extra candidates for the patch search.
public enum DominantOffsets {
    /// Up to `count` offsets (dx, dy) under which `image` repeats, strongest
    /// first, from its 7×7 patches at its own scale; pixels where `hole` is
    /// above 0 are never compared. Offsets shorter than 1/15 of the longer
    /// side are ignored, as in He & Sun.
    public static func find(in image: Image, hole: [Float]? = nil, count: Int, seed: UInt64 = 0) throws -> [(dx: Int, dy: Int)] {
        if let hole, hole.count != image.pixelCount {
            throw UnclipError.usage("mask has \(hole.count) values, expected \(image.pixelCount)")
        }
        let atlas = SourceAtlas(exemplars: [FloatImage(image.rgb())], usable: [hole.map { $0.map { $0 > 0 ? 0 : 1 } }],
                                weights: [1], patch: 7, penaltyScale: 0)
        return find(atlas: atlas, count: count, minLength: max(2, max(image.width, image.height) / 15), seed: seed)
    }

    /// Up to `count` offsets (dx, dy), in the atlas's pixels, strongest
    /// first. Only the first exemplar of `atlas` is searched. Offsets
    /// shorter than `minLength` (Chebyshev) are ignored: every patch
    /// resembles its immediate neighbours.
    static func find(atlas: SourceAtlas, count: Int, minLength: Int, iterations: Int = 4, seed: UInt64) -> [(dx: Int, dy: Int)] {
        let p = atlas.patch, C = atlas.image.channels
        let f = atlas.frames[0]
        let w = f.w, h = f.h, sw = atlas.width, plane = atlas.image.planeSize
        guard count > 0, w > p, h > p else { return [] }
        let cols = w - p + 1, rows = h - p + 1
        // Corners of the first exemplar whose patch is fully usable.
        var corners: [Int] = []
        for y in 0..<rows { for x in 0..<cols where atlas.valid[(f.y0 + y) * sw + x] { corners.append((f.y0 + y) * sw + x) } }
        guard corners.count > 1 else { return [] }
        let valid = atlas.valid
        func allowed(_ a: Int, _ b: Int) -> Bool {
            guard valid[b], b / sw - f.y0 < rows, b / sw >= f.y0 else { return false }
            let dx = b % sw - a % sw, dy = b / sw - a / sw
            return max(abs(dx), abs(dy)) >= minLength
        }
        // PatchMatch of the exemplar against itself, over valid corners only.
        var match = [Int](repeating: -1, count: atlas.valid.count)
        var dist = [Float](repeating: .infinity, count: atlas.valid.count)
        var rng = SplitMix64(seed: seed, stream: 0x0FF5E7)
        atlas.image.data.withUnsafeBufferPointer { buf in
            let s = buf.baseAddress!
            func cost(_ a: Int, _ b: Int, _ bound: Float) -> Float {
                PatchMatch.ssd(s, tw: sw, tPlane: plane, ti: a, s, sw: sw, sPlane: plane, si: b,
                               patch: p, channels: C, bound: bound)
            }
            for a in corners {
                var b = corners[rng.below(corners.count)]
                for _ in 0..<8 where !allowed(a, b) { b = corners[rng.below(corners.count)] }
                if allowed(a, b) { match[a] = b; dist[a] = cost(a, b, .infinity) }
            }
            for it in 0..<iterations {
                let dir = it % 2 == 0 ? 1 : -1
                let order = dir == 1 ? corners : corners.reversed()
                for a in order {
                    var best = match[a], bestD = dist[a]
                    func consider(_ b: Int) {
                        guard b != best, b >= 0, b < valid.count, allowed(a, b) else { return }
                        let d = cost(a, b, bestD)
                        if d < bestD { best = b; bestD = d }
                    }
                    let x = a % sw
                    // Propagation from the neighbours already visited.
                    if x - dir >= 0 && x - dir < cols, match[a - dir] >= 0 {
                        let m = match[a - dir]
                        if (m % sw) + dir >= 0 && (m % sw) + dir < w { consider(m + dir) }
                    }
                    if a - dir * sw >= 0 && a - dir * sw < valid.count, match[a - dir * sw] >= 0 {
                        consider(match[a - dir * sw] + dir * sw)
                    }
                    var r = max(w, h)
                    while r >= 1 {
                        guard best >= 0 else { break }
                        let bx = best % sw, by = best / sw - f.y0
                        let cx = min(max(bx + rng.below(2 * r + 1) - r, 0), cols - 1)
                        let cy = min(max(by + rng.below(2 * r + 1) - r, 0), rows - 1)
                        consider((f.y0 + cy) * sw + cx)
                        r /= 2
                    }
                    match[a] = best; dist[a] = bestD
                }
            }
        }
        // Histogram of offsets, smoothed (σ = √2, as in He & Sun), then its
        // local maxima, largest first.
        let hw = 2 * w - 1, hh = 2 * h - 1
        var hist = [Float](repeating: 0, count: hw * hh)
        for a in corners where match[a] >= 0 {
            let dx = match[a] % sw - a % sw, dy = match[a] / sw - a / sw
            hist[(dy + h - 1) * hw + (dx + w - 1)] += 1
        }
        let smooth = gaussianBlur(hist, width: hw, height: hh, sigma: 2.0.squareRoot())
        var peaks: [(v: Float, dx: Int, dy: Int)] = []
        for y in 0..<hh {
            for x in 0..<hw {
                let v = smooth[y * hw + x]
                guard v > 0 else { continue }
                var isMax = true
                for ny in max(0, y - 2)...min(hh - 1, y + 2) {
                    for nx in max(0, x - 2)...min(hw - 1, x + 2) where (ny, nx) != (y, x) {
                        let u = smooth[ny * hw + nx]
                        // Ties go to the first in raster order.
                        if u > v || (u == v && ny * hw + nx < y * hw + x) { isMax = false }
                    }
                }
                if isMax { peaks.append((v, x - (w - 1), y - (h - 1))) }
            }
        }
        peaks.sort { $0.v != $1.v ? $0.v > $1.v : ($0.dy, $0.dx) < ($1.dy, $1.dx) }
        return peaks.prefix(count).map { (dx: $0.dx, dy: $0.dy) }
    }

    /// Separable Gaussian blur of one plane, radius 3σ, edges clamped.
    private static func gaussianBlur(_ a: [Float], width w: Int, height h: Int, sigma: Double) -> [Float] {
        let r = Int((3 * sigma).rounded(.up))
        var k = (-r...r).map { Float(exp(-Double($0 * $0) / (2 * sigma * sigma))) }
        let sum = k.reduce(0, +)
        k = k.map { $0 / sum }
        var tmp = [Float](repeating: 0, count: a.count), out = tmp
        for y in 0..<h {
            for x in 0..<w {
                var s: Float = 0
                for j in -r...r { s += k[j + r] * a[y * w + min(max(x + j, 0), w - 1)] }
                tmp[y * w + x] = s
            }
        }
        for y in 0..<h {
            for x in 0..<w {
                var s: Float = 0
                for j in -r...r { s += k[j + r] * tmp[min(max(y + j, 0), h - 1) * w + x] }
                out[y * w + x] = s
            }
        }
        return out
    }
}
