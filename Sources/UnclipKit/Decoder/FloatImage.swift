import Foundation

/// A planar Float raster in the 0…255 range: the decoder's working format.
/// Planar because patch distances walk one channel at a time over
/// contiguous rows, which is what the hot loops want.
public struct FloatImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var channels: Int
    /// [C, H, W]
    public var data: [Float]

    public init(width: Int, height: Int, channels: Int, fill: Float = 0) {
        self.width = width; self.height = height; self.channels = channels
        data = [Float](repeating: fill, count: width * height * channels)
    }

    public init(width: Int, height: Int, channels: Int, data: [Float]) {
        precondition(data.count == width * height * channels)
        self.width = width; self.height = height; self.channels = channels; self.data = data
    }

    /// Planar copy of an 8-bit image (all of its channels, alpha included).
    public init(_ image: Image) {
        width = image.width; height = image.height; channels = image.channels
        let n = width * height, c = channels
        var out = [Float](repeating: 0, count: n * c)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n {
                    for k in 0..<c { dst[k * n + i] = Float(src[i * c + k]) }
                }
            }
        }
        data = out
    }

    public var planeSize: Int { width * height }

    /// Rounds to the nearest 8-bit value, clamping to 0…255.
    public func image() -> Image {
        let n = planeSize, c = channels
        var out = [UInt8](repeating: 0, count: n * c)
        data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for k in 0..<c {
                    for i in 0..<n { dst[i * c + k] = FloatImage.quantize(src[k * n + i]) }
                }
            }
        }
        return Image(width: width, height: height, channels: c, pixels: out)
    }

    @inline(__always) static func quantize(_ v: Float) -> UInt8 {
        let r = (v + 0.5).rounded(.down)
        return r <= 0 ? 0 : (r >= 255 ? 255 : UInt8(r))
    }

    @inline(__always) public subscript(x: Int, y: Int, c: Int) -> Float {
        get { data[c * planeSize + y * width + x] }
        set { data[c * planeSize + y * width + x] = newValue }
    }

    /// A rectangle of this image.
    public func crop(x: Int, y: Int, width w: Int, height h: Int) -> FloatImage {
        var out = FloatImage(width: w, height: h, channels: channels)
        for c in 0..<channels {
            for row in 0..<h {
                let s = c * planeSize + (y + row) * width + x
                let d = c * w * h + row * w
                out.data.replaceSubrange(d..<(d + w), with: data[s..<(s + w)])
            }
        }
        return out
    }

    /// Writes `patch` over the rectangle at (x, y) of its size.
    public mutating func paste(_ patch: FloatImage, x: Int, y: Int) {
        precondition(patch.channels == channels && x + patch.width <= width && y + patch.height <= height)
        for c in 0..<channels {
            for row in 0..<patch.height {
                let s = c * patch.planeSize + row * patch.width
                let d = c * planeSize + (y + row) * width + x
                data.replaceSubrange(d..<(d + patch.width), with: patch.data[s..<(s + patch.width)])
            }
        }
    }

    /// Area-weighted resampling (each output pixel averages the input area it
    /// covers): the right filter for pyramid levels because it never aliases
    /// and keeps masks' soft coverage exact.
    public func resizedArea(width w: Int, height h: Int) -> FloatImage {
        let sx = Resample.areaWeights(from: width, to: w)
        let sy = Resample.areaWeights(from: height, to: h)
        return resampled(width: w, height: h, wx: sx, wy: sy)
    }

    /// Bilinear resampling with pixel centres aligned, for enlarging.
    public func resizedBilinear(width w: Int, height h: Int) -> FloatImage {
        let sx = Resample.bilinearWeights(from: width, to: w)
        let sy = Resample.bilinearWeights(from: height, to: h)
        return resampled(width: w, height: h, wx: sx, wy: sy)
    }

    /// Separable resampling: rows first, then columns.
    private func resampled(width w: Int, height h: Int, wx: [Resample.Tap], wy: [Resample.Tap]) -> FloatImage {
        var tmp = [Float](repeating: 0, count: w * height * channels)  // [C, H, w]
        var out = FloatImage(width: w, height: h, channels: channels)
        let W = width, H = height
        data.withUnsafeBufferPointer { src in
            tmp.withUnsafeMutableBufferPointer { t in
                for c in 0..<channels {
                    for y in 0..<H {
                        let srow = c * W * H + y * W, trow = c * w * H + y * w
                        for x in 0..<w {
                            var acc: Float = 0
                            for tap in wx[x].taps { acc += src[srow + tap.index] * tap.weight }
                            t[trow + x] = acc
                        }
                    }
                }
            }
        }
        tmp.withUnsafeBufferPointer { t in
            out.data.withUnsafeMutableBufferPointer { dst in
                for c in 0..<channels {
                    for y in 0..<h {
                        let drow = c * w * h + y * w
                        for tap in wy[y].taps {
                            let trow = c * w * H + tap.index * w
                            for x in 0..<w { dst[drow + x] += t[trow + x] * tap.weight }
                        }
                    }
                }
            }
        }
        return out
    }
}

/// Filter taps for the separable resamplers.
enum Resample {
    struct Tap { var taps: [(index: Int, weight: Float)] }

    static func areaWeights(from n: Int, to m: Int) -> [Tap] {
        if m >= n { return bilinearWeights(from: n, to: m) }
        let scale = Double(n) / Double(m)
        return (0..<m).map { i in
            let a = Double(i) * scale, b = Double(i + 1) * scale
            var taps: [(Int, Float)] = []
            var j = Int(a.rounded(.down))
            while Double(j) < b && j < n {
                let lo = max(a, Double(j)), hi = min(b, Double(j + 1))
                if hi > lo { taps.append((j, Float((hi - lo) / scale))) }
                j += 1
            }
            return Tap(taps: taps)
        }
    }

    static func bilinearWeights(from n: Int, to m: Int) -> [Tap] {
        let scale = Double(n) / Double(m)
        return (0..<m).map { i in
            let s = min(max((Double(i) + 0.5) * scale - 0.5, 0), Double(n - 1))
            let j = Int(s.rounded(.down)), f = Float(s - Double(j))
            if j + 1 < n && f > 0 { return Tap(taps: [(j, 1 - f), (j + 1, f)]) }
            return Tap(taps: [(j, 1)])
        }
    }
}
