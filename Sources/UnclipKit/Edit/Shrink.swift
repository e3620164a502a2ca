import Foundation

/// Box-filter reduction, used to make the small proxies that edit searches
/// score: an embedding model looks at a fixed, low resolution anyway, and a
/// search evaluates hundreds of candidates.
public enum Shrink {
    /// Averages `image` (RGB) so that its shorter side is at most `shortSide`,
    /// keeping the aspect ratio. Smaller images come back unchanged.
    public static func toShortSide(_ image: Image, _ shortSide: Int) -> Image {
        let src = image.rgb()
        let s = min(src.width, src.height)
        guard s > shortSide, shortSide > 0 else { return src }
        let w = max(1, (src.width * shortSide + s / 2) / s), h = max(1, (src.height * shortSide + s / 2) / s)
        return resize(src, width: w, height: h)
    }

    /// Exact area averaging onto a smaller `width` × `height` grid: every
    /// source pixel contributes by the fraction of it each output cell covers.
    public static func resize(_ src: Image, width w: Int, height h: Int) -> Image {
        precondition(w <= src.width && h <= src.height, "Shrink only reduces")
        let sw = src.width, sh = src.height
        func spans(_ n: Int, _ sn: Int) -> [[(Int, Double)]] {
            let scale = Double(sn) / Double(n)
            return (0..<n).map { o in
                let a = Double(o) * scale, b = Double(o + 1) * scale
                var out: [(Int, Double)] = []
                var i = Int(a)
                while Double(i) < b && i < sn {
                    let cover = min(b, Double(i + 1)) - max(a, Double(i))
                    if cover > 1e-12 { out.append((i, cover / scale)) }
                    i += 1
                }
                return out
            }
        }
        let xs = spans(w, sw), ys = spans(h, sh)
        // Horizontal pass into [sh, w, 3] doubles, then vertical.
        var tmp = [Double](repeating: 0, count: sh * w * 3)
        for y in 0..<sh {
            for x in 0..<w {
                var acc = (0.0, 0.0, 0.0)
                for (i, wt) in xs[x] {
                    let p = (y * sw + i) * 3
                    acc.0 += wt * Double(src.pixels[p]); acc.1 += wt * Double(src.pixels[p + 1]); acc.2 += wt * Double(src.pixels[p + 2])
                }
                let q = (y * w + x) * 3
                tmp[q] = acc.0; tmp[q + 1] = acc.1; tmp[q + 2] = acc.2
            }
        }
        var out = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                var acc = (0.0, 0.0, 0.0)
                for (j, wt) in ys[y] {
                    let q = (j * w + x) * 3
                    acc.0 += wt * tmp[q]; acc.1 += wt * tmp[q + 1]; acc.2 += wt * tmp[q + 2]
                }
                let o = (y * w + x) * 3
                out[o] = UInt8(min(255, max(0, acc.0 + 0.5)))
                out[o + 1] = UInt8(min(255, max(0, acc.1 + 0.5)))
                out[o + 2] = UInt8(min(255, max(0, acc.2 + 0.5)))
            }
        }
        return Image(width: w, height: h, channels: 3, pixels: out)
    }
}
