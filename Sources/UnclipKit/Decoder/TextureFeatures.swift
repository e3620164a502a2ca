import Foundation

/// Texture features as extra channels (Newson et al. 2014, "Video
/// inpainting of complex scenes", §4.2): the local mean absolute gradient
/// in x and y. With them in the patch distance a smooth patch no longer
/// matches a blurry guess of a textured area better than a textured patch
/// does, which is what otherwise drains texture out of large holes.
enum TextureFeatures {
    /// `image` with two channels appended: λ·mean|∂x gray| and λ·mean|∂y gray|
    /// over a (2r+1)² window. Only differences between two trusted pixels
    /// count, so a hole's own (unknown) contents never leak into them.
    static func appending(to image: FloatImage, trust: [Float]?, weight λ: Float, radius r: Int = 2) -> FloatImage {
        let w = image.width, h = image.height, n = w * h
        var gray = [Float](repeating: 0, count: n)
        let C = min(3, image.channels)
        for c in 0..<C { for i in 0..<n { gray[i] += image.data[c * n + i] / Float(C) } }
        func ok(_ i: Int) -> Bool { trust.map { $0[i] >= 0.999 } ?? true }
        var gx = [Float](repeating: 0, count: n), vx = [Float](repeating: 0, count: n)
        var gy = [Float](repeating: 0, count: n), vy = [Float](repeating: 0, count: n)
        for y in 0..<h {
            for x in 0..<w {
                let i = y * w + x
                if x + 1 < w && ok(i) && ok(i + 1) { gx[i] = abs(gray[i + 1] - gray[i]); vx[i] = 1 }
                if y + 1 < h && ok(i) && ok(i + w) { gy[i] = abs(gray[i + w] - gray[i]); vy[i] = 1 }
            }
        }
        let fx = windowMean(gx, valid: vx, width: w, height: h, radius: r)
        let fy = windowMean(gy, valid: vy, width: w, height: h, radius: r)
        var out = FloatImage(width: w, height: h, channels: image.channels + 2)
        out.data.replaceSubrange(0..<(image.channels * n), with: image.data)
        for i in 0..<n {
            out.data[image.channels * n + i] = λ * fx[i]
            out.data[(image.channels + 1) * n + i] = λ * fy[i]
        }
        return out
    }

    /// Σ v·valid / Σ valid over a box window, by summed-area tables.
    static func windowMean(_ v: [Float], valid: [Float], width w: Int, height h: Int, radius r: Int) -> [Float] {
        var sv = [Double](repeating: 0, count: (w + 1) * (h + 1)), sc = sv
        for y in 0..<h {
            var rv = 0.0, rc = 0.0
            for x in 0..<w {
                rv += Double(v[y * w + x]); rc += Double(valid[y * w + x])
                sv[(y + 1) * (w + 1) + x + 1] = sv[y * (w + 1) + x + 1] + rv
                sc[(y + 1) * (w + 1) + x + 1] = sc[y * (w + 1) + x + 1] + rc
            }
        }
        var out = [Float](repeating: 0, count: w * h)
        for y in 0..<h {
            let y0 = max(0, y - r), y1 = min(h, y + r + 1)
            for x in 0..<w {
                let x0 = max(0, x - r), x1 = min(w, x + r + 1)
                let a = y1 * (w + 1), b = y0 * (w + 1)
                let s = sv[a + x1] - sv[b + x1] - sv[a + x0] + sv[b + x0]
                let c = sc[a + x1] - sc[b + x1] - sc[a + x0] + sc[b + x0]
                out[y * w + x] = c > 0 ? Float(s / c) : 0
            }
        }
        return out
    }
}
