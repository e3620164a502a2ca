import Foundation

public enum ImageFormat: String, Sendable {
    case png = "PNG"
    case jpeg = "JPEG"

    /// `.jpg` and `.jpeg` (any case) mean JPEG; every other name, `-`
    /// included, means PNG, which loses nothing.
    public init(path: String) {
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        self = (ext == "jpg" || ext == "jpeg") ? .jpeg : .png
    }
}

/// What `unclip info` reports about an image, taken from the file itself:
/// the format as stored, before any conversion to 8-bit or EXIF rotation.
public struct ImageInfo: Sendable, Equatable {
    public var format: ImageFormat
    /// Stored size; when `orientation` is 5-8 the decoded image is turned, so
    /// its width and height are these swapped.
    public var width: Int
    public var height: Int
    /// Channels as stored: 1 for a palette PNG, 4 for a CMYK JPEG.
    public var channels: Int
    public var bitDepth: Int
    /// PNG: "gray", "gray+alpha", "palette", "RGB", "RGBA".
    /// JPEG: "gray", "YCbCr", "RGB", "CMYK", "YCCK".
    public var colorType: String
    /// Adam7 for PNG; progressive for JPEG.
    public var interlaced: Bool
    /// A PNG tRNS chunk: one colour (gray, RGB) or palette entries are
    /// transparent, so the image decodes with an alpha channel.
    public var transparency: Bool = false
    /// EXIF orientation tag (1-8), nil when the file has none.
    public var orientation: Int?
    /// PNG tEXt/zTXt/iTXt chunks.
    public var text: [String: String]
}

/// Image decoding and encoding through libpng and libjpeg.
public enum ImageCodec {
    public static let defaultMaxPixels = 64_000_000
    public static let defaultJPEGQuality = 92

    /// Decodes PNG or JPEG, chosen from the bytes, refusing images above
    /// `maxPixels` before any pixel buffer is allocated. The image comes back
    /// 8-bit (1-4 channels as the file has them; palette expanded, tRNS as
    /// alpha, CMYK as RGB) and turned upright by its EXIF orientation.
    public static func decode(_ bytes: [UInt8], name: String, maxPixels: Int = defaultMaxPixels) throws -> (image: Image, info: ImageInfo) {
        let kind = FileKind.sniff(bytes)
        switch kind {
        case .png: return try PNGCodec.decode(bytes, name: name, maxPixels: maxPixels)
        case .jpeg: return try JPEGCodec.decode(bytes, name: name, maxPixels: maxPixels)
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

    /// The decompression-bomb guard: a few hundred header bytes can claim
    /// billions of pixels, so the claim is checked before any allocation.
    static func checkLimit(width: Int, height: Int, maxPixels: Int, name: String) throws {
        guard width > 0, height > 0 else { throw UnclipError.badInput("\(name): the image has no pixels (\(width)x\(height))") }
        guard width.multipliedReportingOverflow(by: height).partialValue <= maxPixels, width <= maxPixels, height <= maxPixels else {
            throw UnclipError.badInput("\(name): \(width)x\(height) is \(width * height) pixels, over the limit of \(maxPixels) (raise it with --max-pixels)")
        }
    }

    /// 8-bit PNG, keeping alpha when the image has it. `text` becomes tEXt
    /// chunks (iTXt for values outside Latin-1), for provenance: command
    /// line, seed, model.
    public static func encodePNG(_ image: Image, text: [String: String] = [:]) throws -> [UInt8] {
        try PNGCodec.encode(image, text: text)
    }

    /// Baseline JPEG at `quality` (1-100, clamped). Alpha is dropped; `text`
    /// is kept as one `key=value` per line in a COM segment.
    public static func encodeJPEG(_ image: Image, quality: Int = defaultJPEGQuality, text: [String: String] = [:]) throws -> [UInt8] {
        let comment = text.keys.sorted().map { "\($0)=\(text[$0]!)" }.joined(separator: "\n")
        return try JPEGCodec.encode(image, quality: quality, comment: comment)
    }

    /// Writes `image` atomically to `path` (`-` is stdout). The format is
    /// `format` when given, otherwise JPEG for `.jpg`/`.jpeg` names and PNG
    /// for every other name (stdout included).
    public static func write(_ image: Image, to path: String, text: [String: String] = [:],
                             format: ImageFormat? = nil, quality: Int = defaultJPEGQuality) throws {
        let bytes: [UInt8]
        switch format ?? ImageFormat(path: path) {
        case .png: bytes = try encodePNG(image, text: text)
        case .jpeg: bytes = try encodeJPEG(image, quality: quality, text: text)
        }
        try IO.write(bytes, to: path)
    }
}
