import Foundation

/// Rebuilds pixels from a nearest-neighbour field: every pixel becomes the
/// weighted mean of what the source patches covering it say it should be
/// (Wexler, Shechtman & Irani 2007, "Space-time completion of video", §3.1).
enum PatchVoting {
    /// Updates `target` in place for pixels with `mask > 0`, blending the
    /// vote with `known` by the mask value (soft masks), so fixed pixels
    /// stay fixed at every level. Only the first `channels` channels are
    /// rebuilt (the last vote's texture features would go unused).
    static func vote(_ nnf: NearestNeighbourField, atlas: SourceAtlas, target: inout FloatImage,
                     mask: [Float], known: FloatImage?, sharpness: Float, confidence: [Float]? = nil,
                     channels: Int? = nil, threads: Int) {
        let p = nnf.patch, C = target.channels
        let V = min(C, channels ?? C)
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
                let typical = max(select(&ds, rank: ds.count * 3 / 4), Float(p * p * C))
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
                        if let confidence { w *= confidence[ci] }
                        cw[ci] = w
                    }
                }
            }
        }
        let bands = RowBands.bands(rows: th, height: 16)
        if winnerTakesAll {
            voteBest(nnf, atlas: atlas, target: &target, mask: mask, known: known, channels: V, bands: bands, threads: threads)
            return
        }
        nnf.match.withUnsafeBufferPointer { match in
        atlas.image.data.withUnsafeBufferPointer { src in
        mask.withUnsafeBufferPointer { mask in
        cornerWeight.withUnsafeBufferPointer { cornerWeight in
        target.data.withUnsafeMutableBufferPointer { outBuf in
            let out = SharedBuffer(outBuf)
            let knownData = known?.data
            RowBands.run(bands.count, threads: threads) { b in
                // One output row at a time: each corner row covering it adds
                // one row of each of its patches into per-row accumulators
                // (rows regenerated whole; partly masked rows gather per pixel).
                // Offset-major (dx outer, corners inner) so that consecutive
                // adds hit different accumulator cells: no chain of
                // read-modify-writes on one cell, which is what makes the
                // per-pixel gather (and a per-patch scatter) slow.
                var acc = [Float](repeating: 0, count: V * tw)
                var wsum = [Float](repeating: 0, count: tw)
                var lx = [Int](repeating: 0, count: cols), lb = lx
                var lw = [Float](repeating: 0, count: cols)
                acc.withUnsafeMutableBufferPointer { accBuf in
                wsum.withUnsafeMutableBufferPointer { wsBuf in
                lx.withUnsafeMutableBufferPointer { lx in
                lb.withUnsafeMutableBufferPointer { lb in
                lw.withUnsafeMutableBufferPointer { lw in
                    let a = accBuf.baseAddress!, ws = wsBuf.baseAddress!
                    let s = src.baseAddress!
                    for y in bands[b] {
                        let py0 = max(0, y - p + 1), py1 = min(y, rows - 1)
                        guard py0 <= py1 else { continue }
                        var masked = 0
                        for x in 0..<tw where mask[y * tw + x] > 0 { masked += 1 }
                        guard masked > 0 else { continue }
                        if masked < tw {
                            // A row only partly regenerated (a hole's edge): the
                            // whole-row sums would mostly land on fixed pixels.
                            gatherRow(y, tw: tw, tPlane: tPlane, rows: rows, cols: cols, patch: p, channels: V,
                                      match: match.baseAddress!, weights: cornerWeight.baseAddress!, mask: mask.baseAddress!,
                                      s, sw: sw, sPlane: sPlane, scratch: a, known: knownData, out: out)
                            continue
                        }
                        accBuf.update(repeating: 0)
                        wsBuf.update(repeating: 0)
                        for py in py0...py1 {
                            let dy = y - py
                            var n = 0
                            for px in 0..<cols {
                                let ci = py * tw + px
                                let w = cornerWeight[ci]
                                guard w > 0 else { continue }
                                lx[n] = px; lw[n] = w; lb[n] = Int(match[ci]) + dy * sw
                                n += 1
                            }
                            // Every corner of the row active (always, when
                            // varying a whole image): no index indirection.
                            let dense = n == cols
                            if dense && p == 7 {
                                slideRow(a, stride: tw, s, sPlane: sPlane, bases: lb.baseAddress!, weights: lw.baseAddress!,
                                         count: n, channels: V)
                                for dx in 0..<p {
                                    for k in 0..<n { ws[k + dx] += lw[k] }
                                }
                                continue
                            }
                            for dx in 0..<p {
                                for c in 0..<V {
                                    let ap = a + c * tw + dx, sp = s + c * sPlane + dx
                                    if dense {
                                        for k in 0..<n { ap[k] += lw[k] * sp[lb[k]] }
                                    } else {
                                        for k in 0..<n { ap[lx[k]] += lw[k] * sp[lb[k]] }
                                    }
                                }
                                for k in 0..<n { ws[lx[k] + dx] += lw[k] }
                            }
                        }
                        for x in 0..<tw {
                            let pi = y * tw + x
                            let m = mask[pi]
                            guard m > 0, ws[x] > 0 else { continue }
                            let inv = 1 / ws[x]
                            for c in 0..<V {
                                let v = a[c * tw + x] * inv
                                if let knownData {
                                    out[c * tPlane + pi] = m * v + (1 - m) * knownData[c * tPlane + pi]
                                } else {
                                    out[c * tPlane + pi] = v
                                }
                            }
                        }
                    }
                }}}}}
            }
        }}}}}
    }

    /// The corners (rows `ys`, columns `xs`) whose patches cover pixel
    /// (x, y), or nil where none does.
    @inline(__always)
    private static func covering(x: Int, y: Int, patch p: Int, rows: Int, cols: Int)
        -> (ys: ClosedRange<Int>, xs: ClosedRange<Int>)? {
        let py0 = max(0, y - p + 1), py1 = min(y, rows - 1)
        let px0 = max(0, x - p + 1), px1 = min(x, cols - 1)
        guard py0 <= py1 && px0 <= px1 else { return nil }
        return (py0...py1, px0...px1)
    }

    /// The vote for the masked pixels of row `y`, one pixel at a time: the
    /// weighted mean over the corners covering it (`scratch`: V floats).
    @inline(__always)
    private static func gatherRow(_ y: Int, tw: Int, tPlane: Int, rows: Int, cols: Int, patch p: Int, channels V: Int,
                                  match: UnsafePointer<Int32>, weights: UnsafePointer<Float>, mask: UnsafePointer<Float>,
                                  _ s: UnsafePointer<Float>, sw: Int, sPlane: Int, scratch acc: UnsafeMutablePointer<Float>,
                                  known: [Float]?, out: SharedBuffer<Float>) {
        for x in 0..<tw {
            let pi = y * tw + x
            let m = mask[pi]
            guard m > 0, let (ys, xs) = covering(x: x, y: y, patch: p, rows: rows, cols: cols) else { continue }
            for c in 0..<V { acc[c] = 0 }
            var wsum: Float = 0
            for py in ys {
                for px in xs {
                    let ci = py * tw + px
                    let w = weights[ci]
                    guard w > 0 else { continue }
                    let si = Int(match[ci]) + (y - py) * sw + (x - px)
                    for c in 0..<V { acc[c] += w * s[c * sPlane + si] }
                    wsum += w
                }
            }
            guard wsum > 0 else { continue }
            for c in 0..<V {
                let v = acc[c] / wsum
                if let known {
                    out[c * tPlane + pi] = m * v + (1 - m) * known[c * tPlane + pi]
                } else {
                    out[c * tPlane + pi] = v
                }
            }
        }
    }

    /// Adds one row of each of `count` consecutive 7-wide patches (corner k
    /// covers accumulator cells k…k+6, weighted `weights[k]`, its pixels at
    /// `s + bases[k]`) to the accumulator rows. The cells still open are
    /// kept in registers as a sliding window: cell k is complete once
    /// corner k is added, so it leaves the window into memory and the
    /// window shifts by one; every source row is read as two SIMD4 loads.
    @inline(__always)
    private static func slideRow(_ a: UnsafeMutablePointer<Float>, stride tw: Int, _ s: UnsafePointer<Float>, sPlane: Int,
                                 bases: UnsafePointer<Int>, weights: UnsafePointer<Float>, count n: Int, channels V: Int) {
        for c in 0..<V {
            let ap = a + c * tw, sp = s + c * sPlane
            var lo = SIMD4<Float>(), hi = SIMD4<Float>()  // cells k…k+3, k+4…k+7
            for k in 0..<n {
                let src = UnsafeRawPointer(sp + bases[k])
                let w = weights[k]
                let r0 = src.loadUnaligned(as: SIMD4<Float>.self)
                let r3 = src.loadUnaligned(fromByteOffset: 12, as: SIMD4<Float>.self)  // pixels 3…6
                lo += w * r0
                hi += w * SIMD4(r3[1], r3[2], r3[3], 0)
                ap[k] += lo[0]
                lo = SIMD4(lo[1], lo[2], lo[3], hi[0])
                hi = SIMD4(hi[1], hi[2], hi[3], 0)
            }
            // Cells n…n+5: the last corner's tail.
            for j in 0..<4 { ap[n + j] += lo[j] }
            for j in 0..<2 { ap[n + 4 + j] += hi[j] }
        }
    }

    /// The value `a.sorted()[rank]` would hold, in linear expected time
    /// (Hoare's quickselect; the pivot is the middle element, so it is
    /// deterministic). Reorders `a`.
    static func select(_ a: inout [Float], rank: Int) -> Float {
        a.withUnsafeMutableBufferPointer { a in
            var lo = 0, hi = a.count - 1
            while lo < hi {
                let pivot = a[lo + (hi - lo) / 2]
                var i = lo, j = hi
                while i <= j {
                    while a[i] < pivot { i += 1 }
                    while a[j] > pivot { j -= 1 }
                    if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
                }
                if rank <= j { hi = j } else if rank >= i { lo = i } else { return a[rank] }
            }
            return a[rank]
        }
    }

    /// The final vote at infinite sharpness: the single best-matching patch
    /// covering a pixel decides, no averaging, no blur.
    private static func voteBest(_ nnf: NearestNeighbourField, atlas: SourceAtlas, target: inout FloatImage,
                                 mask: [Float], known: FloatImage?, channels C: Int, bands: [Range<Int>], threads: Int) {
        let p = nnf.patch
        let tw = target.width, tPlane = target.planeSize
        let sw = atlas.width, sPlane = atlas.image.planeSize
        let cols = nnf.cornerCols, rows = nnf.cornerRows
        nnf.match.withUnsafeBufferPointer { match in
        nnf.dist.withUnsafeBufferPointer { dist in
        nnf.active.withUnsafeBufferPointer { active in
        atlas.image.data.withUnsafeBufferPointer { src in
        atlas.rowExemplar.withUnsafeBufferPointer { rowEx in
        atlas.voteWeight.withUnsafeBufferPointer { voteWeight in
        mask.withUnsafeBufferPointer { mask in
        target.data.withUnsafeMutableBufferPointer { outBuf in
            let out = SharedBuffer(outBuf)
            RowBands.run(bands.count, threads: threads) { b in
                for y in bands[b] {
                    for x in 0..<tw {
                        let pi = y * tw + x
                        let m = mask[pi]
                        guard m > 0, let (ys, xs) = covering(x: x, y: y, patch: p, rows: rows, cols: cols) else { continue }
                        var bestD = Float.infinity, bestS = -1
                        for py in ys {
                            for px in xs {
                                let ci = py * tw + px
                                guard active[ci], match[ci] >= 0 else { continue }
                                let d = dist[ci] / voteWeight[Int(rowEx[Int(match[ci]) / sw])]
                                if d < bestD { bestD = d; bestS = Int(match[ci]) + (y - py) * sw + (x - px) }
                            }
                        }
                        guard bestS >= 0 else { continue }
                        for c in 0..<C {
                            let v = src[c * sPlane + bestS]
                            if let known {
                                out[c * tPlane + pi] = m * v + (1 - m) * known.data[c * tPlane + pi]
                            } else {
                                out[c * tPlane + pi] = v
                            }
                        }
                    }
                }
            }
        }}}}}}}}
    }
}
