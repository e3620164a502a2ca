import Foundation
import CJPEG

/// JPEG through libjpeg(-turbo). Decoding uses libjpeg's defaults (accurate
/// integer IDCT, fancy upsampling), the same as Pillow, so pixels agree with
/// Pillow's to within rounding. libjpeg's longjmp error reporting stays
/// inside the C helpers in CJPEG/shim.h.
enum JPEGCodec {
    static func decode(_ bytes: [UInt8], name: String, maxPixels: Int) throws -> (image: Image, info: ImageInfo) {
        try bytes.withUnsafeBufferPointer { buf in
            var ok: Int32 = 0
            guard let r = unclip_jpeg_open(buf.baseAddress, UInt(buf.count), &ok) else {
                throw UnclipError.failure("\(name): out of memory")
            }
            defer { unclip_jpeg_close(r) }
            func message() -> String {
                withUnsafeBytes(of: r.pointee.err.msg) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            }
            guard ok != 0 else { throw UnclipError.badInput("\(name): not a readable JPEG (\(message()))") }
            let d = r.pointee.d
            let w = Int(d.image_width), h = Int(d.image_height)
            try ImageCodec.checkLimit(width: w, height: h, maxPixels: maxPixels, name: name)

            // Saved markers live in libjpeg's per-image pool, freed by jpeg_finish_decompress.
            let orientation = exifOrientation(r)
            let space = d.jpeg_color_space
            let isCMYK = space == JCS_CMYK || space == JCS_YCCK
            let isGray = space == JCS_GRAYSCALE
            let outSpace = isCMYK ? JCS_CMYK : (isGray ? JCS_GRAYSCALE : JCS_RGB)
            let comps = isCMYK ? 4 : (isGray ? 1 : 3)
            var raw = [UInt8](repeating: 0, count: w * h * comps)
            let done = raw.withUnsafeMutableBufferPointer { unclip_jpeg_decode(r, outSpace, $0.baseAddress, w * comps) }
            guard done != 0 else { throw UnclipError.badInput("\(name): damaged JPEG (\(message()))") }

            var image: Image
            if isCMYK {
                image = Image(width: w, height: h, channels: 3,
                              pixels: cmykToRGB(raw, inverted: d.saw_Adobe_marker != 0))
            } else {
                image = Image(width: w, height: h, channels: comps, pixels: raw)
            }
            let colorType: String
            switch space {
            case JCS_GRAYSCALE: colorType = "gray"
            case JCS_CMYK: colorType = "CMYK"
            case JCS_YCCK: colorType = "YCCK"
            case JCS_RGB: colorType = "RGB"
            default: colorType = "YCbCr"
            }
            let info = ImageInfo(format: .jpeg, width: w, height: h, channels: Int(d.num_components), bitDepth: Int(d.data_precision),
                                 colorType: colorType, interlaced: d.progressive_mode != 0, orientation: orientation, text: [:])
            image = image.oriented(orientation ?? 1)
            return (image, info)
        }
    }

    /// The orientation tag of the first APP1 "Exif" segment, if any.
    static func exifOrientation(_ r: UnsafeMutablePointer<unclip_jpeg_reader>) -> Int? {
        var m = r.pointee.d.marker_list
        let header: [UInt8] = Array("Exif".utf8) + [0, 0]
        while let p = m {
            let seg = p.pointee
            if seg.marker == JPEG_APP0 + 1, seg.data_length > 6, let data = seg.data {
                let bytes = Array(UnsafeBufferPointer(start: data, count: Int(seg.data_length)))
                if Array(bytes[0..<6]) == header { return Exif.orientation(tiff: Array(bytes[6...])) }
            }
            m = seg.next
        }
        return nil
    }

    /// CMYK to RGB as Pillow's `cmyk2rgb` (Convert.c) computes it:
    /// R = (255 - K) - round(C * (255 - K) / 255), with its MULDIV255 rounding.
    /// Adobe applications store CMYK JPEGs inverted (255 = no ink) and mark
    /// them with an APP14 "Adobe" segment, which libjpeg itself writes for
    /// every CMYK file; only files without that marker hold plain ink values.
    /// (Pillow assumes the inverted form for every CMYK JPEG.)
    static func cmykToRGB(_ cmyk: [UInt8], inverted: Bool) -> [UInt8] {
        let n = cmyk.count / 4
        var out = [UInt8](repeating: 0, count: n * 3)
        @inline(__always) func muldiv255(_ a: Int, _ b: Int) -> Int {
            let t = a * b + 128
            return ((t >> 8) + t) >> 8
        }
        for i in 0..<n {
            var c = Int(cmyk[4 * i]), m = Int(cmyk[4 * i + 1]), y = Int(cmyk[4 * i + 2]), k = Int(cmyk[4 * i + 3])
            if inverted { c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k }
            let nk = 255 - k
            out[3 * i] = UInt8(clamping: nk - muldiv255(c, nk))
            out[3 * i + 1] = UInt8(clamping: nk - muldiv255(m, nk))
            out[3 * i + 2] = UInt8(clamping: nk - muldiv255(y, nk))
        }
        return out
    }

    /// Baseline JPEG at `quality` (1-100). JPEG has no alpha: it is dropped.
    /// `comment` goes in a COM segment (provenance, like PNG's tEXt).
    static func encode(_ image: Image, quality: Int, comment: String) throws -> [UInt8] {
        let src = image.channels == 1 ? image : (image.channels == 2 ? Image(width: image.width, height: image.height, channels: 1, pixels: image.gray()) : image.rgb())
        var out: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        var msg = [CChar](repeating: 0, count: Int(JMSG_LENGTH_MAX))
        let ok = src.pixels.withUnsafeBufferPointer { px in
            msg.withUnsafeMutableBufferPointer { m in
                unclip_jpeg_encode(px.baseAddress, UInt32(src.width), UInt32(src.height), Int32(src.channels),
                                   Int32(min(max(quality, 1), 100)), comment, &out, &size, m.baseAddress)
            }
        }
        defer { free(out) }
        guard ok != 0, let data = out else {
            throw UnclipError.failure("JPEG encoding failed (\(String(cString: msg)))")
        }
        return Array(UnsafeBufferPointer(start: data, count: Int(size)))
    }
}
