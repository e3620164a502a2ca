import Foundation

/// A grid of thumbnails, row by row, on a white ground: one file to look at
/// a whole interpolation, a set of variations or a text-diff sequence.
public enum ContactSheet {
    public static func make(_ images: [Image], columns: Int? = nil, thumbnail: Int = 192, gap: Int = 4) -> Image {
        precondition(!images.isEmpty)
        let thumbs = images.map { im -> Image in
            let rgb = im.rgb()
            let s = Double(thumbnail) / Double(max(rgb.width, rgb.height))
            guard s < 1 else { return rgb }
            return Shrink.resize(rgb, width: max(1, Int((Double(rgb.width) * s).rounded())),
                                 height: max(1, Int((Double(rgb.height) * s).rounded())))
        }
        let cols = max(1, min(columns ?? min(images.count, 5), images.count))
        let rows = (thumbs.count + cols - 1) / cols
        let cellW = thumbs.map(\.width).max()!, cellH = thumbs.map(\.height).max()!
        let W = cols * cellW + (cols + 1) * gap, H = rows * cellH + (rows + 1) * gap
        var sheet = Image(width: W, height: H, channels: 3, fill: 255)
        for (i, t) in thumbs.enumerated() {
            let ox = gap + (i % cols) * (cellW + gap) + (cellW - t.width) / 2
            let oy = gap + (i / cols) * (cellH + gap) + (cellH - t.height) / 2
            for y in 0..<t.height {
                let src = y * t.width * 3, dst = ((oy + y) * W + ox) * 3
                sheet.pixels.replaceSubrange(dst..<(dst + t.width * 3), with: t.pixels[src..<(src + t.width * 3)])
            }
        }
        return sheet
    }
}
