import Foundation
import CPNG

/// PNG through libpng's full API: the simplified API hides the stored format
/// and the text chunks, both of which `unclip info` and provenance need.
/// libpng's longjmp error reporting stays inside the C helpers in CPNG/shim.h.
enum PNGCodec {
    static func decode(_ bytes: [UInt8], name: String, maxPixels: Int) throws -> (image: Image, info: ImageInfo) {
        try checkChunkLengths(bytes, name: name)
        return try bytes.withUnsafeBufferPointer { buf in
            var ok: Int32 = 0
            guard let r = unclip_png_open(buf.baseAddress, buf.count, &ok) else {
                throw UnclipError.failure("\(name): out of memory")
            }
            defer { unclip_png_close(r) }
            func message() -> String {
                withUnsafeBytes(of: r.pointee.msg) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            }
            guard ok != 0 else { throw UnclipError.badInput("\(name): not a readable PNG (\(message()))") }
            let w = Int(r.pointee.width), h = Int(r.pointee.height)
            try ImageCodec.checkLimit(width: w, height: h, maxPixels: maxPixels, name: name)
            guard unclip_png_prepare(r) != 0 else { throw UnclipError.badInput("\(name): unsupported PNG (\(message()))") }
            let channels = Int(r.pointee.out_channels)
            guard (1...4).contains(channels), r.pointee.out_rowbytes == w * channels else {
                throw UnclipError.badInput("\(name): unsupported PNG layout (\(channels) channels)")
            }
            var pixels = [UInt8](repeating: 0, count: w * h * channels)
            let done = pixels.withUnsafeMutableBufferPointer { unclip_png_decode(r, $0.baseAddress) }
            guard done != 0 else { throw UnclipError.badInput("\(name): damaged PNG (\(message()))") }

            let text = readText(r.pointee.png, r.pointee.info)
            var orientation: Int?
            var exifPtr: UnsafeMutablePointer<png_byte>?
            var exifLen: png_uint_32 = 0
            if png_get_eXIf_1(r.pointee.png, r.pointee.info, &exifLen, &exifPtr) != 0, let p = exifPtr {
                orientation = Exif.orientation(tiff: Array(UnsafeBufferPointer(start: p, count: Int(exifLen))))
            }
            let info = ImageInfo(format: .png, width: w, height: h,
                                 channels: storedChannels(colorType: r.pointee.color_type),
                                 bitDepth: Int(r.pointee.bit_depth),
                                 colorType: colorTypeName(r.pointee.color_type),
                                 interlaced: r.pointee.interlace != PNG_INTERLACE_NONE,
                                 transparency: png_get_valid(r.pointee.png, r.pointee.info, PNG_INFO_tRNS) != 0,
                                 orientation: orientation, text: text)
            let image = Image(width: w, height: h, channels: channels, pixels: pixels)
            return (image.oriented(orientation ?? 1), info)
        }
    }

    /// Every chunk's declared length must fit in what follows it: libpng
    /// reserves an ancillary chunk's length (up to 2^31 − 1) before reading
    /// it, so a 700-byte file could otherwise ask for 2 GB.
    static func checkChunkLengths(_ b: [UInt8], name: String) throws {
        var at = 8   // after the signature, which libpng checks
        while at + 8 <= b.count {
            let n = Int(b[at]) << 24 | Int(b[at + 1]) << 16 | Int(b[at + 2]) << 8 | Int(b[at + 3])
            let type = String(decoding: b[(at + 4)..<(at + 8)].map { (0x20..<0x7F).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
            guard n <= b.count - at - 12 else {
                throw UnclipError.badInput("\(name): truncated or damaged PNG (chunk \(type) declares \(n) bytes, \(max(0, b.count - at - 12)) follow)")
            }
            if type == "IEND" { return }
            at += 12 + n
        }
    }

    static func storedChannels(colorType: Int32) -> Int {
        switch colorType {
        case PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_PALETTE: return 1
        case PNG_COLOR_TYPE_GRAY_ALPHA: return 2
        case PNG_COLOR_TYPE_RGB: return 3
        default: return 4
        }
    }

    static func colorTypeName(_ colorType: Int32) -> String {
        switch colorType {
        case PNG_COLOR_TYPE_GRAY: return "gray"
        case PNG_COLOR_TYPE_GRAY_ALPHA: return "gray+alpha"
        case PNG_COLOR_TYPE_PALETTE: return "palette"
        case PNG_COLOR_TYPE_RGB: return "RGB"
        default: return "RGBA"
        }
    }

    /// tEXt is Latin-1 by the PNG specification; zTXt likewise; iTXt is UTF-8.
    static func readText(_ png: png_structp?, _ info: png_infop?) -> [String: String] {
        var texts: png_textp?
        var n: Int32 = 0
        _ = png_get_text(png, info, &texts, &n)
        guard let t = texts, n > 0 else { return [:] }
        var out: [String: String] = [:]
        for i in 0..<Int(n) {
            let e = t[i]
            guard let k = e.key else { continue }
            let key = String(cString: k)
            let len = e.compression >= PNG_ITXT_COMPRESSION_NONE ? e.itxt_length : e.text_length
            let bytes = e.text.map { Array(UnsafeRawBufferPointer(start: $0, count: len)) } ?? []
            out[key] = e.compression >= PNG_ITXT_COMPRESSION_NONE
                ? String(decoding: bytes, as: UTF8.self)
                : String(bytes.map { Character(Unicode.Scalar($0)) })
        }
        return out
    }

    static func encode(_ image: Image, text: [String: String]) throws -> [UInt8] {
        // Keys and values are copied to C strings that live until the encoder returns.
        var owned: [UnsafeMutablePointer<CChar>] = []
        defer { owned.forEach { free($0) } }
        func cstr(_ bytes: [UInt8]) -> UnsafeMutablePointer<CChar> {
            let m = malloc(bytes.count + 1)!.bindMemory(to: CChar.self, capacity: bytes.count + 1)
            for (i, b) in bytes.enumerated() { m[i] = CChar(bitPattern: b) }
            m[bytes.count] = 0
            owned.append(m)
            return m
        }
        var chunks: [png_text] = []
        for key in text.keys.sorted() {
            let value = text[key]!
            // PNG keywords are 1-79 printable Latin-1 characters.
            let k = key.unicodeScalars.filter { $0.value >= 32 && $0.value < 256 && $0 != "\u{7f}" }
            let keyBytes = Array(k.prefix(79).map { UInt8($0.value) })
            guard !keyBytes.isEmpty else { continue }
            var e = png_text()
            e.key = cstr(keyBytes)
            // Values that Latin-1 cannot carry (a UTF-8 file name on the command line) go in iTXt.
            if value.unicodeScalars.allSatisfy({ $0.value < 256 && $0.value != 0 }) {
                let v = value.unicodeScalars.map { UInt8($0.value) }
                e.compression = PNG_TEXT_COMPRESSION_NONE
                e.text = cstr(v)
                e.text_length = v.count
            } else {
                let v = Array(value.utf8.filter { $0 != 0 })
                e.compression = PNG_ITXT_COMPRESSION_NONE
                e.text = cstr(v)
                e.itxt_length = v.count
                e.lang = cstr([])
                e.lang_key = cstr([])
            }
            chunks.append(e)
        }
        var out = unclip_png_buffer()
        defer { free(out.data) }
        let ok = image.pixels.withUnsafeBufferPointer { px in
            chunks.withUnsafeMutableBufferPointer { t in
                unclip_png_encode(px.baseAddress, png_uint_32(image.width), png_uint_32(image.height), Int32(image.channels),
                                  t.baseAddress, Int32(t.count), &out)
            }
        }
        guard ok != 0, let data = out.data else {
            let msg = withUnsafeBytes(of: out.msg) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            throw UnclipError.failure("PNG encoding failed (\(msg))")
        }
        return Array(UnsafeBufferPointer(start: data, count: out.size))
    }
}
