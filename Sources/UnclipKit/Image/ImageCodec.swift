import Foundation
import CPNG

public enum ImageFormat: String, Sendable {
    case png = "PNG"
    case jpeg = "JPEG"
}

/// What `unclip info` reports about an image, taken from the file itself.
public struct ImageInfo: Sendable, Equatable {
    public var format: ImageFormat
    public var width: Int
    public var height: Int
    /// Channels as stored (a palette PNG with tRNS reports 4 after expansion? no: as stored, 1 for palette).
    public var channels: Int
    public var bitDepth: Int
    public var colorType: String
    public var interlaced: Bool
}

/// Image decoding and encoding through libpng and libjpeg.
public enum ImageCodec {
    public static let defaultMaxPixels = 64_000_000

    /// Decodes PNG or JPEG, chosen from the bytes, refusing images above
    /// `maxPixels` before any pixel buffer is allocated.
    public static func decode(_ bytes: [UInt8], name: String, maxPixels: Int = defaultMaxPixels) throws -> (image: Image, info: ImageInfo) {
        let kind = FileKind.sniff(bytes)
        switch kind {
        case .png: return try decodePNG(bytes, name: name, maxPixels: maxPixels)
        case .empty: throw UnclipError.badInput("\(name): empty input, expected a PNG or JPEG image")
        case .embedding:
            throw UnclipError.badInput("\(name): this is an embedding file, not an image: decode it with `unclip decode` or `unclip vary`")
        default:
            throw UnclipError.badInput("\(name): this is a \(kind.rawValue); unclip reads PNG and JPEG images")
        }
    }

    /// Reads and decodes a path, or stdin for `-`.
    public static func read(_ path: String, maxPixels: Int = defaultMaxPixels) throws -> Image {
        try decode(IO.read(path), name: IO.displayName(path), maxPixels: maxPixels).image
    }

    // Placeholder-free minimal PNG path through libpng's simplified API; the
    // full reader (all colour types, tEXt, EXIF, JPEG) replaces it.
    static func decodePNG(_ bytes: [UInt8], name: String, maxPixels: Int) throws -> (image: Image, info: ImageInfo) {
        var img = png_image()
        img.version = UInt32(PNG_IMAGE_VERSION)
        let ok = bytes.withUnsafeBytes { png_image_begin_read_from_memory(&img, $0.baseAddress, $0.count) }
        guard ok != 0 else {
            let msg = withUnsafeBytes(of: &img.message) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            throw UnclipError.badInput("\(name): not a readable PNG (\(msg))")
        }
        defer { png_image_free(&img) }
        let w = Int(img.width), h = Int(img.height)
        guard w * h <= maxPixels else {
            throw UnclipError.badInput("\(name): \(w)x\(h) is \(w * h) pixels, over the limit of \(maxPixels) (raise it with --max-pixels)")
        }
        let hasColor = img.format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0
        let hasAlpha = img.format & UInt32(PNG_FORMAT_FLAG_ALPHA) != 0
        let channels = (hasColor ? 3 : 1) + (hasAlpha ? 1 : 0)
        img.format = (hasColor ? UInt32(PNG_FORMAT_FLAG_COLOR) : 0) | (hasAlpha ? UInt32(PNG_FORMAT_FLAG_ALPHA) : 0)
        var pixels = [UInt8](repeating: 0, count: w * h * channels)
        let done = pixels.withUnsafeMutableBytes { png_image_finish_read(&img, nil, $0.baseAddress, Int32(w * channels), nil) }
        guard done != 0 else {
            let msg = withUnsafeBytes(of: &img.message) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            throw UnclipError.badInput("\(name): damaged PNG (\(msg))")
        }
        let info = ImageInfo(format: .png, width: w, height: h, channels: channels, bitDepth: 8,
                             colorType: hasColor ? (hasAlpha ? "RGBA" : "RGB") : (hasAlpha ? "gray+alpha" : "gray"), interlaced: false)
        return (Image(width: w, height: h, channels: channels, pixels: pixels), info)
    }

    public static func encodePNG(_ image: Image, text: [String: String] = [:]) throws -> [UInt8] {
        var img = png_image()
        img.version = UInt32(PNG_IMAGE_VERSION)
        img.width = UInt32(image.width); img.height = UInt32(image.height)
        img.format = (image.channels >= 3 ? UInt32(PNG_FORMAT_FLAG_COLOR) : 0) | (image.hasAlpha ? UInt32(PNG_FORMAT_FLAG_ALPHA) : 0)
        var size: Int = 0
        let first = image.pixels.withUnsafeBytes {
            png_image_write_to_memory(&img, nil, &size, 0, $0.baseAddress, Int32(image.width * image.channels), nil)
        }
        guard first != 0 else { throw UnclipError.failure("PNG encoding failed") }
        var out = [UInt8](repeating: 0, count: size)
        let ok = out.withUnsafeMutableBytes { dst in
            image.pixels.withUnsafeBytes {
                png_image_write_to_memory(&img, dst.baseAddress, &size, 0, $0.baseAddress, Int32(image.width * image.channels), nil)
            }
        }
        guard ok != 0 else { throw UnclipError.failure("PNG encoding failed") }
        return Array(out.prefix(size))
    }

    /// Writes `image` atomically to `path` (`-` is stdout) as PNG.
    public static func write(_ image: Image, to path: String, text: [String: String] = [:]) throws {
        try IO.write(encodePNG(image, text: text), to: path)
    }
}
