import Foundation

/// The one EXIF field unclip uses: the orientation tag (0x0112), which says
/// how the camera was held. Cameras store the sensor's pixels unrotated and
/// set this tag, so an image must be turned before CLIP sees it.
/// EXIF 2.32 §4.6.4 (TIFF rev. 6.0 structure), tag 274.
public enum Exif {
    /// Reads the orientation (1-8) from a TIFF-structured EXIF block (what
    /// follows "Exif\0\0" in a JPEG APP1 segment, or a PNG eXIf chunk).
    /// Anything malformed or out of range yields nil: a broken tag must not
    /// make a readable image unreadable.
    public static func orientation(tiff b: [UInt8]) -> Int? {
        guard b.count >= 8 else { return nil }
        let little: Bool
        switch (b[0], b[1]) {
        case (0x49, 0x49): little = true   // "II"
        case (0x4D, 0x4D): little = false  // "MM"
        default: return nil
        }
        func u16(_ o: Int) -> Int? {
            guard o >= 0, o + 2 <= b.count else { return nil }
            return little ? Int(b[o]) | Int(b[o + 1]) << 8 : Int(b[o]) << 8 | Int(b[o + 1])
        }
        func u32(_ o: Int) -> Int? {
            guard let a = u16(o), let c = u16(o + 2) else { return nil }
            return little ? a | c << 16 : a << 16 | c
        }
        guard u16(2) == 42, let ifd = u32(4), let count = u16(ifd) else { return nil }
        for i in 0..<count {
            let e = ifd + 2 + 12 * i
            guard let tag = u16(e) else { return nil }
            // SHORT (type 3), count 1: the value sits in the first two bytes of the value field.
            if tag == 0x0112, u16(e + 2) == 3, let v = u16(e + 8) {
                return (1...8).contains(v) ? v : nil
            }
        }
        return nil
    }

    /// What each orientation value means, in words for `unclip info`.
    public static func describe(_ orientation: Int) -> String {
        switch orientation {
        case 1: return "normal"
        case 2: return "mirrored left-right"
        case 3: return "rotated 180"
        case 4: return "mirrored top-bottom"
        case 5: return "transposed"
        case 6: return "rotated 90 clockwise"
        case 7: return "transversed"
        case 8: return "rotated 90 counter-clockwise"
        default: return "unknown"
        }
    }
}

extension Image {
    /// The image as it should be displayed for an EXIF `orientation`: the
    /// same transforms as Pillow's `ImageOps.exif_transpose`
    /// (2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 cw,
    /// 7 transverse, 8 rotate 90 ccw).
    public func oriented(_ orientation: Int) -> Image {
        guard (2...8).contains(orientation) else { return self }
        let w = width, h = height, c = channels
        let swap = orientation >= 5
        let ow = swap ? h : w, oh = swap ? w : h
        var out = [UInt8](repeating: 0, count: pixels.count)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<oh {
                    for x in 0..<ow {
                        // (sx, sy): the stored pixel shown at display position (x, y).
                        let sx: Int, sy: Int
                        switch orientation {
                        case 2: sx = w - 1 - x; sy = y
                        case 3: sx = w - 1 - x; sy = h - 1 - y
                        case 4: sx = x; sy = h - 1 - y
                        case 5: sx = y; sy = x
                        case 6: sx = y; sy = h - 1 - x
                        case 7: sx = w - 1 - y; sy = h - 1 - x
                        default: sx = w - 1 - y; sy = x
                        }
                        let s = (sy * w + sx) * c, d = (y * ow + x) * c
                        for k in 0..<c { dst[d + k] = src[s + k] }
                    }
                }
            }
        }
        return Image(width: ow, height: oh, channels: c, pixels: out)
    }
}
