import Foundation

/// For every target patch (named by its top-left corner) the best source
/// patch found so far in a `SourceAtlas`, found by PatchMatch
/// (Barnes et al. 2009, "PatchMatch: a randomized correspondence algorithm
/// for structural image editing", §3).
struct NearestNeighbourField {
    let width: Int, height: Int, patch: Int
    /// Per target corner (y * width + x): atlas corner index, or -1.
    var match: [Int32]
    /// Patch distance of `match` (SSD over the patch and channels + the
    /// exemplar's weighting penalty).
    var dist: [Float]
    /// Corners that need a match: patches touching at least one pixel to
    /// regenerate. The others only cover fixed pixels.
    let active: [Bool]

    /// Band height in corner rows: fixed, so results do not depend on threads.
    static let bandRows = 16

    init(width: Int, height: Int, patch: Int, active: [Bool]) {
        self.width = width; self.height = height; self.patch = patch; self.active = active
        match = [Int32](repeating: -1, count: width * height)
        dist = [Float](repeating: .infinity, count: width * height)
    }

    /// Rows and columns of corners: every p×p window inside the target.
    var cornerCols: Int { width - patch + 1 }
    var cornerRows: Int { height - patch + 1 }

    /// Corners whose patch overlaps a pixel with `mask > 0`.
    static func activeCorners(mask: [Float], width w: Int, height h: Int, patch p: Int) -> [Bool] {
        WindowSums.corners(width: w, height: h, patch: p) { mask[$0] > 1e-4 ? 1 : 0 }.map { $0 > 0 }
    }
}

enum PatchMatch {
    /// SSD between the target patch at corner `ti` and the source patch at
    /// corner `si`, over all channels; stops as soon as it exceeds `bound`
    /// (the caller only wants to know whether it beats its best), checked
    /// after every row: most candidates lose within a row or two. Rows are read four floats at a time, the last
    /// chunk overlapping the previous one with the overlap masked out, so
    /// nothing past a row's end is read and no scalar tail loop is needed.
    @inline(__always)
    static func ssd(_ t: UnsafePointer<Float>, tw: Int, tPlane: Int, ti: Int,
                    _ s: UnsafePointer<Float>, sw: Int, sPlane: Int, si: Int,
                    patch p: Int, channels: Int, bound: Float) -> Float {
        if p == 7 { return ssd7(t, tw: tw, tPlane: tPlane, ti: ti, s, sw: sw, sPlane: sPlane, si: si, channels: channels, bound: bound) }
        var d: Float = 0
        for c in 0..<channels {
            var tp = t + c * tPlane + ti
            var sp = s + c * sPlane + si
            for _ in 0..<p {
                var row: Float = 0
                for dx in 0..<p {
                    let e = tp[dx] - sp[dx]
                    row += e * e
                }
                d += row
                if d >= bound { return d }
                tp += tw; sp += sw
            }
        }
        return d
    }

    /// `ssd` for the default 7×7 patch: lanes 0–3 and 3–6 of each row, lane 3 counted once.
    @inline(__always)
    static func ssd7(_ t: UnsafePointer<Float>, tw: Int, tPlane: Int, ti: Int,
                     _ s: UnsafePointer<Float>, sw: Int, sPlane: Int, si: Int,
                     channels: Int, bound: Float) -> Float {
        let tail = SIMD4<Float>(0, 1, 1, 1)
        var d: Float = 0
        for c in 0..<channels {
            var tp = UnsafeRawPointer(t + c * tPlane + ti)
            var sp = UnsafeRawPointer(s + c * sPlane + si)
            for _ in 0..<7 {
                let a = tp.loadUnaligned(as: SIMD4<Float>.self) - sp.loadUnaligned(as: SIMD4<Float>.self)
                let b = (tp.loadUnaligned(fromByteOffset: 12, as: SIMD4<Float>.self)
                         - sp.loadUnaligned(fromByteOffset: 12, as: SIMD4<Float>.self)) * tail
                d += (a * a + b * b).sum()
                if d >= bound { return d }
                tp += tw * 4; sp += sw * 4
            }
        }
        return d
    }

    /// Gives every active corner without a valid match a uniformly random one.
    static func randomise(_ nnf: inout NearestNeighbourField, atlas: SourceAtlas, seed: UInt64, stream: UInt64) {
        let list = atlas.validList
        guard !list.isEmpty else { return }
        var rng = SplitMix64(seed: seed, stream: stream)
        for i in 0..<nnf.match.count where nnf.active[i] {
            let m = nnf.match[i]
            if m < 0 || !atlas.valid[Int(m)] { nnf.match[i] = list[rng.below(list.count)] }
        }
    }

    /// `iterations` rounds of propagation and random search over the active
    /// corners (Barnes et al. 2009, §3.2), after re-measuring every current
    /// match against the (changed) target and trying, for each corner, the
    /// source patch at each of `offsets` from it (the atlas's first
    /// exemplar, which must then be the target's own image: inpainting's
    /// dominant offsets, see `DominantOffsets`). Corner rows are cut into fixed
    /// bands searched in parallel; propagation stays inside a band so a band
    /// never reads what another is writing.
    static func improve(_ nnf: inout NearestNeighbourField, target: FloatImage, atlas: SourceAtlas,
                        iterations: Int, maxRadius radiusCap: Int? = nil, offsets: [(dx: Int, dy: Int)] = [],
                        seed: UInt64, stream: UInt64, threads: Int) {
        let p = nnf.patch, C = target.channels
        let tw = target.width, tPlane = target.planeSize
        let sw = atlas.width, sh = atlas.height, sPlane = atlas.image.planeSize
        let cols = nnf.cornerCols
        let bands = RowBands.bands(rows: max(0, nnf.cornerRows), height: NearestNeighbourField.bandRows)
        let list = atlas.validList
        guard !list.isEmpty, cols > 0 else { return }
        let maxRadius = min(max(sw, sh), radiusCap ?? Int.max)
        let firstHeight = atlas.frames[0].h
        target.data.withUnsafeBufferPointer { tBuf in
        atlas.image.data.withUnsafeBufferPointer { sBuf in
        atlas.valid.withUnsafeBufferPointer { valid in
        atlas.rowExemplar.withUnsafeBufferPointer { rowEx in
        atlas.penalty.withUnsafeBufferPointer { penalty in
        nnf.active.withUnsafeBufferPointer { active in
        nnf.match.withUnsafeMutableBufferPointer { mBuf in
        nnf.dist.withUnsafeMutableBufferPointer { dBuf in
            let match = SharedBuffer(mBuf), dist = SharedBuffer(dBuf)
            let t = tBuf.baseAddress!, s = sBuf.baseAddress!
            @inline(__always) func cost(_ ti: Int, _ si: Int, _ bound: Float) -> Float {
                let pen = penalty[Int(rowEx[si / sw])]
                return pen + ssd(t, tw: tw, tPlane: tPlane, ti: ti, s, sw: sw, sPlane: sPlane, si: si,
                                 patch: p, channels: C, bound: bound - pen)
            }
            RowBands.run(bands.count, threads: threads) { b in
                let rows = bands[b]
                var rng = SplitMix64(seed: seed, stream: stream, UInt64(b))
                for y in rows {
                    for x in 0..<cols {
                        let i = y * tw + x
                        guard active[i] else { continue }
                        match[i] = max(0, match[i])
                        dist[i] = cost(i, Int(match[i]), .infinity)
                    }
                }
                if iterations > 0 && !offsets.isEmpty {
                    for y in rows {
                        for x in 0..<cols {
                            let i = y * tw + x
                            guard active[i] else { continue }
                            var best = Int(match[i]), bestD = dist[i]
                            for o in offsets {
                                let sx = x + o.dx, sy = y + o.dy
                                guard sx >= 0 && sx < sw && sy >= 0 && sy < firstHeight else { continue }
                                let cand = sy * sw + sx
                                guard cand != best && valid[cand] else { continue }
                                let d = cost(i, cand, bestD)
                                if d < bestD { best = cand; bestD = d }
                            }
                            match[i] = Int32(best); dist[i] = bestD
                        }
                    }
                }
                for it in 0..<iterations {
                    let forward = it % 2 == 0
                    let dir = forward ? 1 : -1
                    let ys: [Int] = forward ? Array(rows) : rows.reversed()
                    for y in ys {
                        var x = forward ? 0 : cols - 1
                        while x >= 0 && x < cols {
                            defer { x += dir }
                            let i = y * tw + x
                            guard active[i] else { continue }
                            var best = Int(match[i]), bestD = dist[i]
                            // Propagation: the neighbour already visited in scan order, shifted back.
                            let nx = x - dir
                            if nx >= 0 && nx < cols && active[i - dir] {
                                let m = Int(match[i - dir]), mx = m % sw
                                if mx + dir >= 0 && mx + dir < sw {
                                    let cand = m + dir
                                    if cand != best && valid[cand] {
                                        let d = cost(i, cand, bestD)
                                        if d < bestD { best = cand; bestD = d }
                                    }
                                }
                            }
                            let ny = y - dir
                            if ny >= rows.lowerBound && ny < rows.upperBound && active[i - dir * tw] {
                                let m = Int(match[i - dir * tw]), my = m / sw
                                if my + dir >= 0 && my + dir < sh {
                                    let cand = m + dir * sw
                                    if cand != best && valid[cand] {
                                        let d = cost(i, cand, bestD)
                                        if d < bestD { best = cand; bestD = d }
                                    }
                                }
                            }
                            // Random search in windows halving around the best (§3.2, α = 1/2),
                            // plus one draw from anywhere, which lets a field cross exemplars.
                            var r = maxRadius
                            while r >= 1 {
                                let bx = best % sw, by = best / sw
                                let cx = min(max(bx + rng.below(2 * r + 1) - r, 0), sw - 1)
                                let cy = min(max(by + rng.below(2 * r + 1) - r, 0), sh - 1)
                                let cand = cy * sw + cx
                                if cand != best && valid[cand] {
                                    let d = cost(i, cand, bestD)
                                    if d < bestD { best = cand; bestD = d }
                                }
                                r /= 2
                            }
                            let cand = Int(list[rng.below(list.count)])
                            if cand != best {
                                let d = cost(i, cand, bestD)
                                if d < bestD { best = cand; bestD = d }
                            }
                            match[i] = Int32(best); dist[i] = bestD
                        }
                    }
                }
            }
        }}}}}}}}
    }
}
