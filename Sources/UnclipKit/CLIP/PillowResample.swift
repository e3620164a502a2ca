import Foundation

/// Pillow's convolution resampling (`ImagingResample`, libImaging/Resample.c),
/// reproduced bit for bit for 8-bit images so CLIP sees the pixels it sees
/// under transformers: a separable filter whose support widens by the
/// downscale factor (antialiasing), coefficients normalised per output pixel
/// then quantised to 22-bit fixed point, a horizontal pass first, rounding
/// to uint8 in between, then a vertical pass. A dimension that keeps its
/// size skips its pass, as Pillow does.
public enum PillowResample {
    /// Keys' cubic convolution kernel with a = −0.5 (Keys 1981), support 2.
    static func bicubicKernel(_ x: Double) -> Double {
        let a = -0.5
        let x = abs(x)
        if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
        if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0
    }

    static let precisionBits = 32 - 8 - 2

    /// Per output index: first input index, tap count, and fixed-point taps.
    struct Coefficients {
        var start: [Int]
        var count: [Int]
        var taps: [Int32] // [outSize, ksize]
        var ksize: Int
    }

    static func coefficients(inSize: Int, outSize: Int) -> Coefficients {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = 2.0 * filterScale
        let ksize = Int(support.rounded(.up)) * 2 + 1
        var start = [Int](repeating: 0, count: outSize)
        var count = [Int](repeating: 0, count: outSize)
        var taps = [Int32](repeating: 0, count: outSize * ksize)
        var w = [Double](repeating: 0, count: ksize)
        for xx in 0..<outSize {
            let center = (Double(xx) + 0.5) * scale
            let ss = 1.0 / filterScale
            // C's (int) cast truncates toward zero; both ends are rounded that way.
            let xmin = max(Int(center - support + 0.5), 0)
            let xmax = min(Int(center + support + 0.5), inSize) - xmin
            var sum = 0.0
            for x in 0..<xmax {
                w[x] = bicubicKernel((Double(x + xmin) - center + 0.5) * ss)
                sum += w[x]
            }
            for x in 0..<xmax {
                let k = sum != 0 ? w[x] / sum : w[x]
                let scaled = k * Double(1 << precisionBits)
                taps[xx * ksize + x] = Int32(k < 0 ? -0.5 + scaled : 0.5 + scaled)
            }
            start[xx] = xmin
            count[xx] = xmax
        }
        return Coefficients(start: start, count: count, taps: taps, ksize: ksize)
    }

    @inline(__always) static func clip8(_ v: Int32) -> UInt8 {
        let s = v >> Int32(precisionBits)
        return s < 0 ? 0 : s > 255 ? 255 : UInt8(s)
    }

    /// Bicubic resize of an 8-bit image of any channel count (each channel
    /// independently, which is what Pillow does for L and RGB).
    public static func bicubic(_ image: Image, width: Int, height: Int) -> Image {
        bicubic(image, width: width, height: height, rows: 0..<height, columns: 0..<width)
    }

    /// Only `rows` × `columns` of the resized image, each pixel exactly as in
    /// the whole: every output pixel of a pass depends on its own filter
    /// taps alone, so a crop right after the resize (CLIP's) needs no more.
    public static func bicubic(_ image: Image, width: Int, height: Int, rows: Range<Int>, columns: Range<Int>) -> Image {
        precondition(width > 0 && height > 0 && rows.clamped(to: 0..<height) == rows && columns.clamped(to: 0..<width) == columns)
        var current = image
        if width != image.width {
            current = horizontal(current, width: width, columns: columns)
        } else if columns != 0..<width {
            current = current.cropped(columns: columns, rows: 0..<current.height)
        }
        if height != image.height {
            current = vertical(current, height: height, rows: rows)
        } else if rows != 0..<height {
            current = current.cropped(columns: 0..<current.width, rows: rows)
        }
        return current
    }

    /// Output columns `columns` of a horizontal pass to `width`.
    static func horizontal(_ im: Image, width: Int, columns: Range<Int>) -> Image {
        let co = coefficients(inSize: im.width, outSize: width)
        let ch = im.channels, outWidth = columns.count
        var out = [UInt8](repeating: 0, count: outWidth * im.height * ch)
        let half = Int32(1 << (precisionBits - 1))
        im.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<im.height {
                    let row = y * im.width * ch
                    for (ox, xx) in columns.enumerated() {
                        let k0 = xx * co.ksize, x0 = co.start[xx]
                        let o = (y * outWidth + ox) * ch
                        if ch == 3 {
                            // RGB, the common case: one walk over the taps for all three channels.
                            var s0 = half, s1 = half, s2 = half
                            var p = row + x0 * 3
                            for x in 0..<co.count[xx] {
                                let t = co.taps[k0 + x]
                                s0 &+= Int32(src[p]) &* t
                                s1 &+= Int32(src[p + 1]) &* t
                                s2 &+= Int32(src[p + 2]) &* t
                                p += 3
                            }
                            dst[o] = clip8(s0); dst[o + 1] = clip8(s1); dst[o + 2] = clip8(s2)
                            continue
                        }
                        for c in 0..<ch {
                            var ss = half
                            for x in 0..<co.count[xx] {
                                ss &+= Int32(src[row + (x0 + x) * ch + c]) &* co.taps[k0 + x]
                            }
                            dst[o + c] = clip8(ss)
                        }
                    }
                }
            }
        }
        return Image(width: outWidth, height: im.height, channels: ch, pixels: out)
    }

    /// Output rows `rows` of a vertical pass to `height`.
    static func vertical(_ im: Image, height: Int, rows: Range<Int>) -> Image {
        let co = coefficients(inSize: im.height, outSize: height)
        let ch = im.channels, rowLen = im.width * ch
        var out = [UInt8](repeating: 0, count: rowLen * rows.count)
        let half = Int32(1 << (precisionBits - 1))
        im.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for (oy, yy) in rows.enumerated() {
                    let k0 = yy * co.ksize, y0 = co.start[yy]
                    for i in 0..<rowLen {
                        var ss = half
                        for y in 0..<co.count[yy] {
                            ss &+= Int32(src[(y0 + y) * rowLen + i]) &* co.taps[k0 + y]
                        }
                        dst[oy * rowLen + i] = clip8(ss)
                    }
                }
            }
        }
        return Image(width: im.width, height: rows.count, channels: ch, pixels: out)
    }
}
