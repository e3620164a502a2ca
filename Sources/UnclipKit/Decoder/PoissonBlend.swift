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
                             tolerance: Float = 1e-4, maxIterations: Int = 2000) throws -> Image {
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
    /// `tolerance` is the relative residual ‖r‖/‖b‖ at the finest level.
    public static func blend(source: FloatImage, into target: FloatImage, mask: [Float],
                             tolerance: Float = 1e-4, maxIterations: Int = 2000) -> (image: FloatImage, report: Report) {
        precondition(source.width == target.width && source.height == target.height && source.channels == target.channels)
        let w = target.width, h = target.height, n = w * h
        let inside = mask.map { $0 > 0 }
        var out = target
        var worst: Float = 0, iterations = 0
        for c in 0..<target.channels {
            let plane = c * n
            // Solve for the correction c = f − source: harmonic inside the
            // region, (target − source) outside it.
            var d = [Float](repeating: 0, count: n)
            for i in 0..<n where !inside[i] { d[i] = target.data[plane + i] - source.data[plane + i] }
            let (correction, r) = solveMembrane(d, inside: inside, width: w, height: h,
                                                tolerance: tolerance, maxIterations: maxIterations)
            worst = max(worst, r.relativeResidual); iterations = max(iterations, r.iterations)
            for i in 0..<n where inside[i] {
                let m = min(1, mask[i])
                let f = source.data[plane + i] + correction[i]
                out.data[plane + i] = m * f + (1 - m) * target.data[plane + i]
            }
        }
        return (out, Report(iterations: iterations, relativeResidual: worst))
    }

    /// The harmonic membrane: values `d` outside `inside`, Laplace's equation
    /// inside. Cascadic multigrid (Bornemann & Deuflhard 1996): the problem
    /// is first solved on a half-resolution grid, whose enlarged solution
    /// removes the smooth error that conjugate gradients are slowest to
    /// remove, so each level needs only a few dozen iterations.
    static func solveMembrane(_ d: [Float], inside: [Bool], width w: Int, height h: Int,
                              tolerance: Float, maxIterations: Int) -> ([Float], Report) {
        let n = w * h
        var index = [Int32](repeating: -1, count: n)
        var pixels: [Int] = []
        for i in 0..<n where inside[i] { index[i] = Int32(pixels.count); pixels.append(i) }
        var result = d
        guard !pixels.isEmpty else { return (result, Report(iterations: 0, relativeResidual: 0)) }
        let k = pixels.count
        var neighbours = [Int32](repeating: -1, count: 4 * k)  // [K, 4]: region neighbours
        var degree = [Float](repeating: 0, count: k)
        var b = [Float](repeating: 0, count: k)
        var anchored = false
        for (j, i) in pixels.enumerated() {
            let x = i % w, y = i / w
            var slot = 0
            for (dx, dy) in [(-1, 0), (1, 0), (0, -1), (0, 1)] {
                let nx = x + dx, ny = y + dy
                guard nx >= 0 && nx < w && ny >= 0 && ny < h else { continue }
                degree[j] += 1
                let ni = ny * w + nx
                if index[ni] >= 0 { neighbours[4 * j + slot] = index[ni]; slot += 1 } else { b[j] += d[ni]; anchored = true }
            }
        }
        // A region touching no fixed pixel has no boundary condition: no correction.
        guard anchored else {
            for i in pixels { result[i] = 0 }
            return (result, Report(iterations: 0, relativeResidual: 0))
        }
        var x = [Float](repeating: 0, count: k)
        if k > 1024 && w >= 8 && h >= 8 {
            // Coarse grid: a coarse pixel is unknown when any of its fine
            // pixels is, so its known pixels average only known fine values.
            let cw = (w + 1) / 2, ch = (h + 1) / 2
            let outsideWeight = inside.map { $0 ? Float(0) : 1 }
            let dImage = FloatImage(width: w, height: h, channels: 1, data: d)
            let (cd, trust) = ImagePyramid.downsample(dImage, weight: outsideWeight, width: cw, height: ch)
            let cInside = trust.map { $0 < 0.999 }
            let (coarse, _) = solveMembrane(cd.data, inside: cInside, width: cw, height: ch,
                                            tolerance: tolerance, maxIterations: maxIterations)
            let up = FloatImage(width: cw, height: ch, channels: 1, data: coarse).resizedBilinear(width: w, height: h)
            for j in 0..<k { x[j] = up.data[pixels[j]] }
        } else {
            var guess = FloatImage(width: w, height: h, channels: 1, data: d)
            guess = ImagePyramid.pullPushFill(guess, trust: inside.map { $0 ? 0 : 1 })
            for j in 0..<k { x[j] = guess.data[pixels[j]] }
        }
        let r = conjugateGradient(&x, b: b, neighbours: neighbours, degree: degree,
                                  tolerance: tolerance, maxIterations: maxIterations)
        for j in 0..<k { result[pixels[j]] = x[j] }
        return (result, Report(iterations: r.iterations, relativeResidual: r.residual))
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
