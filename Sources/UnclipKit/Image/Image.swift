import Foundation

/// An 8-bit raster, interleaved, row-major, top row first.
/// `channels` is 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA).
public struct Image: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && (1...4).contains(channels))
        precondition(pixels.count == width * height * channels, "pixel buffer does not match \(width)x\(height)x\(channels)")
        self.width = width; self.height = height; self.channels = channels; self.pixels = pixels
    }

    public init(width: Int, height: Int, channels: Int, fill: UInt8 = 0) {
        self.init(width: width, height: height, channels: channels,
                  pixels: [UInt8](repeating: fill, count: width * height * channels))
    }

    public var hasAlpha: Bool { channels == 2 || channels == 4 }
    public var pixelCount: Int { width * height }

    /// Three-channel copy: gray is replicated, alpha is dropped (not composited,
    /// because alpha in unclip's inputs is a mask, not transparency to flatten).
    public func rgb() -> Image {
        if channels == 3 { return self }
        var out = [UInt8](repeating: 0, count: width * height * 3)
        let n = width * height
        for i in 0..<n {
            switch channels {
            case 1, 2:
                let g = pixels[i * channels]
                out[3 * i] = g; out[3 * i + 1] = g; out[3 * i + 2] = g
            default:
                out[3 * i] = pixels[4 * i]; out[3 * i + 1] = pixels[4 * i + 1]; out[3 * i + 2] = pixels[4 * i + 2]
            }
        }
        return Image(width: width, height: height, channels: 3, pixels: out)
    }

    /// The pixels in `columns` × `rows`, all channels.
    public func cropped(columns: Range<Int>, rows: Range<Int>) -> Image {
        precondition(columns.clamped(to: 0..<width) == columns && rows.clamped(to: 0..<height) == rows)
        var out: [UInt8] = []
        out.reserveCapacity(columns.count * rows.count * channels)
        for y in rows {
            out += pixels[(y * width + columns.lowerBound) * channels ..< (y * width + columns.upperBound) * channels]
        }
        return Image(width: columns.count, height: rows.count, channels: channels, pixels: out)
    }

    /// The alpha plane (255 everywhere when the image has none).
    public func alpha() -> [UInt8] {
        guard hasAlpha else { return [UInt8](repeating: 255, count: width * height) }
        return (0..<(width * height)).map { pixels[$0 * channels + channels - 1] }
    }

    /// One luminance plane (ITU-R 601 weights, as Pillow's "L" conversion uses).
    public func gray() -> [UInt8] {
        let n = width * height
        switch channels {
        case 1: return pixels
        case 2: return (0..<n).map { pixels[2 * $0] }
        default:
            return (0..<n).map { i in
                let r = Int(pixels[i * channels]), g = Int(pixels[i * channels + 1]), b = Int(pixels[i * channels + 2])
                return UInt8((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)
            }
        }
    }

    public subscript(x: Int, y: Int, c: Int) -> UInt8 {
        get { pixels[(y * width + x) * channels + c] }
        set { pixels[(y * width + x) * channels + c] = newValue }
    }
}
