import Foundation

/// A transition from one picture to another, region by region: a smooth
/// field (random, or one picture's blurred brightness) orders the pixels, a
/// threshold u shows the second picture where the field is below it, and
/// patch synthesis regrows a thin band along the regions' edges so that no
/// cut shows. The field is ranked, so u is exactly the fraction of the frame
/// that has switched: equal steps in u change equal areas, and pixels away
/// from the band are copied unchanged from one step to the next.
public enum RegionDissolve {
    /// Per pixel, its rank in a smooth random field, scaled to 0…1 (every
    /// value distinct). `cells` is about how many blobs span the shorter side.
    public static func field(width w: Int, height h: Int, seed: UInt64, cells: Int = 4) -> [Float] {
        precondition(w >= 1 && h >= 1 && cells >= 1)
        var value = [Float](repeating: 0, count: w * h)
        // Two octaves of lattice value noise (Perlin 1985's "noise" before
        // gradients): smooth blobs with less regular outlines than one octave.
        for (octave, amplitude) in [(1, Float(1)), (2, Float(0.5))] {
            let k = cells * octave
            let side = Float(min(w, h)) / Float(k)
            let gw = Int((Float(w) / side).rounded(.up)) + 2, gh = Int((Float(h) / side).rounded(.up)) + 2
            var rng = SplitMix64(seed: seed, stream: 0xD155_01FE, UInt64(octave))
            let lattice = (0..<(gw * gh)).map { _ in rng.unit() }
            func smooth(_ t: Float) -> Float { t * t * (3 - 2 * t) }
            for y in 0..<h {
                let fy = (Float(y) + 0.5) / side, y0 = Int(fy), ty = smooth(fy - Float(y0))
                for x in 0..<w {
                    let fx = (Float(x) + 0.5) / side, x0 = Int(fx), tx = smooth(fx - Float(x0))
                    let a = lattice[y0 * gw + x0], b = lattice[y0 * gw + x0 + 1]
                    let c = lattice[(y0 + 1) * gw + x0], d = lattice[(y0 + 1) * gw + x0 + 1]
                    value[y * w + x] += amplitude * ((a + (b - a) * tx) * (1 - ty) + (c + (d - c) * tx) * ty)
                }
            }
        }
        return ranks(value, descending: false)
    }

    /// Each value's rank, scaled to 0…1; ties (flat stretches) broken by
    /// position, so the ranks are a permutation.
    static func ranks(_ value: [Float], descending: Bool) -> [Float] {
        let order = value.indices.sorted {
            value[$0] == value[$1] ? $0 < $1 : (descending ? value[$0] > value[$1] : value[$0] < value[$1])
        }
        var rank = [Float](repeating: 0, count: value.count)
        let scale = Float(1) / Float(max(1, value.count - 1))
        for (r, i) in order.enumerated() { rank[i] = Float(r) * scale }
        return rank
    }

    /// Ranks of `image`'s luminance (0…1) averaged over squares a sixteenth
    /// of the shorter side, plus `noise` times the random field so that flat
    /// stretches do not switch in raster order: the picture's own regions
    /// switch together, brightest first.
    public static func field(following image: Image, seed: UInt64, cells: Int = 4, noise: Float = 0.1) -> [Float] {
        let w = image.width, h = image.height, n = w * h
        let rgb = FloatImage(image.rgb())
        var lum = FloatImage(width: w, height: h, channels: 1)
        for i in 0..<n { lum.data[i] = (0.299 * rgb.data[i] + 0.587 * rgb.data[n + i] + 0.114 * rgb.data[2 * n + i]) / 255 }
        let side = max(1, min(w, h) / 16)
        let small = lum.resizedArea(width: max(1, w / side), height: max(1, h / side)).resizedBilinear(width: w, height: h)
        let random = field(width: w, height: h, seed: seed, cells: cells)
        return ranks((0..<n).map { small.data[$0] + noise * random[$0] }, descending: true)
    }

    /// 1 on pixels within `radius` of the edge between `region` and the
    /// rest, on either side; 0 elsewhere.
    public static func band(region: [Bool], width w: Int, height h: Int, radius: Int) -> [Float] {
        let r2 = Float(radius * radius)
        let toInside = InpaintMask.squaredDistance(to: region, width: w, height: h)
        let toOutside = InpaintMask.squaredDistance(to: region.map { !$0 }, width: w, height: h)
        return region.indices.map { i in (region[i] ? toOutside[i] : toInside[i]) <= r2 ? 1 : 0 }
    }

    /// `from`, with `to` where `field` is below `u`, the band along that
    /// region's edge regrown from `exemplars`. Both pictures have the
    /// field's size.
    public static func frame(from: Image, to: Image, field: [Float], u: Float, exemplars: [WeightedExemplar],
                             options: SynthesisOptions) throws -> Image {
        let w = from.width, h = from.height
        precondition(to.width == w && to.height == h && field.count == w * h)
        if u <= 0 { return from.rgb() }
        if u >= 1 { return to.rgb() }
        let region = field.map { $0 < u }
        let switched = region.reduce(0) { $0 + ($1 ? 1 : 0) }
        if switched == 0 { return from.rgb() }
        if switched == w * h { return to.rgb() }
        let a = from.rgb(), b = to.rgb()
        var pixels = a.pixels
        for i in 0..<(w * h) where region[i] {
            for c in 0..<3 { pixels[i * 3 + c] = b.pixels[i * 3 + c] }
        }
        let composite = Image(width: w, height: h, channels: 3, pixels: pixels)
        // About 8 px at 512: wider than a patch, so the seam is regrown
        // rather than averaged, and narrow enough to keep both pictures.
        let radius = max(2, min(w, h) / 64)
        var o = options
        o.guide = nil; o.noise = 0
        return try PatchSynthesis.synthesize(exemplars: exemplars, width: w, height: h, known: composite,
                                             mask: band(region: region, width: w, height: h, radius: radius),
                                             options: o, progress: nil)
    }
}
