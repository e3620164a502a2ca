/// The exemplar an image embedding carries: the source at working
/// resolution, which the decoder draws its pixels from.
public enum Exemplar {
    /// `image` as RGB with its longest side at most `maxSide`, shrunk by area
    /// averaging and never enlarged (upscaling would only invent pixels the
    /// decoder then copies).
    public static func make(_ image: Image, maxSide: Int) -> Image {
        let rgb = image.rgb()
        let long = max(rgb.width, rgb.height)
        guard long > maxSide, maxSide > 0 else { return rgb }
        let w = max(1, (rgb.width * maxSide + long / 2) / long)
        let h = max(1, (rgb.height * maxSide + long / 2) / long)
        return areaResize(rgb, width: w, height: h)
    }

    /// Box-filter resampling for shrinking: every output pixel is the mean of
    /// exactly the source area it covers, partial source pixels weighted by
    /// the covered fraction (OpenCV's INTER_AREA, Pillow's BOX). Unlike
    /// bicubic or bilinear at large factors it aliases nothing away and
    /// skips no source pixel. Separable: rows first, then columns.
    public static func areaResize(_ rgb: Image, width w: Int, height h: Int) -> Image {
        precondition(rgb.channels == 3 && w > 0 && h > 0)
        let sw = rgb.width, sh = rgb.height
        let xs = weights(from: sw, to: w), ys = weights(from: sh, to: h)
        // [sh, w, 3] after the horizontal pass.
        var mid = [Float](repeating: 0, count: sh * w * 3)
        rgb.pixels.withUnsafeBufferPointer { src in
            mid.withUnsafeMutableBufferPointer { dst in
                for y in 0..<sh {
                    let srow = src.baseAddress! + y * sw * 3, drow = dst.baseAddress! + y * w * 3
                    for (x, taps) in xs.enumerated() {
                        var r: Float = 0, g: Float = 0, b: Float = 0
                        for (i, wt) in taps {
                            r += wt * Float(srow[3 * i]); g += wt * Float(srow[3 * i + 1]); b += wt * Float(srow[3 * i + 2])
                        }
                        drow[3 * x] = r; drow[3 * x + 1] = g; drow[3 * x + 2] = b
                    }
                }
            }
        }
        var out = [UInt8](repeating: 0, count: h * w * 3)
        mid.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for (y, taps) in ys.enumerated() {
                    let drow = dst.baseAddress! + y * w * 3
                    for j in 0..<(w * 3) {
                        var acc: Float = 0
                        for (i, wt) in taps { acc += wt * src[i * w * 3 + j] }
                        drow[j] = UInt8(max(0, min(255, (acc + 0.5).rounded(.down))))
                    }
                }
            }
        }
        return Image(width: w, height: h, channels: 3, pixels: out)
    }

    /// For each of `n` output cells, the source indices it overlaps and the
    /// overlap as a fraction of the cell (each list sums to 1).
    static func weights(from m: Int, to n: Int) -> [[(Int, Float)]] {
        let scale = Double(m) / Double(n)
        return (0..<n).map { o in
            let lo = Double(o) * scale, hi = Double(o + 1) * scale
            var taps: [(Int, Float)] = []
            var i = Int(lo)
            while Double(i) < hi && i < m {
                let cover = min(hi, Double(i + 1)) - max(lo, Double(i))
                if cover > 1e-9 { taps.append((i, Float(cover / scale))) }
                i += 1
            }
            return taps
        }
    }
}
