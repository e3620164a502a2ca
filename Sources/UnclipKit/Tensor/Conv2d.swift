import Dispatch

/// A 2-D convolution with PyTorch's layout (weight [Cout, Cin, kh, kw],
/// bias [Cout]), channels first: x [Cin, H, W] → y [Cout, Hout, Wout], or
/// a batch of such images sharing the weights' preparation.
///
/// 1×1 convolutions are one product, y[Cout, P] = W[Cout, Cin]·x[Cin, P].
/// Larger kernels unfold the input (im2col) one band of output rows at a
/// time: a whole 512×512 unfold at 128 channels would be 1.2 GB, a band
/// stays under `bandBytes`. Bands and the threads' blocks of output
/// channels depend only on the shapes, so results do not depend on the
/// thread count.
public struct Conv2d: @unchecked Sendable {
    public let weight: Tensor   // [Cout, Cin, kh, kw]
    public let bias: Tensor?    // [Cout]
    public let stride: Int
    /// Zero padding (top, left, bottom, right): asymmetric for diffusers'
    /// Downsample2D with padding 0, which pads right and bottom by one.
    public let padding: (top: Int, left: Int, bottom: Int, right: Int)

    public init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int) {
        self.init(weight: weight, bias: bias, stride: stride, padding: (padding, padding, padding, padding))
    }

    public init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: (top: Int, left: Int, bottom: Int, right: Int)) {
        precondition(weight.shape.count == 4, "Conv2d weight must be [Cout, Cin, kh, kw]")
        precondition(bias == nil || bias!.count == weight.shape[0])
        self.weight = weight; self.bias = bias; self.stride = stride; self.padding = padding
    }

    public var outChannels: Int { weight.shape[0] }
    public var inChannels: Int { weight.shape[1] }
    var kh: Int { weight.shape[2] }
    var kw: Int { weight.shape[3] }

    /// Upper bound on one band's unfolded input: the UNet's smaller levels
    /// unfold whole (a band re-reads every weight, so few bands are best),
    /// MoVQ's 512² levels a band at a time.
    static let bandBytes = 32 << 20

    /// The fewest 4×4 output tiles for which a 3×3 convolution takes the
    /// Winograd path (`forwardWinograd`); below it, few tiles make its
    /// products too thin to run efficiently. Tests lower it to cover tiny images.
    nonisolated(unsafe) public static var winogradMinTiles = 32

    /// The most bytes of transformed filters the Winograd path holds at once
    /// (it goes through the output channels in blocks that fit, at least 16
    /// channels a block). Tests lower it to cover several blocks.
    nonisolated(unsafe) public static var winogradFilterBytes = 64 << 20

    public func outputSize(height h: Int, width w: Int) -> (Int, Int) {
        ((h + padding.top + padding.bottom - kh) / stride + 1, (w + padding.left + padding.right - kw) / stride + 1)
    }

    /// y [Cout, Hout, Wout] = conv(x [Cin, H, W]) + bias; with `accumulate`, y += conv(x) + bias.
    public func forward(_ x: UnsafePointer<Float>, height h: Int, width w: Int,
                        into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        if usesWinograd(height: h, width: w) {
            forwardWinograd(x, batch: 1, height: h, width: w, into: y, accumulate: accumulate)
            return
        }
        let (ho, wo) = outputSize(height: h, width: w)
        let cin = inChannels, cout = outChannels, p = ho * wo
        let k = cin * kh * kw
        if kh == 1 && kw == 1 && stride == 1 && padding == (0, 0, 0, 0) {
            // Column blocks of the pixels, one product each.
            let blocks = max(1, min(BLAS.threads, p / 256))
            DispatchQueue.concurrentPerform(iterations: blocks) { b in
                let j0 = p * b / blocks, j1 = p * (b + 1) / blocks
                prefillBias(y, pixels: j0..<j1, stride: p, accumulate: accumulate)
                BLAS.gemm(m: cout, n: j1 - j0, k: cin, a: weight.data, lda: cin, b: x + j0, ldb: p, transB: false,
                          beta: accumulate || bias != nil ? 1 : 0, c: y + j0, ldc: p)
            }
            return
        }
        let bandRows = max(1, min(ho, Self.bandBytes / max(1, 4 * k * wo)))
        let (col, capacity) = Scratch.take(k * bandRows * wo)   // [K, rows·Wout]
        defer { Scratch.give(col, capacity: capacity) }
        var r0 = 0
        while r0 < ho {
            let r1 = min(ho, r0 + bandRows), n = (r1 - r0) * wo
            unfold(x, height: h, width: w, outWidth: wo, rows: r0..<r1, into: col, rowStride: n)
            prefillBias(y, pixels: (r0 * wo)..<(r1 * wo), stride: p, accumulate: accumulate)
            // Output channels split over the threads: each packs only its
            // own rows of the weights, which at the UNet's deep levels are
            // far larger than the unfolded band.
            let parts = max(1, min(BLAS.threads, cout / 16))
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                let c0 = (cout * part / parts) & ~15, c1 = part == parts - 1 ? cout : (cout * (part + 1) / parts) & ~15
                BLAS.gemm(m: c1 - c0, n: n, k: k, a: weight.data + c0 * k, lda: k, b: col, ldb: n, transB: false,
                          beta: accumulate || bias != nil ? 1 : 0, c: y + c0 * p + r0 * wo, ldc: p)
            }
            r0 = r1
        }
    }

    /// A batch: x [B, Cin, H, W] → y [B, Cout, Hout, Wout] (=, or += with
    /// `accumulate`). The images share each product where that saves work:
    /// Winograd's tiles of all images go through one filter transform and
    /// one set of products, and an image small enough to unfold whole is
    /// unfolded beside the others into one product, so the weights are
    /// packed once for the batch.
    public func forward(_ x: UnsafePointer<Float>, batch: Int, height h: Int, width w: Int,
                        into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        let (ho, wo) = outputSize(height: h, width: w)
        let cin = inChannels, cout = outChannels, p = ho * wo, k = cin * kh * kw
        if batch == 1 { forward(x, height: h, width: w, into: y, accumulate: accumulate); return }
        if usesWinograd(height: h, width: w, batch: batch) {
            forwardWinograd(x, batch: batch, height: h, width: w, into: y, accumulate: accumulate)
            return
        }
        guard kh > 1 || kw > 1 || stride > 1, batch * k * p * 4 <= Self.bandBytes else {
            for i in 0..<batch {
                forward(x + i * cin * h * w, height: h, width: w, into: y + i * cout * p, accumulate: accumulate)
            }
            return
        }
        let n = batch * p
        let (col, cc) = Scratch.take(k * n)    // [K, B·P]: image i's columns at i·P
        let (out, oc) = Scratch.take(cout * n) // [Cout, B·P]
        defer { Scratch.give(col, capacity: cc); Scratch.give(out, capacity: oc) }
        for i in 0..<batch {
            unfold(x + i * cin * h * w, height: h, width: w, outWidth: wo, rows: 0..<ho, into: col + i * p, rowStride: n)
        }
        let parts = max(1, min(BLAS.threads, cout / 16))
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let c0 = (cout * part / parts) & ~15, c1 = part == parts - 1 ? cout : (cout * (part + 1) / parts) & ~15
            BLAS.gemm(m: c1 - c0, n: n, k: k, a: weight.data + c0 * k, lda: k, b: col, ldb: n, transB: false,
                      beta: 0, c: out + c0 * n, ldc: n)
        }
        Parallel.rows(cout, minRows: 1) { range in
            for co in range {
                let b = bias?.data[co] ?? 0
                for i in 0..<batch {
                    let src = out + co * n + i * p, dst = y + (i * cout + co) * p
                    if accumulate { for j in 0..<p { dst[j] += src[j] + b } } else { for j in 0..<p { dst[j] = src[j] + b } }
                }
            }
        }
    }

    /// Writes (or adds) the bias into y's pixels `pixels` of every channel, for a GEMM with beta = 1 to add onto.
    private func prefillBias(_ y: UnsafeMutablePointer<Float>, pixels: Range<Int>, stride p: Int, accumulate: Bool) {
        guard let b = bias else { return }
        for c in 0..<outChannels {
            let row = y + c * p
            if accumulate { for i in pixels { row[i] += b.data[c] } } else { for i in pixels { row[i] = b.data[c] } }
        }
    }

    /// col[(ci·kh + ky)·kw + kx, (oy − r0)·Wout + ox] = x[ci, oy·s − top + ky, ox·s − left + kx], zero outside.
    /// …, each of col's K rows `rowStride` floats apart (more than rows·Wout when images are unfolded side by side).
    private func unfold(_ x: UnsafePointer<Float>, height h: Int, width w: Int, outWidth wo: Int,
                        rows: Range<Int>, into col: UnsafeMutablePointer<Float>, rowStride n: Int) {
        let s = stride
        Parallel.rows(inChannels, minRows: 1) { channels in for ci in channels {
            let plane = x + ci * h * w
            for ky in 0..<kh {
                for kx in 0..<kw {
                    var dst = col + ((ci * kh + ky) * kw + kx) * n
                    // Output columns whose input column lies inside the image.
                    let oxLo = max(0, (padding.left - kx + s - 1) / s)
                    let last = w - 1 + padding.left - kx
                    let oxHi = last < 0 ? 0 : min(wo, last / s + 1)
                    for oy in rows {
                        let iy = oy * s - padding.top + ky
                        if iy < 0 || iy >= h || oxLo >= oxHi {
                            dst.initialize(repeating: 0, count: wo)
                        } else {
                            let src = plane + iy * w - padding.left + kx
                            if oxLo > 0 { dst.initialize(repeating: 0, count: oxLo) }
                            if s == 1 {
                                (dst + oxLo).initialize(from: src + oxLo, count: oxHi - oxLo)
                            } else {
                                for ox in oxLo..<oxHi { dst[ox] = src[ox * s] }
                            }
                            if oxHi < wo { (dst + oxHi).initialize(repeating: 0, count: wo - oxHi) }
                        }
                        dst += wo
                    }
                }
            }
        } }
    }

    /// Allocating form over a batch: x [B, Cin, H, W] → [B, Cout, Hout, Wout].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.shape.count == 4 && x.shape[1] == inChannels, "Conv2d expects [B, \(inChannels), H, W], got \(x.shape)")
        let (b, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        let (ho, wo) = outputSize(height: h, width: w)
        let y = Tensor(shape: [b, outChannels, ho, wo])
        forward(x.data, batch: b, height: h, width: w, into: y.data)
        return y
    }
}
