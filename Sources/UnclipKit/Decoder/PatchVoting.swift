import Foundation

/// Rebuilds pixels from a nearest-neighbour field: every pixel becomes the
/// weighted mean of what the source patches covering it say it should be
/// (Wexler, Shechtman & Irani 2007, "Space-time completion of video", §3.1).
enum PatchVoting {
    /// Updates `target` in place for pixels with `mask > 0`, blending the
    /// vote with `known` by the mask value (soft masks), so fixed pixels
    /// stay fixed at every level.
    static func vote(_ nnf: NearestNeighbourField, atlas: SourceAtlas, target: inout FloatImage,
                     mask: [Float], known: FloatImage?, sharpness: Float, threads: Int) {
        let p = nnf.patch, C = target.channels
        let tw = target.width, th = target.height, tPlane = target.planeSize
        let sw = atlas.width, sPlane = atlas.image.planeSize
        let cols = nnf.cornerCols, rows = nnf.cornerRows
        guard cols > 0, rows > 0 else { return }
        // Wexler's similarity weights, exp(-d / 2σ²), with σ² tied to a
        // robust typical distance so that they adapt to each level's
        // contrast; sharpness 0 means plain averaging.
        var invTwoSigma2: Float = 0
        let winnerTakesAll = sharpness == .infinity
        if sharpness > 0 && !winnerTakesAll {
            var ds: [Float] = []
            ds.reserveCapacity(nnf.match.count / 4)
            var k = 0
            for i in 0..<nnf.dist.count where nnf.active[i] && nnf.dist[i].isFinite {
                if k % 4 == 0 { ds.append(nnf.dist[i]) }
                k += 1
            }
            if !ds.isEmpty {
                ds.sort()
                let typical = max(ds[ds.count * 3 / 4], Float(p * p * C))
                invTwoSigma2 = sharpness / (2 * typical)
            }
        }
        // One weight per corner, computed once rather than once per covered pixel.
        var cornerWeight = [Float](repeating: 0, count: nnf.match.count)
        let cornerBands = RowBands.bands(rows: rows, height: 16)
        cornerWeight.withUnsafeMutableBufferPointer { cwBuf in
            let cw = SharedBuffer(cwBuf)
            RowBands.run(cornerBands.count, threads: threads) { b in
                for py in cornerBands[b] {
                    for px in 0..<cols {
                        let ci = py * tw + px
                        let sm = Int(nnf.match[ci])
                        guard nnf.active[ci], sm >= 0 else { continue }
                        var w = atlas.voteWeight[Int(atlas.rowExemplar[sm / sw])]
                        if invTwoSigma2 > 0 { w *= exp(-nnf.dist[ci] * invTwoSigma2) + 1e-6 }
                        cw[ci] = w
                    }
                }
            }
        }
        let bands = RowBands.bands(rows: th, height: 16)
        nnf.match.withUnsafeBufferPointer { match in
        nnf.dist.withUnsafeBufferPointer { dist in
        nnf.active.withUnsafeBufferPointer { active in
        atlas.image.data.withUnsafeBufferPointer { src in
        atlas.rowExemplar.withUnsafeBufferPointer { rowEx in
        atlas.voteWeight.withUnsafeBufferPointer { voteWeight in
        mask.withUnsafeBufferPointer { mask in
        cornerWeight.withUnsafeBufferPointer { cornerWeight in
        target.data.withUnsafeMutableBufferPointer { outBuf in
            let out = SharedBuffer(outBuf)
            RowBands.run(bands.count, threads: threads) { b in
                var acc = [Float](repeating: 0, count: C)
                for y in bands[b] {
                    let py0 = max(0, y - p + 1), py1 = min(y, rows - 1)
                    for x in 0..<tw {
                        let pi = y * tw + x
                        let m = mask[pi]
                        guard m > 0 else { continue }
                        let px0 = max(0, x - p + 1), px1 = min(x, cols - 1)
                        for c in 0..<C { acc[c] = 0 }
                        var wsum: Float = 0
                        if winnerTakesAll && py0 <= py1 && px0 <= px1 {
                            // The single best-matching patch decides: no averaging, no blur.
                            var bestD = Float.infinity, bestS = -1
                            for py in py0...py1 {
                                for px in px0...px1 {
                                    let ci = py * tw + px
                                    guard active[ci], match[ci] >= 0 else { continue }
                                    let d = dist[ci] / voteWeight[Int(rowEx[Int(match[ci]) / sw])]
                                    if d < bestD { bestD = d; bestS = Int(match[ci]) + (y - py) * sw + (x - px) }
                                }
                            }
                            if bestS >= 0 {
                                for c in 0..<C { acc[c] = src[c * sPlane + bestS] }
                                wsum = 1
                            }
                        } else if py0 <= py1 && px0 <= px1 {
                            for py in py0...py1 {
                                for px in px0...px1 {
                                    let ci = py * tw + px
                                    let w = cornerWeight[ci]
                                    guard w > 0 else { continue }
                                    let sm = Int(match[ci])
                                    let si = sm + (y - py) * sw + (x - px)
                                    for c in 0..<C { acc[c] += w * src[c * sPlane + si] }
                                    wsum += w
                                }
                            }
                        }
                        guard wsum > 1e-12 else { continue }
                        for c in 0..<C {
                            let v = acc[c] / wsum
                            if let known {
                                out[c * tPlane + pi] = m * v + (1 - m) * known.data[c * tPlane + pi]
                            } else {
                                out[c * tPlane + pi] = v
                            }
                        }
                    }
                }
            }
        }}}}}}}}}
    }
}
