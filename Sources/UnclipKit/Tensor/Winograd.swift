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
    /// enough 4×4 tiles that the per-call filter transform (about 300
    /// operations per channel pair) pays for itself against the products it saves.
    func usesWinograd(height h: Int, width w: Int) -> Bool {
        kh == 3 && kw == 3 && stride == 1 && padding == (1, 1, 1, 1)
            && ((h + 3) / 4) * ((w + 3) / 4) >= Conv2d.winogradMinTiles
    }

    /// U [36, Cout, Cin] = G g Gᵀ for every filter g [3, 3], made per call:
    /// cached, it would hold four times the weights. Eight input channels go
    /// at a time, one per SIMD lane, so each of the 36 results is stored as
    /// eight contiguous floats.
    func winogradFilters(into u: UnsafeMutablePointer<Float>) {
        let cout = outChannels, cin = inChannels, plane = cout * cin
        typealias V = SIMD8<Float>
        // G's rows: (1/4, 0, 0), −(1, 1, 1)/6, −(1, −1, 1)/6, (1/24, 1/12, 1/6), (1/24, −1/12, 1/6), (0, 0, 1).
        @inline(__always) func g6(_ a: V, _ b: V, _ c: V) -> (V, V, V, V, V, V) {
            let s = a + c, q = a * (1 / 24) + c * (1 / 6), r = b * (1 / 12)
            return (a * 0.25, (s + b) * (-1 / 6), (s - b) * (-1 / 6), q + r, q - r, c)
        }
        Parallel.rows(cout, minRows: 1) { range in
            for co in range {
                var ci = 0
                while ci < cin {
                    let lanes = min(8, cin - ci)
                    // Tap j of filters ci ..< ci + 8, one per lane.
                    let w = weight.data + (co * cin + ci) * 9
                    @inline(__always) func tap(_ j: Int) -> V {
                        var v = V()
                        for l in 0..<lanes { v[l] = w[l * 9 + j] }
                        return v
                    }
                    let gv = (tap(0), tap(1), tap(2), tap(3), tap(4), tap(5), tap(6), tap(7), tap(8))
                    // G g: the three columns of g, each to six values; then each of those six rows through G again.
                    let c0 = g6(gv.0, gv.3, gv.6), c1 = g6(gv.1, gv.4, gv.7), c2 = g6(gv.2, gv.5, gv.8)
                    let o = u + co * cin + ci
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

    /// y [Cout, H, W] (=, or += with `accumulate`) conv(x [Cin, H, W]) + bias, by F(4×4, 3×3).
    func forwardWinograd(_ x: UnsafePointer<Float>, height h: Int, width w: Int,
                         into y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let cin = inChannels, cout = outChannels
        let th = (h + 3) / 4, tw = (w + 3) / 4
        let (u, uc) = Scratch.take(36 * cout * cin)   // [36, Cout, Cin]
        defer { Scratch.give(u, capacity: uc) }
        winogradFilters(into: u)
        // Tile rows go in chunks whose transformed tiles and products stay
        // near 8 MB, whatever the image size.
        let perRow = 36 * max(cin, cout) * tw * 4
        let rowsPerChunk = max(1, min(th, (8 << 20) / max(perRow, 1)))
        let maxTiles = rowsPerChunk * tw
        let (v, vc) = Scratch.take(36 * cin * maxTiles)    // [36, Cin, T]
        let (m, mc) = Scratch.take(36 * cout * maxTiles)   // [36, Cout, T]
        defer { Scratch.give(v, capacity: vc); Scratch.give(m, capacity: mc) }
        var r0 = 0
        while r0 < th {
            let r1 = min(th, r0 + rowsPerChunk), nt = (r1 - r0) * tw
            inputTransform(x, height: h, width: w, tileRows: r0..<r1, tilesPerRow: tw, into: v, stride: nt)
            // The 36 products, spread over the threads.
            let parts = min(BLAS.threads, 36)
            DispatchQueue.concurrentPerform(iterations: parts) { p in
                for k in (36 * p / parts)..<(36 * (p + 1) / parts) {
                    BLAS.gemm(m: cout, n: nt, k: cin, a: u + k * cout * cin, lda: cin, b: v + k * cin * nt, ldb: nt,
                              transB: false, beta: 0, c: m + k * cout * nt, ldc: nt)
                }
            }
            outputTransform(m, stride: nt, tileRows: r0..<r1, tilesPerRow: tw, height: h, width: w, into: y, accumulate: accumulate)
            r0 = r1
        }
    }

    /// V[k, ci, t] = (Bᵀ d B)_k for the 6×6 input tile d of every tile t in `tileRows`.
    private func inputTransform(_ x: UnsafePointer<Float>, height h: Int, width w: Int, tileRows: Range<Int>,
                                tilesPerRow tw: Int, into v: UnsafeMutablePointer<Float>, stride nt: Int) {
        let cin = inChannels, plane = cin * nt
        Parallel.rows(cin, minRows: 1) { range in
            var d = [Float](repeating: 0, count: 36), t = [Float](repeating: 0, count: 36)
            for ci in range {
                let src = x + ci * h * w
                for ty in tileRows {
                    for tx in 0..<tw {
                        // The tile, zero outside the image (the padding).
                        let y0 = 4 * ty - 1, x0 = 4 * tx - 1
                        for r in 0..<6 {
                            let yy = y0 + r
                            if yy < 0 || yy >= h { for c in 0..<6 { d[6 * r + c] = 0 }; continue }
                            let row = src + yy * w
                            for c in 0..<6 { let xx = x0 + c; d[6 * r + c] = xx >= 0 && xx < w ? row[xx] : 0 }
                        }
                        // Bᵀ d: each column.
                        for c in 0..<6 {
                            let d0 = d[c], d1 = d[6 + c], d2 = d[12 + c], d3 = d[18 + c], d4 = d[24 + c], d5 = d[30 + c]
                            t[c] = 4 * d0 - 5 * d2 + d4
                            t[6 + c] = -4 * (d1 + d2) + d3 + d4
                            t[12 + c] = 4 * (d1 - d2) - d3 + d4
                            t[18 + c] = -2 * (d1 - d3) - d2 + d4
                            t[24 + c] = 2 * (d1 - d3) - d2 + d4
                            t[30 + c] = 4 * d1 - 5 * d3 + d5
                        }
                        // (Bᵀ d) B: each row.
                        let o = v + ci * nt + (ty - tileRows.lowerBound) * tw + tx
                        for r in 0..<6 {
                            let d0 = t[6 * r], d1 = t[6 * r + 1], d2 = t[6 * r + 2], d3 = t[6 * r + 3], d4 = t[6 * r + 4], d5 = t[6 * r + 5]
                            let k = 6 * r
                            o[(k + 0) * plane] = 4 * d0 - 5 * d2 + d4
                            o[(k + 1) * plane] = -4 * (d1 + d2) + d3 + d4
                            o[(k + 2) * plane] = 4 * (d1 - d2) - d3 + d4
                            o[(k + 3) * plane] = -2 * (d1 - d3) - d2 + d4
                            o[(k + 4) * plane] = 2 * (d1 - d3) - d2 + d4
                            o[(k + 5) * plane] = 4 * d1 - 5 * d3 + d5
                        }
                    }
                }
            }
        }
    }

    /// y's 4×4 blocks = Aᵀ M A (+ bias), cut at the image's edge.
    private func outputTransform(_ m: UnsafePointer<Float>, stride nt: Int, tileRows: Range<Int>, tilesPerRow tw: Int,
                                 height h: Int, width w: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let cout = outChannels, plane = cout * nt
        Parallel.rows(cout, minRows: 1) { range in
            var t = [Float](repeating: 0, count: 24)   // Aᵀ M: [4, 6]
            for co in range {
                let b = bias?.data[co] ?? 0
                let dst = y + co * h * w
                for ty in tileRows {
                    for tx in 0..<tw {
                        let s = m + co * nt + (ty - tileRows.lowerBound) * tw + tx
                        for c in 0..<6 {
                            let m0 = s[c * plane], m1 = s[(6 + c) * plane], m2 = s[(12 + c) * plane]
                            let m3 = s[(18 + c) * plane], m4 = s[(24 + c) * plane], m5 = s[(30 + c) * plane]
                            t[c] = m0 + m1 + m2 + m3 + m4
                            t[6 + c] = m1 - m2 + 2 * (m3 - m4)
                            t[12 + c] = m1 + m2 + 4 * (m3 + m4)
                            t[18 + c] = m1 - m2 + 8 * (m3 - m4) + m5
                        }
                        let n = min(4, w - 4 * tx)
                        for r in 0..<min(4, h - 4 * ty) {
                            let m0 = t[6 * r], m1 = t[6 * r + 1], m2 = t[6 * r + 2], m3 = t[6 * r + 3], m4 = t[6 * r + 4], m5 = t[6 * r + 5]
                            let a = m1 - m2, b2 = m1 + m2, c = m3 - m4, e = m3 + m4
                            let row = dst + (4 * ty + r) * w + 4 * tx
                            if accumulate {
                                row[0] += m0 + b2 + e + b
                                if n > 1 { row[1] += a + 2 * c + b }
                                if n > 2 { row[2] += b2 + 4 * e + b }
                                if n > 3 { row[3] += a + 8 * c + m5 + b }
                            } else {
                                row[0] = m0 + b2 + e + b
                                if n > 1 { row[1] = a + 2 * c + b }
                                if n > 2 { row[2] = b2 + 4 * e + b }
                                if n > 3 { row[3] = a + 8 * c + m5 + b }
                            }
                        }
                    }
                }
            }
        }
    }
}
