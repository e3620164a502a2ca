import Foundation

/// One pyramid level's exemplars stacked vertically into a single raster,
/// so that a nearest-neighbour field entry is one integer (an atlas pixel
/// index) whichever exemplar it points into.
struct SourceAtlas: Sendable {
    let patch: Int
    /// [C, H, W]: exemplars top to bottom, left-aligned, zero-padded.
    let image: FloatImage
    /// Per atlas pixel: whether a patch with its top-left corner there lies
    /// inside one exemplar and covers only usable pixels.
    let valid: [Bool]
    /// Every valid corner, for uniform random draws.
    let validList: [Int32]
    /// Exemplar index of each atlas row.
    let rowExemplar: [Int32]
    /// Added to the patch distance of every patch of exemplar e: the
    /// source-weighting term that makes a lighter exemplar less attractive.
    let penalty: [Float]
    /// Vote weight of exemplar e.
    let voteWeight: [Float]
    /// (top row, width, height) of exemplar e.
    let frames: [(y0: Int, w: Int, h: Int)]

    /// `usable[e]` is nil (all usable) or one trust plane per exemplar; a
    /// pixel is usable when its trust is (almost) 1, so a patch never copies
    /// from a hole, not even partly.
    init(exemplars: [FloatImage], usable: [[Float]?], weights: [Float], patch p: Int, penaltyScale: Float) {
        patch = p
        let C = exemplars[0].channels
        let W = exemplars.map(\.width).max()!
        let H = exemplars.map(\.height).reduce(0, +)
        var img = FloatImage(width: W, height: H, channels: C)
        var ok = [Bool](repeating: false, count: W * H)
        var rows = [Int32](repeating: 0, count: H)
        var frames: [(Int, Int, Int)] = []
        var y0 = 0
        for (e, ex) in exemplars.enumerated() {
            let w = ex.width, h = ex.height
            frames.append((y0, w, h))
            for c in 0..<C {
                for y in 0..<h {
                    let s = c * w * h + y * w, d = c * W * H + (y0 + y) * W
                    img.data.replaceSubrange(d..<(d + w), with: ex.data[s..<(s + w)])
                }
            }
            for y in 0..<h { rows[y0 + y] = Int32(e) }
            // A corner is valid when its p×p window holds no unusable pixel.
            let bad = WindowSums.corners(width: w, height: h, patch: p) { i in
                if let u = usable[e], u[i] < 0.999 { return 1 }
                return 0
            }
            if w >= p && h >= p {
                for y in 0...(h - p) {
                    for x in 0...(w - p) where bad[y * w + x] == 0 { ok[(y0 + y) * W + x] = true }
                }
            }
            y0 += h
        }
        image = img
        valid = ok
        var list: [Int32] = []
        for i in 0..<(W * H) where ok[i] { list.append(Int32(i)) }
        validList = list
        rowExemplar = rows
        let wmax = max(weights.max() ?? 1, 1e-6)
        penalty = weights.map { penaltyScale * (1 - max(0, $0) / wmax) }
        voteWeight = weights.map { max($0, 1e-4) }
        self.frames = frames.map { (y0: $0.0, w: $0.1, h: $0.2) }
    }

    var width: Int { image.width }
    var height: Int { image.height }

    /// Maps a corner of this atlas to the corresponding corner of `finer`
    /// (the same exemplars one level up), clamped into its exemplar.
    func upsample(_ index: Int32, to finer: SourceAtlas, tx: Int, ty: Int) -> Int32 {
        let x = Int(index) % width, y = Int(index) / width
        let e = Int(rowExemplar[y])
        let f = frames[e], g = finer.frames[e]
        let fx = Int((Double(x) * Double(g.w) / Double(f.w)).rounded(.down)) + tx
        let fy = Int((Double(y - f.y0) * Double(g.h) / Double(f.h)).rounded(.down)) + ty
        let cx = min(max(fx, 0), g.w - finer.patch), cy = min(max(fy, 0), g.h - finer.patch)
        return Int32((g.y0 + cy) * finer.width + cx)
    }
}
