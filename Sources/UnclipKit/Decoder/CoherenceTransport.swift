import Foundation

/// Fills a hole by carrying the values around it inward along the edges
/// that meet its boundary, instead of smoothing them in from every side.
/// Reference: Bornemann & März 2007, "Fast image inpainting based on
/// coherence transport", J. Math. Imaging Vis. 28(3).
///
/// Used on the texture-feature channels of an inpainting's texture prior:
/// where an edge enters the hole, the prior says "an edge of this direction
/// goes on here", so the patch search prefers patches that continue it.
public enum CoherenceTransport {
    /// `values`: [C, H, W], filled where `trust` < 0.999. `gray`: [H, W], the
    /// picture whose edges (structure tensor, Weickert 1999) steer the fill,
    /// read where trusted only. Pixels are filled nearest the trusted ones
    /// first, each from the already known or filled pixels within `radius`,
    /// weighted 1/|d|·exp(−κ²/(2r²)·c·⟨n, d⟩²): neighbours along the edge
    /// count, those across it hardly do, and where the edge direction is
    /// uncertain (coherence c near 0) every direction counts alike.
    public static func fill(_ values: FloatImage, gray: [Float], trust: [Float],
                            radius r: Int = 5, kappa κ: Float = 25, tensorRadius ρ: Int = 3) -> FloatImage {
        let w = values.width, h = values.height, n = w * h
        precondition(gray.count == n && trust.count == n)
        // Only pixels near the hole matter; a small hole in a large picture
        // is filled within its bounding box plus a margin.
        var x0 = w, x1 = -1, y0 = h, y1 = -1
        for i in 0..<n where !(trust[i] >= 0.999) {
            x0 = min(x0, i % w); x1 = max(x1, i % w); y0 = min(y0, i / w); y1 = max(y1, i / w)
        }
        guard x1 >= 0 else { return values }
        let margin = r + 2 * ρ + 16
        x0 = max(0, x0 - margin); y0 = max(0, y0 - margin)
        x1 = min(w - 1, x1 + margin); y1 = min(h - 1, y1 + margin)
        let bw = x1 - x0 + 1, bh = y1 - y0 + 1
        guard bw < w || bh < h else {
            return transport(values, gray: gray, trust: trust, radius: r, kappa: κ, tensorRadius: ρ)
        }
        func part(_ plane: [Float]) -> [Float] {
            FloatImage(width: w, height: h, channels: 1, data: plane).crop(x: x0, y: y0, width: bw, height: bh).data
        }
        let filled = transport(values.crop(x: x0, y: y0, width: bw, height: bh), gray: part(gray), trust: part(trust),
                               radius: r, kappa: κ, tensorRadius: ρ)
        var out = values
        out.paste(filled, x: x0, y: y0)
        return out
    }

    /// `fill` over the whole of `values`.
    private static func transport(_ values: FloatImage, gray: [Float], trust: [Float],
                                  radius r: Int, kappa κ: Float, tensorRadius ρ: Int) -> FloatImage {
        let w = values.width, h = values.height, n = w * h
        let known = trust.map { $0 >= 0.999 }
        let tensor = structureTensor(gray, known: known, width: w, height: h, radius: ρ)

        let distance = InpaintMask.squaredDistance(to: known, width: w, height: h)
        let order = (0..<n).filter { !known[$0] }.sorted { (distance[$0], $0) < (distance[$1], $1) }
        var done = known
        var out = values
        let C = values.channels
        var acc = [Float](repeating: 0, count: C)
        let sharpness = κ * κ / Float(2 * r * r)
        // The disc of neighbours: (dx, dy, 1/|d|).
        var disc: [(Int, Int, Float)] = []
        for dy in -r...r {
            for dx in -r...r where (dx != 0 || dy != 0) && dx * dx + dy * dy <= r * r {
                disc.append((dx, dy, 1 / Float(dx * dx + dy * dy).squareRoot()))
            }
        }
        for i in order {
            let px = i % w, py = i / w
            let (nx, ny, coherence) = normal(tensor, at: i, planeSize: n)
            let k = sharpness * coherence
            for c in 0..<C { acc[c] = 0 }
            var total: Float = 0
            for (dx, dy, inverse) in disc {
                let qx = px + dx, qy = py + dy
                guard qx >= 0 && qx < w && qy >= 0 && qy < h else { continue }
                let q = qy * w + qx
                guard done[q] else { continue }
                let across = nx * Float(dx) + ny * Float(dy)
                let weight = exp(-k * across * across) * inverse
                total += weight
                for c in 0..<C { acc[c] += weight * out.data[c * n + q] }
            }
            if total > 1e-20 {
                for c in 0..<C { out.data[c * n + i] = acc[c] / total }
            }
            done[i] = true
        }
        return out
    }

    /// The structure tensor's three planes (Jxx, Jxy, Jyy) [3, H, W] from
    /// central differences among known pixels, averaged over a
    /// (2ρ+1)² window and spread into the hole by pull–push, so that a
    /// hole pixel sees the directions of the edges around it.
    static func structureTensor(_ gray: [Float], known: [Bool], width w: Int, height h: Int, radius ρ: Int) -> FloatImage {
        let n = w * h
        var tensor = FloatImage(width: w, height: h, channels: 3)
        var jxx = [Float](repeating: 0, count: n), jxy = jxx, jyy = jxx, valid = jxx
        if w >= 3 && h >= 3 {
            for y in 1..<(h - 1) {
                for x in 1..<(w - 1) {
                    let i = y * w + x
                    guard known[i - 1] && known[i + 1] && known[i - w] && known[i + w] else { continue }
                    let gx = (gray[i + 1] - gray[i - 1]) / 2, gy = (gray[i + w] - gray[i - w]) / 2
                    jxx[i] = gx * gx; jxy[i] = gx * gy; jyy[i] = gy * gy; valid[i] = 1
                }
            }
        }
        let share = TextureFeatures.windowMean(valid, valid: [Float](repeating: 1, count: n), width: w, height: h, radius: ρ)
        for (c, plane) in [jxx, jxy, jyy].enumerated() {
            let mean = TextureFeatures.windowMean(plane, valid: valid, width: w, height: h, radius: ρ)
            tensor.data.replaceSubrange((c * n)..<((c + 1) * n), with: mean)
        }
        let trust: [Float] = (0..<n).map { known[$0] && share[$0] > 0 ? 1 : 0 }
        return ImagePyramid.pullPushFill(tensor, trust: trust)
    }

    /// Unit normal to the edge at pixel `i` (the tensor's leading
    /// eigenvector) and the coherence ((λ1 − λ2)/(λ1 + λ2))² in [0, 1].
    static func normal(_ tensor: FloatImage, at i: Int, planeSize n: Int) -> (Float, Float, Float) {
        let a = tensor.data[i], b = tensor.data[n + i], c = tensor.data[2 * n + i]
        let half = (a + c) / 2
        let root = max(0, half * half - (a * c - b * b)).squareRoot()
        let l1 = half + root, l2 = half - root
        guard l1 + l2 > 1e-9 else { return (1, 0, 0) }
        var nx = b, ny = l1 - a
        if abs(nx) + abs(ny) < 1e-12 { (nx, ny) = a >= c ? (1, 0) : (0, 1) }
        let length = (nx * nx + ny * ny).squareRoot()
        let q = (l1 - l2) / (l1 + l2)
        return (nx / length, ny / length, q * q)
    }
}
