import Foundation

/// Gradient-domain compositing (Pérez, Gangnet & Blake 2003, "Poisson image
/// editing", §2, eq. 7): inside the mask the result keeps the source's
/// gradients, at the mask's edge it meets the target exactly, so colour and
/// lighting continue across the seam instead of jumping.
public enum PoissonBlend {
    /// What the solver did, for tests and diagnostics.
    public struct Report: Sendable {
        public var iterations: Int
        /// Final ‖r‖ / ‖b‖ of the worst channel.
        public var relativeResidual: Float
    }

    /// 8-bit convenience: `source` and `target` have the same size; the
    /// result has the target's channel count (alpha taken from the target).
    public static func blend(source: Image, into target: Image, mask: [Float],
                             tolerance: Float = 1e-5, maxIterations: Int = 2000) throws -> Image {
        guard source.width == target.width, source.height == target.height else {
            throw UnclipError.usage("Poisson blend: source is \(source.width)x\(source.height), target \(target.width)x\(target.height)")
        }
        guard mask.count == target.pixelCount else {
            throw UnclipError.usage("Poisson blend: mask has \(mask.count) values, expected \(target.pixelCount)")
        }
        let t = FloatImage(target.rgb()), s = FloatImage(source.rgb())
        let out = blend(source: s, into: t, mask: mask, tolerance: tolerance, maxIterations: maxIterations).image.image()
        guard target.hasAlpha else { return out }
        var rgba = Image(width: target.width, height: target.height, channels: 4)
        let a = target.alpha()
        for i in 0..<target.pixelCount {
            for c in 0..<3 { rgba.pixels[4 * i + c] = out.pixels[3 * i + c] }
            rgba.pixels[4 * i + 3] = a[i]
        }
        return rgba
    }

    /// Solves the discrete Poisson equation over pixels with `mask > 0`
    /// (4-neighbour Laplacian, Dirichlet from `target` outside the mask,
    /// Neumann at the image border), then composites by the mask value so a
    /// soft edge fades between the blended and the original pixels.
    public static func blend(source: FloatImage, into target: FloatImage, mask: [Float],
                             tolerance: Float = 1e-5, maxIterations: Int = 2000) -> (image: FloatImage, report: Report) {
        precondition(source.width == target.width && source.height == target.height && source.channels == target.channels)
        let w = target.width, h = target.height, n = w * h
        // Unknowns: pixels of the region, compactly numbered.
        var index = [Int32](repeating: -1, count: n)
        var pixels: [Int] = []
        for i in 0..<n where mask[i] > 0 { index[i] = Int32(pixels.count); pixels.append(i) }
        var out = target
        guard !pixels.isEmpty else { return (out, Report(iterations: 0, relativeResidual: 0)) }
        let k = pixels.count
        var neighbours = [Int32](repeating: -1, count: 4 * k)  // [K, 4]: region neighbours
        var degree = [Float](repeating: 0, count: k)
        var outsideList = [Int32](repeating: -1, count: 4 * k)  // [K, 4]: boundary neighbours (pixel index)
        for (j, i) in pixels.enumerated() {
            let x = i % w, y = i / w
            var slot = 0
            for (dx, dy) in [(-1, 0), (1, 0), (0, -1), (0, 1)] {
                let nx = x + dx, ny = y + dy
                guard nx >= 0 && nx < w && ny >= 0 && ny < h else { continue }
                degree[j] += 1
                let ni = ny * w + nx
                if index[ni] >= 0 { neighbours[4 * j + slot] = index[ni] } else { outsideList[4 * j + slot] = Int32(ni) }
                slot += 1
            }
        }
        // A region touching no fixed pixel has no boundary condition: keep the source.
        let anchored = outsideList.contains { $0 >= 0 }
        var worst: Float = 0, iterations = 0
        for c in 0..<target.channels {
            let plane = c * n
            var correction = [Float](repeating: 0, count: k)
            if anchored {
                // Solve for the correction c = f − source: harmonic inside,
                // (target − source) on the boundary; it is smooth, so a
                // pull–push membrane is an excellent first guess.
                var b = [Float](repeating: 0, count: k)
                for j in 0..<k {
                    for s in 0..<4 {
                        let o = Int(outsideList[4 * j + s])
                        if o >= 0 { b[j] += target.data[plane + o] - source.data[plane + o] }
                    }
                }
                var guessPlane = FloatImage(width: w, height: h, channels: 1)
                var trust = [Float](repeating: 0, count: n)
                for i in 0..<n where index[i] < 0 {
                    guessPlane.data[i] = target.data[plane + i] - source.data[plane + i]
                    trust[i] = 1
                }
                guessPlane = ImagePyramid.pullPushFill(guessPlane, trust: trust)
                for j in 0..<k { correction[j] = guessPlane.data[pixels[j]] }
                let r = conjugateGradient(&correction, b: b, neighbours: neighbours, degree: degree,
                                          tolerance: tolerance, maxIterations: maxIterations)
                worst = max(worst, r.residual); iterations = max(iterations, r.iterations)
            }
            for j in 0..<k {
                let i = pixels[j], m = min(1, mask[i])
                let f = source.data[plane + i] + correction[j]
                out.data[plane + i] = m * f + (1 - m) * target.data[plane + i]
            }
        }
        return (out, Report(iterations: iterations, relativeResidual: worst))
    }

    /// Jacobi-preconditioned conjugate gradients on A x = b, with
    /// (A x)_j = degree_j x_j − Σ region neighbours x (symmetric positive
    /// definite when the region touches the boundary).
    static func conjugateGradient(_ x: inout [Float], b: [Float], neighbours: [Int32], degree: [Float],
                                  tolerance: Float, maxIterations: Int) -> (iterations: Int, residual: Float) {
        let k = x.count
        func apply(_ v: [Float], into out: inout [Float]) {
            v.withUnsafeBufferPointer { v in
                neighbours.withUnsafeBufferPointer { nb in
                    out.withUnsafeMutableBufferPointer { o in
                        for j in 0..<k {
                            var s = degree[j] * v[j]
                            for t in 0..<4 { let q = Int(nb[4 * j + t]); if q >= 0 { s -= v[q] } }
                            o[j] = s
                        }
                    }
                }
            }
        }
        var ax = [Float](repeating: 0, count: k)
        apply(x, into: &ax)
        var r = (0..<k).map { b[$0] - ax[$0] }
        let bnorm = max(sqrt(b.reduce(0) { $0 + Double($1) * Double($1) }), 1e-12)
        var z = (0..<k).map { r[$0] / degree[$0] }
        var p = z
        var rz = zip(r, z).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        var ap = [Float](repeating: 0, count: k)
        var it = 0
        var rel = Float(sqrt(r.reduce(0) { $0 + Double($1) * Double($1) }) / bnorm)
        while it < maxIterations && rel > tolerance {
            apply(p, into: &ap)
            let pap = zip(p, ap).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            guard pap > 0 else { break }
            let alpha = Float(rz / pap)
            var rr = 0.0
            for j in 0..<k {
                x[j] += alpha * p[j]
                r[j] -= alpha * ap[j]
                z[j] = r[j] / degree[j]
                rr += Double(r[j]) * Double(r[j])
            }
            let rzNew = zip(r, z).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let beta = Float(rzNew / rz)
            rz = rzNew
            for j in 0..<k { p[j] = z[j] + beta * p[j] }
            it += 1
            rel = Float(sqrt(rr) / bnorm)
        }
        return (it, rel)
    }
}
