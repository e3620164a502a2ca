import Foundation

/// A stand-in embedding model for tests and demonstrations without CLIP
/// weights. Its vector is a known image statistic, so steering can be
/// checked exactly: what raises the cosine to a "brighter" target is, by
/// construction, more mass in the bright luminance bins.
///
/// Image vector: soft (triangular-kernel) histograms, each summing to one,
/// square-rooted (the Hellinger embedding, so every block has unit length and
/// blocks do not trade weight through the final normalisation), concatenated
/// and L2-normalised:
///   luminance (8 bins on [0, 1]), warmth R−B (8 bins on [−1, 1]),
///   tint G−(R+B)/2 (6 bins on [−1, 1]), saturation max−min (6 bins on [0, 1]),
///   gradient magnitude of luminance (6 bins on [0, 0.5]) and gradient
///   orientation weighted by magnitude (4 bins, 180° periodic) for texture.
/// Triangular binning makes the vector continuous in the pixel values, which a
/// search over smooth photographic controls needs.
///
/// Text vector: a neutral "photo" vector (uniform histograms) plus a fixed
/// direction per known word ("bright", "night", "warm", "cool", "vivid",
/// "smooth", …); unknown words add nothing. So
/// normalize(z("a bright photo") − z("a photo")) points along brightness.
public final class StatisticEmbedder: ImageEmbedder, TextEmbedder, @unchecked Sendable {
    public let modelName = "statistic"
    public let modelHash: String
    /// Images are box-reduced so their shorter side is this before measuring.
    public let inputResolution = 64

    struct Block { let name: String; let bins: Int }
    static let blocks = [Block(name: "luminance", bins: 8), Block(name: "warmth", bins: 8), Block(name: "tint", bins: 6),
                         Block(name: "saturation", bins: 6), Block(name: "gradient", bins: 6), Block(name: "orientation", bins: 4)]
    public static let dimension = blocks.reduce(0) { $0 + $1.bins }

    /// Word → (block, sign): a ramp over that block's bins toward its high
    /// (positive sign) or low end.
    static let vocabulary: [String: (String, Float)] = {
        var v: [String: (String, Float)] = [:]
        for w in ["bright", "brighter", "light", "lighter", "sunny", "day", "daylight", "daytime", "overexposed", "noon"] { v[w] = ("luminance", 1) }
        for w in ["dark", "darker", "night", "dim", "dusk", "underexposed", "shadowy", "gloomy", "midnight"] { v[w] = ("luminance", -1) }
        for w in ["warm", "warmer", "sunset", "golden", "orange", "red", "autumn", "fire"] { v[w] = ("warmth", 1) }
        for w in ["cool", "cooler", "cold", "blue", "winter", "icy", "ice"] { v[w] = ("warmth", -1) }
        for w in ["green", "greener", "lush", "forest"] { v[w] = ("tint", 1) }
        for w in ["magenta", "purple", "pink"] { v[w] = ("tint", -1) }
        for w in ["vivid", "colorful", "colourful", "saturated", "vibrant"] { v[w] = ("saturation", 1) }
        for w in ["gray", "grey", "muted", "faded", "monochrome", "desaturated", "colorless", "colourless"] { v[w] = ("saturation", -1) }
        for w in ["sharp", "detailed", "textured", "rough", "busy", "crisp"] { v[w] = ("gradient", 1) }
        for w in ["smooth", "soft", "blurry", "blurred", "foggy", "misty", "calm"] { v[w] = ("gradient", -1) }
        return v
    }()

    public init() {
        let spec = "unclip statistic embedder v1: " + Self.blocks.map { "\($0.name)/\($0.bins)" }.joined(separator: ",")
        modelHash = SHA256.hex(Array(spec.utf8))
    }

    public func embed(images: [Image]) throws -> [[Float]] {
        images.map { embed(Shrink.toShortSide($0, inputResolution)) }
    }

    /// Adds `weight` to the two bins nearest `value` mapped onto [lo, hi].
    @inline(__always) static func splat(_ h: inout [Double], _ offset: Int, _ bins: Int, _ value: Double, _ lo: Double, _ hi: Double, _ weight: Double = 1) {
        let t = min(max((value - lo) / (hi - lo), 0), 1) * Double(bins - 1)
        let i = min(Int(t), bins - 2)
        let f = t - Double(i)
        h[offset + i] += weight * (1 - f)
        h[offset + i + 1] += weight * f
    }

    func embed(_ image: Image) -> [Float] {
        let w = image.width, h = image.height
        let px = image.pixels
        var v = [Double](repeating: 0, count: Self.dimension)
        let off = Self.offsets
        var luma = [Double](repeating: 0, count: w * h)
        for i in 0..<(w * h) {
            let r = Double(px[3 * i]) / 255, g = Double(px[3 * i + 1]) / 255, b = Double(px[3 * i + 2]) / 255
            let y = 0.299 * r + 0.587 * g + 0.114 * b
            luma[i] = y
            Self.splat(&v, off[0], 8, y, 0, 1)
            Self.splat(&v, off[1], 8, r - b, -1, 1)
            Self.splat(&v, off[2], 6, g - (r + b) / 2, -1, 1)
            Self.splat(&v, off[3], 6, max(r, g, b) - min(r, g, b), 0, 1)
        }
        var magTotal = 0.0
        var count = 0
        for y in 0..<h {
            for x in 0..<w {
                let i = y * w + x
                let gx = x + 1 < w ? luma[i + 1] - luma[i] : 0
                let gy = y + 1 < h ? luma[i + w] - luma[i] : 0
                let m = (gx * gx + gy * gy).squareRoot()
                Self.splat(&v, off[4], 6, m, 0, 0.5)
                count += 1
                if m > 1e-9 {
                    // Orientation in [0, π), binned periodically with a triangular kernel.
                    var a = atan2(gy, gx); if a < 0 { a += .pi }; if a >= .pi { a -= .pi }
                    let t = a / .pi * 4
                    let j = Int(t) % 4, f = t - Double(Int(t))
                    v[off[5] + j] += m * (1 - f)
                    v[off[5] + (j + 1) % 4] += m * f
                    magTotal += m
                }
            }
        }
        let n = Double(w * h)
        for k in 0..<4 { v[off[k]..<(off[k] + Self.blocks[k].bins)].indices.forEach { v[$0] /= n } }
        for j in off[4]..<(off[4] + 6) { v[j] /= Double(count) }
        for j in off[5]..<(off[5] + 4) { v[j] = magTotal > 0 ? v[j] / magTotal : 0.25 }
        return Self.unit(v.map { $0.squareRoot() })
    }

    static let offsets: [Int] = {
        var o: [Int] = [], s = 0
        for b in blocks { o.append(s); s += b.bins }
        return o
    }()

    static func unit(_ v: [Double]) -> [Float] {
        let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { Float($0 / n) }
    }

    /// The words of a caption that this model understands, in order.
    public static func knownWords(_ caption: String) -> [String] {
        caption.lowercased().split(whereSeparator: { !$0.isLetter }).map(String.init).filter { vocabulary[$0] != nil }
    }

    public func embed(texts: [String]) throws -> [[Float]] {
        texts.map { text in
            // Neutral: every histogram uniform, so each ramp (zero mean within
            // its block) is orthogonal to it and to the other blocks' ramps.
            var v = [Double](repeating: 0, count: Self.dimension)
            for (k, b) in Self.blocks.enumerated() { for j in 0..<b.bins { v[Self.offsets[k] + j] = (1 / Double(b.bins)).squareRoot() } }
            for word in Self.knownWords(text) {
                let (block, sign) = Self.vocabulary[word]!
                let k = Self.blocks.firstIndex { $0.name == block }!
                let bins = Self.blocks[k].bins
                for j in 0..<bins {
                    let ramp = (Double(j) / Double(bins - 1)) * 2 - 1  // −1 … +1
                    v[Self.offsets[k] + j] += Double(sign) * 0.25 * ramp
                }
            }
            return Self.unit(v)
        }
    }
}
