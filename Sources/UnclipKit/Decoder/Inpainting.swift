import Foundation

/// Whole-image inpainting: crop to the hole plus context, synthesise from
/// the surroundings, blend in the gradient domain, and paste back so every
/// pixel outside the mask keeps its exact bytes.
public enum Inpainting {
    /// How much of the photo around the hole the fill sees.
    public enum Context: Sendable {
        /// The hole plus a margin in proportion to it (48 to 512 pixels):
        /// enough to copy patches from.
        case margin
        /// The whole image when its long side is at most `side`; else the
        /// hole plus half its size (at least 64 pixels) around it. A
        /// diffusion fill needs the scene, and works at a bounded size.
        case whole(upTo: Int)
    }

    /// Makes the regenerated layer for a crop: `crop` (RGB), `mask` (1 =
    /// regenerate, soft allowed; grown past the hole for a seamless blend)
    /// → an image of the crop's size.
    public typealias Fill = (_ crop: Image, _ mask: [Float]) throws -> Image

    /// The mask value of the ring the layer extends into past the hole.
    static let seamRingWeight: Float = 0.5

    /// `mask` has one value per pixel: 1 regenerates, 0 keeps, between
    /// blends. The result has the input's channel count; regenerated
    /// pixels become opaque in proportion to the mask. Pixels where the
    /// mask is 0 are the input's bytes, untouched. `fill` replaces the
    /// patch synthesiser (the diffusion decoder's).
    public static func inpaint(_ image: Image, mask: [Float], options: SynthesisOptions, seamless: Bool = true,
                               seamRing: Int = 1, progress: Progress? = nil, context: Context = .margin,
                               fill: Fill? = nil) throws -> Image {
        guard mask.count == image.pixelCount else {
            throw UnclipError.usage("mask has \(mask.count) values, expected \(image.pixelCount)")
        }
        let w = image.width, h = image.height
        var x0 = w, y0 = h, x1 = -1, y1 = -1
        for y in 0..<h {
            for x in 0..<w where mask[y * w + x] > 0 {
                x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y)
            }
        }
        guard x1 >= 0 else { return image }
        // Context: enough surroundings to copy from, in proportion to the
        // hole, but never the whole of a large photo for a small hole.
        let side = max(x1 - x0 + 1, y1 - y0 + 1)
        var margin = min(max(48, side / 2), 512)
        if case let .whole(upTo: limit) = context { margin = max(w, h) <= limit ? max(w, h) : max(64, side / 2) }
        let cx0 = max(0, x0 - margin), cy0 = max(0, y0 - margin)
        let cx1 = min(w - 1, x1 + margin), cy1 = min(h - 1, y1 + margin)
        let cw = cx1 - cx0 + 1, ch = cy1 - cy0 + 1
        guard cw >= options.patchSize && ch >= options.patchSize else {
            throw UnclipError.usage("image is too small to inpaint: it must be at least \(options.patchSize) pixels on each side")
        }
        // Crop the 8-bit pixels first: a 12-megapixel photo with a small
        // hole never exists as Floats.
        let cropBytes = image.cropped(columns: cx0..<cx0 + cw, rows: cy0..<cy0 + ch)
        let crop = FloatImage(cropBytes.rgb())
        var cropMask = [Float](repeating: 0, count: cw * ch)
        for y in 0..<ch {
            for x in 0..<cw { cropMask[y * cw + x] = min(1, max(0, mask[(cy0 + y) * w + cx0 + x])) }
        }
        if !cropMask.contains(where: { $0 < 1 }) {
            throw UnclipError.usage("the mask covers the whole image: nothing is left to copy from")
        }
        let cropImage = cropBytes.rgb()
        // For a seamless blend the synthesised layer must extend past the
        // hole: Poisson cloning takes the jump across the seam from the
        // layer itself (Pérez et al. 2003, eq. 7, v_pq = g_p − g_q), and it
        // then spreads the layer's mismatch with the surroundings smoothly
        // over the hole. A layer equal to the original outside the hole
        // would carry its seam straight through. The ring is regenerated
        // only at `seamRingWeight` (a soft mask: the fill stays partly tied
        // to its pixels), and only one pixel wide: every pixel of it is one
        // the fill sees less of, which on thin strokes costs more than a
        // softer seam gains, and a ring regenerated in full left the seams
        // softer than the photo's.
        let synthMask = seamless
            ? zip(cropMask, InpaintMask.grow(cropMask.map { $0 > 0 ? 1 : 0 }, width: cw, height: ch, radius: seamRing))
                .map { max($0, seamRingWeight * $1) }
            : cropMask
        let synthesized = try fill.map { try $0(cropImage, synthMask) }
            ?? PatchSynthesis.synthesize(exemplars: [], width: cw, height: ch, known: cropImage, mask: synthMask,
                                         options: options, progress: progress)
        guard synthesized.width == cw && synthesized.height == ch else {
            throw UnclipError.failure("the fill made \(synthesized.width)x\(synthesized.height) pixels for a \(cw)x\(ch) region")
        }
        var result = FloatImage(synthesized)
        if seamless {
            // The synthesiser already faded soft mask values in; the solve
            // covers the whole region without fading a second time.
            // 1e-3 leaves errors well under one 8-bit level on average (at
            // most a few at the seam) in a third of the iterations of 1e-4.
            result = PoissonBlend.blend(source: result, into: crop, mask: cropMask.map { $0 > 0 ? 1 : 0 }, tolerance: 1e-3).image
        }
        // Paste back: only masked pixels change.
        var out = image
        let C = image.channels
        for y in 0..<ch {
            for x in 0..<cw {
                let m = cropMask[y * cw + x]
                guard m > 0 else { continue }
                let pi = (cy0 + y) * w + cx0 + x
                let v = (0..<3).map { FloatImage.quantize(result[x, y, $0]) }
                switch C {
                case 1, 2:
                    let r = Int(v[0]) * 19595, g = Int(v[1]) * 38470, b = Int(v[2]) * 7471
                    out.pixels[pi * C] = UInt8((r + g + b + 0x8000) >> 16)
                default:
                    for c in 0..<3 { out.pixels[pi * C + c] = v[c] }
                }
                if C == 2 || C == 4 {
                    let a = Float(image.pixels[pi * C + C - 1])
                    out.pixels[pi * C + C - 1] = FloatImage.quantize(m * 255 + (1 - m) * a)
                }
            }
        }
        return out
    }
}

extension Inpainting {
    /// Outpainting's canvas: `image` with `left`, `top`, `right`, `bottom`
    /// pixels added, the new border marked for regeneration (1) and the
    /// photo's own mask, if any, inside. The border starts as the nearest
    /// edge pixel; it is regenerated, never kept.
    public static func extend(_ image: Image, mask: [Float]?, left: Int, top: Int, right: Int, bottom: Int,
                              maxPixels: Int) throws -> (image: Image, mask: [Float]) {
        let w = image.width, h = image.height
        guard left >= 0, top >= 0, right >= 0, bottom >= 0, left > 0 || top > 0 || right > 0 || bottom > 0 else {
            throw UnclipError.usage("--extend \(left),\(top),\(right),\(bottom): give four pixel counts, at least one above 0")
        }
        // Each count alone is checked first, so that no sum below can overflow.
        guard left <= 2 * w, right <= 2 * w, top <= 2 * h, bottom <= 2 * h, left + right <= 2 * w, top + bottom <= 2 * h else {
            throw UnclipError.usage("--extend \(left),\(top),\(right),\(bottom): at most twice the image's size can be added on each axis (\(2 * w) pixels across, \(2 * h) down), so that the photo stays a third of the result")
        }
        let W = w + left + right, H = h + top + bottom
        guard W * H <= maxPixels else {
            throw UnclipError.usage("--extend: the result would be \(W)x\(H), more than --max-pixels \(maxPixels)")
        }
        let C = image.channels
        var out = Image(width: W, height: H, channels: C)
        var m = [Float](repeating: 1, count: W * H)
        for y in 0..<H {
            let sy = min(max(y - top, 0), h - 1)
            for x in 0..<W {
                let sx = min(max(x - left, 0), w - 1)
                let (o, i) = ((y * W + x) * C, (sy * w + sx) * C)
                for c in 0..<C { out.pixels[o + c] = image.pixels[i + c] }
                if y - top == sy && x - left == sx { m[y * W + x] = mask?[sy * w + sx] ?? 0 }
            }
        }
        return (out, m)
    }
}
