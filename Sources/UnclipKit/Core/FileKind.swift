import Foundation

/// What a byte stream is, judged from its first bytes only: users pipe files
/// with arbitrary names (or none at all), so the extension is never trusted.
public enum FileKind: String, Sendable {
    case png = "PNG image"
    case jpeg = "JPEG image"
    case embedding = "embedding file"
    case safetensors = "safetensors file"
    case gif = "GIF image"
    case webp = "WebP image"
    case tiff = "TIFF image"
    case bmp = "BMP image"
    case pnm = "netpbm image"
    case empty = "empty input"
    case unknown = "file of unknown type"

    public static func sniff(_ bytes: UnsafeRawBufferPointer) -> FileKind {
        let b = Array(bytes.prefix(16))
        if b.isEmpty { return .empty }
        func starts(_ p: [UInt8]) -> Bool { b.count >= p.count && Array(b[0..<p.count]) == p }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts(Array("GIF8".utf8)) { return .gif }
        if starts(Array("RIFF".utf8)) && b.count >= 12 && Array(b[8..<12]) == Array("WEBP".utf8) { return .webp }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return .tiff }
        if starts(Array("BM".utf8)) { return .bmp }
        if b.count >= 2 && b[0] == UInt8(ascii: "P") && (UInt8(ascii: "1")...UInt8(ascii: "7")).contains(b[1]) { return .pnm }
        // safetensors: u64 little-endian header length, then a JSON object.
        if b.count >= 9 && b[8] == UInt8(ascii: "{") {
            var n: UInt64 = 0
            for i in (0..<8).reversed() { n = n << 8 | UInt64(b[i]) }
            if n > 1 && n < 100_000_000 {
                return bytes.count > 8 + 40 && SafeTensors.headerMentionsEmbedding(bytes) ? .embedding : .safetensors
            }
        }
        return .unknown
    }

    public static func sniff(_ data: [UInt8]) -> FileKind {
        data.withUnsafeBytes { sniff($0) }
    }

    public var isImage: Bool {
        switch self {
        case .png, .jpeg, .gif, .webp, .tiff, .bmp, .pnm: return true
        default: return false
        }
    }
}
