import Foundation

/// The coarsest level's starting fill for a hole: ring by ring from the
/// border inwards, each pixel takes the centre of the source patch that best
/// matches the pixels already there around it (Newson et al. 2014, "Video
/// inpainting of complex scenes", §4.3, onion-peel initialisation).
///
/// Why not start EM from a smooth guess: under a sum of squared
/// differences a flat source patch is the closest match to any uncertain
/// target, so a smooth start pulls the whole fill towards the flattest
/// region of the photo (sky, bare ground) and EM never leaves it. Here only
/// real pixels are compared, so textured surroundings pick textured
/// sources.
enum OnionPeel {
    /// Evaluations of a candidate patch per level, at most: the coarsest
    /// level is small, but a long thin crop could still make a brute-force
    /// search quadratic in its size. Beyond this the candidates are thinned.
    static let evaluationBudget = 3_000_000

    /// Overwrites the pixels of `target` (all channels) whose `hole` value is
    /// 1; pixels with any trust are kept and seed the fill. With `consensus`
    /// K > 1 a pixel takes, per channel, the median centre pixel of the K
    /// best-matching candidates (Efros & Leung 1999 sample among the
    /// near-best matches; the median keeps it deterministic). The centre is
    /// not part of the comparison, so a single best match may carry a rare
    /// object (a bird, a lamp) whose surroundings look like the hole's
    /// edge; K candidates outvote it. Neighbours continue the best one.
    static func fill(_ target: inout FloatImage, hole: [Float], atlas: SourceAtlas, seed: UInt64, threads: Int, consensus K: Int = 1) {
        let w = target.width, h = target.height, C = target.channels
        let p = atlas.patch, r = p / 2
        let W = atlas.width, sPlane = atlas.image.planeSize, tPlane = target.planeSize
        let list = atlas.validList
        guard !list.isEmpty, C == atlas.image.channels else { return }
        var filled = hole.map { $0 < 0.999 }
        let missing = filled.reduce(0) { $0 + ($1 ? 0 : 1) }
        guard missing > 0, missing < filled.count else { return }
        // Atlas index of the pixel each filled hole pixel was copied from
        // (-1: a known pixel), so that neighbours can continue the same
        // source region instead of restarting a collage at every pixel.
        var copiedFrom = [Int32](repeating: -1, count: w * h)
        let step = max(1, (missing * list.count + evaluationBudget - 1) / evaluationBudget)

        var frontier = border(filled, width: w, height: h)
        while !frontier.isEmpty {
            var chosen = [Int32](repeating: -1, count: frontier.count)
            var values = [Float](repeating: 0, count: frontier.count * C)
            let chunks = (frontier.count + 31) / 32
            target.data.withUnsafeBufferPointer { tBuf in
            atlas.image.data.withUnsafeBufferPointer { sBuf in
            chosen.withUnsafeMutableBufferPointer { chosenBuf in
            values.withUnsafeMutableBufferPointer { valuesBuf in
                let out = SharedBuffer(chosenBuf), outValues = SharedBuffer(valuesBuf)
                let t = tBuf.baseAddress!, s = sBuf.baseAddress!
                RowBands.run(chunks, threads: threads) { chunk in
                    var tOff: [Int] = [], sOff: [Int] = []
                    tOff.reserveCapacity(p * p); sOff.reserveCapacity(p * p)
                    for k in (chunk * 32)..<min(frontier.count, chunk * 32 + 32) {
                        let b = frontier[k], bx = b % w, by = b / w
                        // The known part of the patch centred on b.
                        tOff.removeAll(keepingCapacity: true); sOff.removeAll(keepingCapacity: true)
                        for dy in 0..<p {
                            let y = by - r + dy
                            guard y >= 0 && y < h else { continue }
                            for dx in 0..<p {
                                let x = bx - r + dx
                                guard x >= 0 && x < w, filled[y * w + x] else { continue }
                                tOff.append(y * w + x); sOff.append(dy * W + dx)
                            }
                        }
                        func cost(_ corner: Int, _ bound: Float) -> Float {
                            var d = atlas.penalty[Int(atlas.rowExemplar[corner / W])]
                            for c in 0..<C {
                                let tc = t + c * tPlane, sc = s + c * sPlane + corner
                                for i in 0..<tOff.count {
                                    let e = tc[tOff[i]] - sc[sOff[i]]
                                    d += e * e
                                }
                                if d >= bound { return d }
                            }
                            return d
                        }
                        var best = -1
                        // The K best distinct candidates, ascending by distance.
                        var topD = [Float](), topC = [Int]()
                        func consider(_ corner: Int) {
                            guard corner >= 0 && corner < atlas.valid.count, atlas.valid[corner] else { return }
                            let bound = topD.count < K ? Float.infinity : topD[K - 1]
                            let d = cost(corner, bound)
                            guard d < bound, !topC.contains(corner) else { return }
                            var j = topD.count
                            while j > 0 && topD[j - 1] > d { j -= 1 }
                            topD.insert(d, at: j); topC.insert(corner, at: j)
                            if topD.count > K { topD.removeLast(); topC.removeLast() }
                            best = topC[0]
                        }
                        // Continuations of the neighbours' sources first: they
                        // set a tight bound that most other candidates fail early.
                        for ny in max(0, by - 1)...min(h - 1, by + 1) {
                            for nx in max(0, bx - 1)...min(w - 1, bx + 1) {
                                let src = copiedFrom[ny * w + nx]
                                guard src >= 0 else { continue }
                                let centre = Int(src) + (by - ny) * W + (bx - nx)
                                consider(centre - r * W - r)
                            }
                        }
                        var rng = SplitMix64(seed: seed, stream: 0x0A10, UInt64(b))
                        var i = step > 1 ? rng.below(step) : 0
                        while i < list.count { consider(Int(list[i])); i += step }
                        if step > 1 && best >= 0 {
                            // The thinned search lands near the best; finish with
                            // a random search of halving radius around it (Barnes
                            // et al. 2009, §3.2), a few draws per radius.
                            let bx0 = best % W, by0 = best / W
                            var radius = step
                            while radius >= 1 {
                                for _ in 0..<3 {
                                    let x = bx0 + rng.below(2 * radius + 1) - radius
                                    let y = by0 + rng.below(2 * radius + 1) - radius
                                    if x >= 0 && x < W && y >= 0 { consider(y * W + x) }
                                }
                                radius /= 2
                            }
                        }
                        out[k] = Int32(best)
                        // Per channel, the median of the K best candidates'
                        // centre pixels: a rare object's pixel that happens to
                        // sit in a well-matching patch is outvoted.
                        var vals = [Float](repeating: 0, count: topC.count)
                        for c in 0..<C where !topC.isEmpty {
                            for (j, corner) in topC.enumerated() { vals[j] = s[c * sPlane + corner + r * W + r] }
                            vals.sort()
                            outValues[k * C + c] = vals[vals.count / 2]
                        }
                    }
                }
            }
            }
            }
            }
            // Written after the whole ring is matched, so that the result does
            // not depend on the order (or thread) in which pixels were visited.
            for (k, b) in frontier.enumerated() {
                filled[b] = true
                guard chosen[k] >= 0 else { continue }
                let centre = Int(chosen[k]) + r * W + r
                copiedFrom[b] = Int32(centre)
                for c in 0..<C { target.data[c * tPlane + b] = values[k * C + c] }
            }
            frontier = border(filled, width: w, height: h)
        }
    }

    /// Unfilled pixels with a filled 8-neighbour, in raster order.
    static func border(_ filled: [Bool], width w: Int, height h: Int) -> [Int] {
        var out: [Int] = []
        for y in 0..<h {
            for x in 0..<w where !filled[y * w + x] {
                var touches = false
                for ny in max(0, y - 1)...min(h - 1, y + 1) where !touches {
                    for nx in max(0, x - 1)...min(w - 1, x + 1) where filled[ny * w + nx] { touches = true; break }
                }
                if touches { out.append(y * w + x) }
            }
        }
        return out
    }
}
