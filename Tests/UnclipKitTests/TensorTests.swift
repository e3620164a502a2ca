import Foundation
import XCTest
import UnclipKit

/// The tensor ops against direct double-precision formulas.
final class TensorTests: XCTestCase {
    var rng = SystemRandomNumberGenerator()
    func random(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in Float.random(in: -scale...scale) } }

    func testLinearIsXWTransposedPlusBias() {
        let (n, i, o) = (5, 7, 3)
        let x = random(n * i), w = random(o * i), b = random(o)
        let lin = Linear(weight: Tensor(shape: [o, i], values: w), bias: Tensor(shape: [o], values: b))
        let y = lin(Tensor(shape: [n, i], values: x)).toArray()
        for r in 0..<n {
            for c in 0..<o {
                var s = Double(b[c])
                for k in 0..<i { s += Double(x[r * i + k]) * Double(w[c * i + k]) }
                XCTAssertEqual(Double(y[r * o + c]), s, accuracy: 1e-5)
            }
        }
    }

    func testLinearAtEveryTileEdgeAndBothGEMMPaths() {
        // Few rows (≤ 64) with K a multiple of 8 take the in-place kernel,
        // whose 3-row × 4-feature tiles leave remainders of every size; more
        // rows, or another K, take sgemm. Each shape against the formula,
        // with a residual to accumulate onto, at one and two threads.
        let old = BLAS.threads
        defer { BLAS.threads = old }
        for (n, i, o) in [(1, 64, 130), (2, 16, 5), (3, 8, 7), (4, 24, 9), (5, 32, 66), (50, 96, 131), (64, 40, 3),
                          (65, 64, 70), (7, 12, 6)] {
            let x = random(n * i), w = random(o * i), b = random(o), r0 = random(n * o)
            let lin = Linear(weight: Tensor(shape: [o, i], values: w), bias: Tensor(shape: [o], values: b))
            var outputs: [[Float]] = []
            for threads in [1, 2] {
                BLAS.threads = threads
                let y = Tensor(shape: [n, o], values: r0)
                let xt = Tensor(shape: [n, i], values: x)
                lin.forward(xt.data, rows: n, into: y.data, accumulate: true)
                let got = y.toArray()
                for r in 0..<n {
                    for c in 0..<o {
                        var s = Double(r0[r * o + c]) + Double(b[c])
                        for k in 0..<i { s += Double(x[r * i + k]) * Double(w[c * i + k]) }
                        XCTAssertEqual(Double(got[r * o + c]), s, accuracy: 1e-4, "\(n)x\(i)->\(o) at [\(r), \(c)]")
                    }
                }
                outputs.append(got)
            }
            XCTAssertEqual(outputs[0], outputs[1], "\(n)x\(i)->\(o): the thread count changed the result")
        }
    }

    func testFewRowLinearsFoldBiasAndActivationIntoTheirThreads() {
        // 50 rows against 203 features: the in-place kernel, whose threads
        // add the bias and apply QuickGELU to their own column blocks. The
        // result must not depend on the thread count (blocks split at
        // multiples of 8, so every column meets the same vector lane group
        // or scalar tail), must follow the formula, and q/k/v run together
        // must equal the three run one by one.
        let old = BLAS.threads
        defer { BLAS.threads = old }
        let (n, i, o) = (50, 64, 203)
        let x = Tensor(shape: [n, i], values: random(n * i))
        let layers = (0..<3).map { _ in
            Linear(weight: Tensor(shape: [o, i], values: random(o * i)), bias: Tensor(shape: [o], values: random(o)))
        }
        var outputs: [[Float]] = []
        for threads in [1, 2] {
            BLAS.threads = threads
            let y = Tensor(shape: [n, o])
            layers[0].forward(x.data, rows: n, into: y.data, activation: .quickGELU)
            outputs.append(y.toArray())
            let ys = (0..<3).map { _ in Tensor(shape: [n, o]) }
            Linear.forward(zip(layers, ys).map { ($0, $1.data) }, x.data, rows: n)
            for (layer, together) in zip(layers, ys) {
                let alone = Tensor(shape: [n, o])
                layer.forward(x.data, rows: n, into: alone.data)
                XCTAssertEqual(together.toArray(), alone.toArray(), "\(threads) threads")
            }
        }
        XCTAssertEqual(outputs[0], outputs[1], "the thread count changed the result")
        let w = layers[0].weight.toArray(), b = layers[0].bias!.toArray(), xs = x.toArray()
        for r in 0..<n {
            for c in 0..<o {
                var s = Double(b[c])
                for k in 0..<i { s += Double(xs[r * i + k]) * Double(w[c * i + k]) }
                XCTAssertEqual(Double(outputs[0][r * o + c]), s / (1 + exp(-1.702 * s)), accuracy: 1e-4, "[\(r), \(c)]")
            }
        }
    }

    func testActivationsMatchTheirDefinitions() {
        // 67 columns: the vectorised path (8 lanes) and its scalar tail both run; values reach ±40.
        let cols = 67
        let x = (0..<cols).map { Float($0 - 33) * 1.2 + 0.013 }
        let identity = Tensor(shape: [cols, cols], values: (0..<(cols * cols)).map { $0 / cols == $0 % cols ? 1 : 0 })
        let defs: [(Activation, (Double) -> Double)] = [
            (.quickGELU, { $0 / (1 + exp(-1.702 * $0)) }),
            (.gelu, { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }),
            (.geluTanh, { 0.5 * $0 * (1 + tanh(0.7978845608028654 * ($0 + 0.044715 * $0 * $0 * $0))) }),
        ]
        for (act, f) in defs {
            // 40 rows so the row-parallel path runs too.
            let input = Tensor(shape: [40, cols], values: (0..<40).flatMap { _ in x })
            let y = Linear(weight: identity, bias: nil)(input, activation: act).toArray()
            for r in 0..<40 {
                for c in 0..<cols {
                    let want = f(Double(x[c]))
                    XCTAssertEqual(Double(y[r * cols + c]), want, accuracy: 2e-6 * max(1, abs(want)), "\(act) at \(x[c])")
                }
            }
        }
    }

    func testLayerNorm() {
        let (n, d) = (40, 33)
        let x = random(n * d, scale: 3).map { $0 + 100 }   // a large offset must not cancel the variance
        let g = random(d), b = random(d)
        let ln = LayerNorm(weight: Tensor(shape: [d], values: g), bias: Tensor(shape: [d], values: b), eps: 1e-5)
        let y = ln(Tensor(shape: [n, d], values: x)).toArray()
        for r in 0..<n {
            let row = x[(r * d)..<((r + 1) * d)].map(Double.init)
            let mean = row.reduce(0, +) / Double(d)
            let v = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(d)
            for c in 0..<d {
                let want = (row[c] - mean) / (v + 1e-5).squareRoot() * Double(g[c]) + Double(b[c])
                XCTAssertEqual(Double(y[r * d + c]), want, accuracy: 2e-4)
            }
        }
    }

    /// Packed sequences of different lengths, with and without the causal mask.
    func testAttentionMatchesNaiveSoftmaxAttention() {
        let d = 12, heads = 3, dh = 4, lengths = [5, 1, 7]
        let rows = lengths.reduce(0, +)
        func lin(_ bias: Bool = true) -> Linear {
            Linear(weight: Tensor(shape: [d, d], values: random(d * d, scale: 0.5)), bias: bias ? Tensor(shape: [d], values: random(d)) : nil)
        }
        let q = lin(), k = lin(), v = lin(), o = lin()
        let h = random(rows * d)
        func apply(_ l: Linear, _ x: [Float]) -> [Double] { l(Tensor(shape: [rows, d], values: x)).toArray().map(Double.init) }
        let Q = apply(q, h), K = apply(k, h), V = apply(v, h)
        for causal in [false, true] {
            let attn = Attention(q: q, k: k, v: v, out: o, heads: heads, causal: causal)
            let residual = random(rows * d)
            let x = Tensor(shape: [rows, d], values: residual)
            let hT = Tensor(shape: [rows, d], values: h)
            attn.forward(hT.data, residual: x.data, lengths: lengths, work: .init(rows: rows, width: d, maxLength: 7))
            // Naive: per sequence, head, query.
            var ctx = [Float](repeating: 0, count: rows * d)
            var start = 0
            for t in lengths {
                for hd in 0..<heads {
                    for i in 0..<t {
                        let n = causal ? i + 1 : t
                        var s = (0..<n).map { j in
                            (0..<dh).reduce(0.0) { $0 + Q[(start + i) * d + hd * dh + $1] * K[(start + j) * d + hd * dh + $1] } / Double(dh).squareRoot()
                        }
                        let m = s.max()!
                        s = s.map { exp($0 - m) }
                        let z = s.reduce(0, +)
                        for e in 0..<dh {
                            ctx[(start + i) * d + hd * dh + e] = Float((0..<n).reduce(0.0) { $0 + s[$1] / z * V[(start + $1) * d + hd * dh + e] })
                        }
                    }
                }
                start += t
            }
            let want = zip(o(Tensor(shape: [rows, d], values: ctx)).toArray(), residual).map { Double($0) + Double($1) }
            for (a, b) in zip(x.toArray(), want) { XCTAssertEqual(Double(a), b, accuracy: 1e-4, "causal \(causal)") }
        }
    }

    func testThreadSetting() {
        let old = BLAS.threads
        BLAS.threads = 1
        XCTAssertEqual(BLAS.threads, 1)
        BLAS.threads = old
    }

    /// conv(x) by the definition, in double: y[o, i, j] = b[o] + Σ w[o, c, ky, kx]·x[c, i·s − top + ky, j·s − left + kx].
    func directConv(_ x: [Float], _ w: [Float], _ b: [Float]?, cin: Int, cout: Int, h: Int, wd: Int, k: Int,
                    stride s: Int, pad: (Int, Int, Int, Int)) -> [Double] {
        let ho = (h + pad.0 + pad.2 - k) / s + 1, wo = (wd + pad.1 + pad.3 - k) / s + 1
        var y = [Double](repeating: 0, count: cout * ho * wo)
        for o in 0..<cout { for i in 0..<ho { for j in 0..<wo {
            var acc = Double(b?[o] ?? 0)
            for c in 0..<cin { for ky in 0..<k { for kx in 0..<k {
                let yy = i * s - pad.0 + ky, xx = j * s - pad.1 + kx
                if yy >= 0 && yy < h && xx >= 0 && xx < wd { acc += Double(w[((o * cin + c) * k + ky) * k + kx]) * Double(x[(c * h + yy) * wd + xx]) }
            } } }
            y[(o * ho + i) * wo + j] = acc
        } } }
        return y
    }

    func testConvolutionsMatchTheDefinitionOnEveryPath() {
        let oldTiles = Conv2d.winogradMinTiles, oldThreads = BLAS.threads, oldBytes = Conv2d.winogradFilterBytes
        defer { Conv2d.winogradMinTiles = oldTiles; BLAS.threads = oldThreads; Conv2d.winogradFilterBytes = oldBytes }
        Conv2d.winogradFilterBytes = 1
        // (Cin, Cout, H, W, kernel, stride, padding): 3×3 same-size convs at sizes
        // that are and are not multiples of the 4×4 Winograd tile, a strided
        // one with diffusers' right/bottom-only padding, and 1×1.
        let cases: [(Int, Int, Int, Int, Int, Int, (Int, Int, Int, Int))] = [
            (3, 5, 8, 8, 3, 1, (1, 1, 1, 1)), (4, 3, 5, 7, 3, 1, (1, 1, 1, 1)), (2, 6, 1, 1, 3, 1, (1, 1, 1, 1)),
            (5, 4, 13, 6, 3, 1, (1, 1, 1, 1)), (3, 4, 9, 10, 3, 2, (0, 0, 1, 1)), (6, 5, 7, 9, 1, 1, (0, 0, 0, 0)),
            (3, 4, 21, 70, 3, 1, (1, 1, 1, 1)),   // more than eight tiles a row: full SIMD groups and a remainder
            (5, 40, 9, 11, 3, 1, (1, 1, 1, 1)),   // with the filter limit lowered below: blocks of 16, 16 and 8 channels
        ]
        for (cin, cout, h, wd, k, s, pad) in cases {
            let x = random(cin * h * wd, scale: 3), w = random(cout * cin * k * k), b = random(cout)
            let want = directConv(x, w, b, cin: cin, cout: cout, h: h, wd: wd, k: k, stride: s, pad: pad)
            let conv = Conv2d(weight: Tensor(shape: [cout, cin, k, k], values: w), bias: Tensor(shape: [cout], values: b),
                              stride: s, padding: (top: pad.0, left: pad.1, bottom: pad.2, right: pad.3))
            let (ho, wo) = conv.outputSize(height: h, width: wd)
            XCTAssertEqual(ho * wo * cout, want.count)
            var results: [[Float]] = []
            for (tiles, threads) in [(Int.max, 1), (0, 1), (0, 2)] {
                Conv2d.winogradMinTiles = tiles; BLAS.threads = threads
                let y = Tensor(shape: [cout, ho, wo], values: [Float](repeating: 0.5, count: cout * ho * wo))
                let xt = Tensor(shape: [cin, h, wd], values: x)
                conv.forward(xt.data, height: h, width: wd, into: y.data, accumulate: true)
                let got = y.toArray()
                var worst = 0.0
                for i in 0..<want.count { worst = max(worst, abs(Double(got[i]) - 0.5 - want[i])) }
                // Relative to the outputs' scale: F(4×4, 3×3)'s transforms round a little more than a plain sum does.
                let scale = want.map(abs).max()!
                XCTAssertLessThan(worst / scale, 1e-5, "\(cin)→\(cout) \(h)×\(wd) k\(k) s\(s), Winograd from \(tiles) tiles, \(threads) threads")
                results.append(got)
            }
            XCTAssertEqual(results[1], results[2], "the thread count changed a Winograd result")
        }
    }
}
