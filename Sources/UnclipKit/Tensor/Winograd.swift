import Dispatch

/// 3×3 convolutions with stride 1 and padding 1 by Winograd's minimal
/// filtering F(4×4, 3×3) (Lavin & Gray 2016, "Fast Algorithms for
/// Convolutional Neural Networks", §4): each 4×4 block of outputs costs 36
/// multiplications per channel pair instead of 144. The image is cut into
/// 6×6 input tiles overlapping by 2; tiles and filters are transformed
/// (V = Bᵀ d B, U = G g Gᵀ), multiplied as 36 independent products
/// M_k = U_k · V_k over the channels, and transformed back (Y = Aᵀ M A).
/// The transforms use the interpolation points 0, ±1, ±2 and ∞, whose
/// rounding error stays within float's at the activations' scale.
extension Conv2d {
    /// Whether `forward` takes this path: 3×3, stride 1, padding 1, and
    /// enough 4×4 tiles (over the whole batch) that the per-call filter transform (about 300
    /// operations per channel pair) pays for itself against the products it saves.
    func usesWinograd(height h: Int, width w: Int, batch: Int = 1) -> Bool {
        kh == 3 && kw == 3 && stride == 1 && padding == (1, 1, 1, 1)
            && batch * ((h + 3) / 4) * ((w + 3) / 4) >= Conv2d.winogradMinTiles
    }

    /// U [36, Cout, Cin] = G g Gᵀ for every filter g [3, 3], made per call:
    /// cached, it would hold four times the weights. Eight input channels go
    /// at a time, one per SIMD lane, so each of the 36 results is stored as
    /// eight contiguous floats.
    /// (Output channels `channels` only: U [36, |channels|, Cin].)
    func winogradFilters(_ channels: Range<Int>, into u: UnsafeMutablePointer<Float>) {
        let cin = inChannels, plane = channels.count * cin
        typealias V = SIMD8<Float>
        // G's rows: (1/4, 0, 0), −(1, 1, 1)/6, −(1, −1, 1)/6, (1/24, 1/12, 1/6), (1/24, −1/12, 1/6), (0, 0, 1).
        @inline(__always) func g6(_ a: V, _ b: V, _ c: V) -> (V, V, V, V, V, V) {
            let s = a + c, q = a * (1 / 24) + c * (1 / 6), r = b * (1 / 12)
            return (a * 0.25, (s + b) * (-1 / 6), (s - b) * (-1 / 6), q + r, q - r, c)
        }
        let padded = (cin + 7) / 8 * 8
        Parallel.rows(channels.count, minRows: 1) { range in
            // One output channel's filters with the taps outermost, [9, Cin]: a
            // plain strided copy, after which every tap of eight filters is one load.
            let taps = UnsafeMutablePointer<Float>.allocate(capacity: 9 * padded)
            defer { taps.deallocate() }
            taps.initialize(repeating: 0, count: 9 * padded)
            let tr = UnsafeRawPointer(taps)
            for row in range {
                let co = channels.lowerBound + row
                let src = weight.data + co * cin * 9
                for j in 0..<9 { for i in 0..<cin { taps[j * padded + i] = src[i * 9 + j] } }
                var ci = 0
                while ci < cin {
                    let lanes = min(8, cin - ci)
                    // Tap j of filters ci ..< ci + 8, one per lane.
                    @inline(__always) func tap(_ j: Int) -> V { tr.loadUnaligned(fromByteOffset: 4 * (j * padded + ci), as: V.self) }
                    let gv = (tap(0), tap(1), tap(2), tap(3), tap(4), tap(5), tap(6), tap(7), tap(8))
                    // G g: the three columns of g, each to six values; then each of those six rows through G again.
                    let c0 = g6(gv.0, gv.3, gv.6), c1 = g6(gv.1, gv.4, gv.7), c2 = g6(gv.2, gv.5, gv.8)
                    let o = u + row * cin + ci
                    @inline(__always) func store(_ r: Int, _ out: (V, V, V, V, V, V)) {
                        @inline(__always) func put(_ c: Int, _ v: V) {
                            let dst = o + (6 * r + c) * plane
                            if lanes == 8 {
                                UnsafeMutableRawPointer(dst).storeBytes(of: v, as: V.self)
                            } else {
                                for l in 0..<lanes { dst[l] = v[l] }
                            }
                        }
                        put(0, out.0); put(1, out.1); put(2, out.2); put(3, out.3); put(4, out.4); put(5, out.5)
                    }
                    store(0, g6(c0.0, c1.0, c2.0)); store(1, g6(c0.1, c1.1, c2.1)); store(2, g6(c0.2, c1.2, c2.2))
                    store(3, g6(c0.3, c1.3, c2.3)); store(4, g6(c0.4, c1.4, c2.4)); store(5, g6(c0.5, c1.5, c2.5))
                    ci += 8
                }
            }
        }
    }

    /// y [B, Cout, H, W] (=, or += with `accumulate`) conv(x [B, Cin, H, W]) + bias, by F(4×4, 3×3).
    /// The batch's tile rows are numbered one after the other (image i's
    /// rows from i·⌈H/4⌉), so its images share the filter transform and the products.
    func forwardWinograd(_ x: UnsafePointer<Float>, batch: Int, height h: Int, width w: Int,
                         into y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let cin = inChannels, cout = outChannels
        let th = (h + 3) / 4 * batch, tw = (w + 3) / 4
        // Output channels go in blocks whose transformed filters stay within
        // 64 MB (a 1152-channel layer's whole set would be 382 MB); the
        // tiles are transformed again for each block, which costs far less.
        let block = max(16, min(cout, Conv2d.winogradFilterBytes / (36 * cin * 4)))
        // Tile rows go in chunks whose transformed tiles and products stay
        // near 8 MB, whatever the image size.
        let perRow = 36 * max(cin, min(cout, block)) * tw * 4
        let rowsPerChunk = max(1, min(th, (8 << 20) / max(perRow, 1)))
        let maxTiles = rowsPerChunk * tw
        let (u, uc) = Scratch.take(36 * min(cout, block) * cin)   // [36, block, Cin]
        let (v, vc) = Scratch.take(36 * cin * maxTiles)           // [36, Cin, T]
        let (m, mc) = Scratch.take(36 * min(cout, block) * maxTiles)   // [36, block, T]
        defer { Scratch.give(u, capacity: uc); Scratch.give(v, capacity: vc); Scratch.give(m, capacity: mc) }
        var c0 = 0
        while c0 < cout {
            let channels = c0..<min(cout, c0 + block), nc = channels.count
            winogradFilters(channels, into: u)
            var r0 = 0
            while r0 < th {
                let r1 = min(th, r0 + rowsPerChunk), nt = (r1 - r0) * tw
                inputTransform(x, height: h, width: w, tileRows: r0..<r1, tilesPerRow: tw, into: v, stride: nt)
                // The 36 products, spread over the threads.
                let parts = min(BLAS.threads, 36)
                DispatchQueue.concurrentPerform(iterations: parts) { p in
                    for k in (36 * p / parts)..<(36 * (p + 1) / parts) {
                        BLAS.gemm(m: nc, n: nt, k: cin, a: u + k * nc * cin, lda: cin, b: v + k * cin * nt, ldb: nt,
                                  transB: false, beta: 0, c: m + k * nc * nt, ldc: nt)
                    }
                }
                outputTransform(m, channels: channels, stride: nt, tileRows: r0..<r1, tilesPerRow: tw, height: h, width: w,
                                into: y, accumulate: accumulate)
                r0 = r1
            }
            c0 = channels.upperBound
        }
    }

    /// Bᵀ's rows applied to six values (Lavin & Gray 2016, eq. 13's Bᵀ for F(4, 3)).
    @inline(__always)
    static func bt<V: SIMD>(_ d0: V, _ d1: V, _ d2: V, _ d3: V, _ d4: V, _ d5: V) -> (V, V, V, V, V, V) where V.Scalar == Float {
        let p = d1 - d3
        return (4 * d0 - 5 * d2 + d4, -4 * (d1 + d2) + d3 + d4, 4 * (d1 - d2) - d3 + d4,
                -2 * p - d2 + d4, 2 * p - d2 + d4, 4 * d1 - 5 * d3 + d5)
    }

    /// Aᵀ's rows applied to six values.
    @inline(__always)
    static func at<V: SIMD>(_ m0: V, _ m1: V, _ m2: V, _ m3: V, _ m4: V, _ m5: V) -> (V, V, V, V) where V.Scalar == Float {
        let a = m1 - m2, b = m1 + m2, c = m3 - m4, e = m3 + m4
        return (m0 + b + e, a + 2 * c, b + 4 * e, a + 8 * c + m5)
    }

    /// V[k, ci, t] = (Bᵀ d B)_k for the 6×6 input tile d of every tile t in
    /// `tileRows` (numbered across the batch). Per tile row, Bᵀ runs down
    /// the image's columns for the whole row at once, eight columns per
    /// SIMD step; B then runs across eight tiles at a time, one per lane, so
    /// each of the 36 results is stored as eight contiguous floats.
    private func inputTransform(_ x: UnsafePointer<Float>, height h: Int, width w: Int, tileRows: Range<Int>,
                                tilesPerRow tw: Int, into v: UnsafeMutablePointer<Float>, stride nt: Int) {
        typealias V = SIMD8<Float>
        let cin = inChannels, plane = cin * nt
        let perImage = (h + 3) / 4
        // A padded row: image columns −1 ..< 4·tw + 1, then room for the last group's unused lanes.
        let pw = (4 * tw + 2 + 7) / 8 * 8 + 40
        Parallel.rows(cin, minRows: 1) { range in
            let rows = UnsafeMutablePointer<Float>.allocate(capacity: 6 * pw)   // the tile row's six input rows, padded
            let t1 = UnsafeMutablePointer<Float>.allocate(capacity: 6 * pw)     // Bᵀ of them, per column
            defer { rows.deallocate(); t1.deallocate() }
            rows.initialize(repeating: 0, count: 6 * pw)
            t1.initialize(repeating: 0, count: 6 * pw)
            for ci in range {
                for ty in tileRows {
                    let src = x + ((ty / perImage) * cin + ci) * h * w
                    let y0 = 4 * (ty % perImage) - 1
                    for j in 0..<6 {
                        let dst = rows + j * pw, yy = y0 + j
                        if yy < 0 || yy >= h { dst.update(repeating: 0, count: pw); continue }
                        dst[0] = 0
                        (dst + 1).update(from: src + yy * w, count: w)
                        (dst + 1 + w).update(repeating: 0, count: pw - 1 - w)
                    }
                    let r = UnsafeRawPointer(rows), o = UnsafeMutableRawPointer(t1)
                    var c = 0
                    while c < pw {
                        @inline(__always) func ld(_ j: Int) -> V { r.loadUnaligned(fromByteOffset: 4 * (j * pw + c), as: V.self) }
                        let b = Self.bt(ld(0), ld(1), ld(2), ld(3), ld(4), ld(5))
                        o.storeBytes(of: b.0, toByteOffset: 4 * c, as: V.self)
                        o.storeBytes(of: b.1, toByteOffset: 4 * (pw + c), as: V.self)
                        o.storeBytes(of: b.2, toByteOffset: 4 * (2 * pw + c), as: V.self)
                        o.storeBytes(of: b.3, toByteOffset: 4 * (3 * pw + c), as: V.self)
                        o.storeBytes(of: b.4, toByteOffset: 4 * (4 * pw + c), as: V.self)
                        o.storeBytes(of: b.5, toByteOffset: 4 * (5 * pw + c), as: V.self)
                        c += 8
                    }
                    let base = v + ci * nt + (ty - tileRows.lowerBound) * tw
                    var tx = 0
                    while tx < tw {
                        let lanes = min(8, tw - tx)
                        for rr in 0..<6 {
                            let row = t1 + rr * pw + 4 * tx
                            // Lane l is tile tx + l, whose six columns start 4·l further on.
                            @inline(__always) func col(_ c: Int) -> V {
                                var e = V()
                                for l in 0..<8 { e[l] = row[4 * l + c] }
                                return e
                            }
                            let b = Self.bt(col(0), col(1), col(2), col(3), col(4), col(5))
                            @inline(__always) func put(_ cc: Int, _ val: V) {
                                let dst = base + (6 * rr + cc) * plane + tx
                                if lanes == 8 { UnsafeMutableRawPointer(dst).storeBytes(of: val, as: V.self) }
                                else { for l in 0..<lanes { dst[l] = val[l] } }
                            }
                            put(0, b.0); put(1, b.1); put(2, b.2); put(3, b.3); put(4, b.4); put(5, b.5)
                        }
                        tx += 8
                    }
                }
            }
        }
    }

    /// y's 4×4 blocks = Aᵀ M A (+ bias), cut at the image's edge, eight tiles
    /// at a time: their 36 products are contiguous in M, one per lane.
    /// M holds output channels `channels` only ([36, |channels|, T]).
    private func outputTransform(_ m: UnsafePointer<Float>, channels: Range<Int>, stride nt: Int, tileRows: Range<Int>,
                                 tilesPerRow tw: Int, height h: Int, width w: Int, into y: UnsafeMutablePointer<Float>,
                                 accumulate: Bool) {
        typealias V = SIMD8<Float>
        let cout = outChannels, plane = channels.count * nt
        let perImage = (h + 3) / 4
        Parallel.rows(channels.count, minRows: 1) { range in
            let block = UnsafeMutablePointer<Float>.allocate(capacity: 4 * 32)   // four output rows of eight tiles
            let t = UnsafeMutablePointer<V>.allocate(capacity: 24)             // Aᵀ M: [4, 6]
            defer { block.deallocate(); t.deallocate() }
            for row in range {
                let co = channels.lowerBound + row
                let b = bias?.data[co] ?? 0
                for tyAll in tileRows {
                    let dst = y + ((tyAll / perImage) * cout + co) * h * w, ty = tyAll % perImage
                    var tx = 0
                    while tx < tw {
                        let lanes = min(8, tw - tx)
                        let s = m + row * nt + (tyAll - tileRows.lowerBound) * tw + tx
                        @inline(__always) func ld(_ k: Int) -> V {
                            if lanes == 8 { return UnsafeRawPointer(s + k * plane).loadUnaligned(as: V.self) }
                            var e = V()
                            for l in 0..<lanes { e[l] = s[k * plane + l] }
                            return e
                        }
                        // Aᵀ down each of the six columns, then A along each of the four rows.
                        for c in 0..<6 {
                            let a = Self.at(ld(c), ld(6 + c), ld(12 + c), ld(18 + c), ld(24 + c), ld(30 + c))
                            t[c] = a.0; t[6 + c] = a.1; t[12 + c] = a.2; t[18 + c] = a.3
                        }
                        for r in 0..<4 {
                            let o = Self.at(t[6 * r], t[6 * r + 1], t[6 * r + 2], t[6 * r + 3], t[6 * r + 4], t[6 * r + 5])
                            for l in 0..<8 {
                                block[r * 32 + 4 * l] = o.0[l] + b; block[r * 32 + 4 * l + 1] = o.1[l] + b
                                block[r * 32 + 4 * l + 2] = o.2[l] + b; block[r * 32 + 4 * l + 3] = o.3[l] + b
                            }
                        }
                        let n = min(4 * lanes, w - 4 * tx)
                        for r in 0..<min(4, h - 4 * ty) {
                            let row = dst + (4 * ty + r) * w + 4 * tx
                            if accumulate { for j in 0..<n { row[j] += block[r * 32 + j] } }
                            else { for j in 0..<n { row[j] = block[r * 32 + j] } }
                        }
                        tx += 8
                    }
                }
            }
        }
    }
}
