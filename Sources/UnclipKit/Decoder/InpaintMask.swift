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

    /// What `unclip inpaint` regenerates, from its inputs: the mask image
    /// (same size as the image) or else the image's alpha, optionally
    /// inverted; the canvas grown by `extend` (left, top, right, bottom) for
    /// outpainting; then grown and feathered. Returns the image to fill
    /// (opaque when its alpha was the mask) and the hole. A missing, empty or
    /// all-covering mask is a usage error naming `maskName` or `name`.
    public static func prepare(image input: Image, name: String, mask maskImage: Image?, maskName: String?, invert: Bool,
                               extend: (Int, Int, Int, Int)?, grow: Int, feather: Int,
                               maxPixels: Int) throws -> (image: Image, hole: [Float]) {
        var plane: [Float]?
        var image = input
        if let maskImage {
            guard maskImage.width == input.width && maskImage.height == input.height else {
                throw UnclipError.usage("\(maskName ?? "the mask"): mask is \(maskImage.width)x\(maskImage.height) but \(name) is \(input.width)x\(input.height)")
            }
            plane = fromMaskImage(maskImage, invert: invert)
        } else if input.hasAlpha {
            var p = fromAlpha(input)
            if invert { p = p.map { 1 - $0 } }
            plane = p
            // The alpha was the mask, not transparency: the result is opaque.
            image = input.channels == 4 ? input.rgb() : Image(width: input.width, height: input.height, channels: 1, pixels: input.gray())
        } else if extend == nil {
            throw UnclipError.usage("\(name): no --mask given and the image has no alpha channel to use as one")
        }
        if let (l, t, r, b) = extend {
            let grown = try Inpainting.extend(image, mask: plane, left: l, top: t, right: r, bottom: b, maxPixels: maxPixels)
            image = grown.image
            plane = grown.mask
        }
        guard grow >= 0, feather >= 0 else { throw UnclipError.usage("--grow and --feather must be 0 or more pixels") }
        let w = image.width, h = image.height
        // Beyond w + h pixels (more than the diagonal) a radius changes nothing more.
        var hole = Self.grow(plane!, width: w, height: h, radius: min(grow, w + h))
        hole = Self.feather(hole, width: w, height: h, radius: min(feather, w + h))
        let cover = coverage(hole)
        let label = maskName ?? "\(name) (alpha)"
        guard cover.touched > 0 else { throw UnclipError.usage("\(label): the mask is empty, so there is nothing to inpaint") }
        guard cover.full < hole.count else {
            throw UnclipError.usage("\(label): the mask covers the whole image, so there is nothing to copy from")
        }
        return (image, hole)
    }

    /// Dilates by `radius` pixels (a disc), so a loosely drawn mask also
    /// takes the object's halo and shadow edge.
    public static func grow(_ mask: [Float], width w: Int, height h: Int, radius: Int) -> [Float] {
        guard radius > 0 else { return mask }
        // The disc's max costs a pass per disc row; per distinct mask value,
        // a distance transform costs about three. Few values and a large
        // radius (a drawn mask is usually all 0 or 1) go by level sets.
        let levels = Set(mask.lazy.filter { $0 > 0 }).sorted()
        if 3 * levels.count < radius { return growByLevels(mask, levels: levels, width: w, height: h, radius: radius) }
        // Only the mask's bounding box, widened by the radius, can change.
        var x0 = w, y0 = h, x1 = -1, y1 = -1
        for y in 0..<h { for x in 0..<w where mask[y * w + x] > 0 {
            x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y)
        } }
        guard x1 >= 0 else { return mask }
        x0 = max(0, x0 - radius); y0 = max(0, y0 - radius)
        x1 = min(w - 1, x1 + radius); y1 = min(h - 1, y1 + radius)
        let bw = x1 - x0 + 1, bh = y1 - y0 + 1
        var box = [Float](repeating: 0, count: bw * bh)
        for y in 0..<bh { for x in 0..<bw { box[y * bw + x] = mask[(y0 + y) * w + x0 + x] } }
        // An exact disc as a union of row spans: row dy of the disc is a 1-D
        // running max of half-width ⌊√(r² − dy²)⌋, shifted by dy.
        var grown = [Float](repeating: 0, count: bw * bh)
        for k in 0...radius {
            let half = Int(Double(radius * radius - k * k).squareRoot())
            let rows = horizontalMax(box, width: bw, height: bh, half: half)
            for dy in Set([-k, k]) {
                for y in 0..<bh {
                    let sy = y + dy
                    guard sy >= 0 && sy < bh else { continue }
                    for x in 0..<bw { grown[y * bw + x] = max(grown[y * bw + x], rows[sy * bw + x]) }
                }
            }
        }
        var out = mask
        for y in 0..<bh { for x in 0..<bw { out[(y0 + y) * w + x0 + x] = grown[y * bw + x] } }
        return out
    }

    /// `grow` as the union of dilated level sets: out = max(mask, the largest
    /// level t with a pixel ≥ t within the disc), which is the disc's max.
    /// Distances are exact in double (integers below 2^53), so the disc is
    /// the same set of pixels as `grow`'s, dx² + dy² ≤ r².
    static func growByLevels(_ mask: [Float], levels: [Float], width w: Int, height h: Int, radius: Int) -> [Float] {
        var out = mask
        let r2 = Double(radius * radius)
        for t in levels {
            let d2 = squaredDistance(to: mask.map { $0 >= t }, width: w, height: h, as: Double.self)
            for i in 0..<out.count where d2[i] <= r2 && out[i] < t { out[i] = t }
        }
        return out
    }

    /// Softens the edge over `radius` pixels outward: the inside of the mask
    /// stays fully regenerated, a linear ramp in Euclidean distance fades
    /// into the kept pixels, and nothing farther than `radius` changes.
    public static func feather(_ mask: [Float], width w: Int, height h: Int, radius: Int) -> [Float] {
        guard radius > 0 else { return mask }
        let d2 = squaredDistance(to: mask.map { $0 > 0 }, width: w, height: h)
        let r = Float(radius + 1)
        return (0..<(w * h)).map { i in
            let ramp = max(0, 1 - d2[i].squareRoot() / r)
            return max(mask[i], ramp)
        }
    }

    /// Squared Euclidean distance to the nearest `true` pixel (Felzenszwalb &
    /// Huttenlocher 2012, "Distance transforms of sampled functions", §2.1):
    /// two passes of 1-D lower envelopes of parabolas, O(pixels).
    static func squaredDistance<T: BinaryFloatingPoint>(to set: [Bool], width w: Int, height h: Int, as _: T.Type = Float.self) -> [T] {
        let inf: T = 1e20
        var f = set.map { $0 ? T(0) : inf }
        func pass(_ get: (Int) -> T, _ put: (Int, T) -> Void, _ n: Int) {
            var v = [Int](repeating: 0, count: n), z = [T](repeating: 0, count: n + 1)
            var k = 0
            z[0] = -inf; z[1] = inf
            for q in 1..<max(n, 1) {
                var s: T
                repeat {
                    let p = v[k]
                    s = ((get(q) + T(q * q)) - (get(p) + T(p * p))) / T(2 * q - 2 * p)
                    if s <= z[k] { k -= 1 } else { break }
                } while k >= 0
                k += 1
                v[k] = q; z[k] = s; z[k + 1] = inf
            }
            k = 0
            var out = [T](repeating: 0, count: n)
            for q in 0..<n {
                while z[k + 1] < T(q) { k += 1 }
                let p = v[k]
                out[q] = T((q - p) * (q - p)) + get(p)
            }
            for q in 0..<n { put(q, out[q]) }
        }
        for x in 0..<w { pass({ f[$0 * w + x] }, { f[$0 * w + x] = $1 }, h) }
        for y in 0..<h { pass({ f[y * w + $0] }, { f[y * w + $0] = $1 }, w) }
        return f
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
}
