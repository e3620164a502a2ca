import Foundation

/// The one-line summaries `unclip info` prints.
public enum FileDescription {
    public static func describe(path: String, maxPixels: Int = ImageCodec.defaultMaxPixels) throws -> String {
        let bytes = try IO.read(path)
        let name = IO.displayName(path)
        let kind = FileKind.sniff(bytes)
        switch kind {
        case .embedding:
            let records = try EmbeddingFile.parseStream(bytes, name: name)
            return records.enumerated().map { i, e in
                var s = "\(name)\(records.count > 1 ? "[\(i)]" : ""): unclip embedding v\(e.version), \(e.kind.rawValue), model \(e.model), dim \(e.dimension)"
                if !e.source.isEmpty { s += ", source \(e.source)" }
                if let x = e.exemplar { s += ", exemplar \(x.width)x\(x.height)" }
                if let n = e.norm { s += ", norm \(n)" }
                if let l = e.latent { s += ", latent \(l.shape.map(String.init).joined(separator: "x"))" }
                return s
            }.joined(separator: "\n")
        case .png, .jpeg:
            // The whole image is decoded, not just the header: `info` doubles
            // as an integrity check, and the pixel limit applies as it would
            // to any other subcommand given this file.
            let info = try ImageCodec.decode(bytes, name: name, maxPixels: maxPixels).info
            return describe(info, name: name)
        default:
            throw UnclipError.badInput(kind == .empty ? "\(name): empty input" : "\(name): not an image or embedding file (\(kind.rawValue))")
        }
    }

    /// `a.jpg: JPEG 4032x3024, YCbCr, 3 channels, 8-bit, progressive, EXIF orientation 6 (rotated 90 clockwise)`
    public static func describe(_ info: ImageInfo, name: String) -> String {
        var s = "\(name): \(info.format.rawValue) \(info.width)x\(info.height), \(info.colorType), \(info.channels) channel\(info.channels == 1 ? "" : "s"), \(info.bitDepth)-bit"
        if info.transparency { s += ", tRNS transparency" }
        if info.interlaced { s += info.format == .jpeg ? ", progressive" : ", interlaced" }
        if let o = info.orientation { s += ", EXIF orientation \(o) (\(Exif.describe(o)))" }
        return s
    }
}
