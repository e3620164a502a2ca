import Foundation

/// The conventions for saying which pixels to regenerate, as one plane of
/// Floats (1 = regenerate, 0 = keep, between = blend).
public enum InpaintMask {
    /// A separate mask image: white regenerates, black keeps, grey is soft
    /// (as diffusers' inpainting pipelines read it). Colour masks use their
    /// luminance; a transparent mask pixel keeps.
    public static func fromMaskImage(_ mask: Image, invert: Bool = false) -> [Float] {
        let g = mask.gray(), a = mask.alpha()
        return (0..<mask.pixelCount).map { i in
            let v = Float(g[i]) / 255 * Float(a[i]) / 255
            return invert ? 1 - v : v
        }
    }

    /// The image's own alpha channel: transparent regenerates (as OpenAI's
    /// image edits endpoint reads it), partial transparency is soft.
    public static func fromAlpha(_ image: Image) -> [Float] {
        image.alpha().map { 1 - Float($0) / 255 }
    }

    /// Dilates by `radius` pixels (a disc), so a loosely drawn mask also
    /// takes the object's halo and shadow edge.
    public static func grow(_ mask: [Float], width w: Int, height h: Int, radius: Int) -> [Float] {
        guard radius > 0 else { return mask }
        // Separable max filters of a disc are not exact; run the exact disc
        // as a max over row spans, each a 1-D running max of the right half-width.
        var spans: [Int] = []
        for dy in -radius...radius {
            spans.append(Int((Double(radius * radius - dy * dy)).squareRoot()))
        }
        var rowMax: [Int: [Float]] = [:]
        for half in Set(spans) { rowMax[half] = horizontalMax(mask, width: w, height: h, half: half) }
        var out = [Float](repeating: 0, count: w * h)
        for y in 0..<h {
            for (k, dy) in (-radius...radius).enumerated() {
                let sy = y + dy
                guard sy >= 0 && sy < h else { continue }
                let src = rowMax[spans[k]]!
                for x in 0..<w { out[y * w + x] = max(out[y * w + x], src[sy * w + x]) }
            }
        }
        return out
    }

    /// Softens the edge over `radius` pixels outward: the inside of the mask
    /// stays fully regenerated, a ramp fades into the kept pixels.
    public static func feather(_ mask: [Float], width w: Int, height h: Int, radius: Int) -> [Float] {
        guard radius > 0 else { return mask }
        var blurred = grow(mask, width: w, height: h, radius: radius)
        // Three box passes approximate a Gaussian (Wells 1986).
        let r = max(1, radius / 2)
        for _ in 0..<3 {
            blurred = boxBlur(blurred, width: w, height: h, radius: r)
        }
        return zip(mask, blurred).map { max($0, $1) }
    }

    /// Fraction of pixels the mask touches (> 0) and fully covers (≥ 1).
    public static func coverage(_ mask: [Float]) -> (touched: Int, full: Int) {
        var t = 0, f = 0
        for v in mask { if v > 0 { t += 1 }; if v >= 1 { f += 1 } }
        return (t, f)
    }

    /// Running max over [x - half, x + half] along each row in O(1) per pixel
    /// (van Herk 1992; Gil & Werman 1993).
    static func horizontalMax(_ m: [Float], width w: Int, height h: Int, half: Int) -> [Float] {
        var out = [Float](repeating: 0, count: w * h)
        let k = 2 * half + 1, n = w + 2 * half
        // The row padded with zeros (neutral for a max of values ≥ 0), so
        // every window has exactly k samples.
        var padded = [Float](repeating: 0, count: n)
        var g = [Float](repeating: 0, count: n), hb = [Float](repeating: 0, count: n)
        for y in 0..<h {
            let row = y * w
            for x in 0..<w { padded[half + x] = m[row + x] }
            // Prefix maxima within blocks of k (g) and suffix maxima (hb).
            var start = 0
            while start < n {
                let end = min(start + k, n)
                var v: Float = 0
                for x in start..<end { v = max(v, padded[x]); g[x] = v }
                v = 0
                for x in stride(from: end - 1, through: start, by: -1) { v = max(v, padded[x]); hb[x] = v }
                start = end
            }
            for x in 0..<w { out[row + x] = max(hb[x], g[x + k - 1]) }
        }
        return out
    }

    static func boxBlur(_ m: [Float], width w: Int, height h: Int, radius r: Int) -> [Float] {
        var tmp = [Float](repeating: 0, count: w * h), out = tmp
        for y in 0..<h {
            var acc: Float = 0
            for x in -r...r { acc += m[y * w + min(max(x, 0), w - 1)] }
            for x in 0..<w {
                tmp[y * w + x] = acc / Float(2 * r + 1)
                acc += m[y * w + min(x + r + 1, w - 1)] - m[y * w + max(x - r, 0)]
            }
        }
        for x in 0..<w {
            var acc: Float = 0
            for y in -r...r { acc += tmp[min(max(y, 0), h - 1) * w + x] }
            for y in 0..<h {
                out[y * w + x] = acc / Float(2 * r + 1)
                acc += tmp[min(y + r + 1, h - 1) * w + x] - tmp[max(y - r, 0) * w + x]
            }
        }
        return out
    }
}
