import Foundation

/// The photographic part of the decoder's edit space: the global controls a
/// photographer reaches for in a raw converter, plus local colour through a
/// `BilateralGrid`. Every control is smooth in its parameter and zero is the
/// identity, which is what a derivative-free search (`CMAES`) needs to walk
/// from "unchanged" toward a target embedding.
///
/// Order of operations, chosen to match how the controls are understood:
/// exposure and white balance act on linear light (they model the light
/// hitting the sensor); local grid gains too; tone curve, hue and saturation
/// act on the display-referred (sRGB-coded) values.
public struct PhotoAdjustments: Sendable, Equatable {
    /// Exposure in stops (×2^e in linear light).
    public var exposure = 0.0
    /// White balance, log2 of the red/blue gain ratio: positive is warmer.
    public var temperature = 0.0
    /// log2 of the green gain against red and blue: positive is greener.
    public var tint = 0.0
    /// Blend toward (positive) or away from (negative) a smoothstep S-curve, in [−1, 1].
    public var contrast = 0.0
    /// Lift (positive) or crush (negative) the shadows, in [−0.5, 0.5].
    public var shadows = 0.0
    /// Raise (positive) or lower (negative) the highlights, in [−0.5, 0.5].
    public var highlights = 0.0
    /// Chroma scale minus one: −1 is grey, +1 doubles saturation.
    public var saturation = 0.0
    /// Rotation of the chroma plane, radians.
    public var hue = 0.0
    /// Local log2 RGB gains, sliced by position and the input's luminance.
    public var local: BilateralGrid? = nil

    public init() {}

    public static let globalNames = ["exposure", "temperature", "tint", "contrast", "shadows", "highlights", "saturation", "hue"]
    /// Bounds that keep every control monotone and the result recognisable.
    public static let globalLower: [Double] = [-3, -2, -1, -1, -0.5, -0.5, -1, -1]
    public static let globalUpper: [Double] = [3, 2, 1, 1, 0.5, 0.5, 1, 1]

    public var global: [Double] {
        get { [exposure, temperature, tint, contrast, shadows, highlights, saturation, hue] }
        set {
            precondition(newValue.count == Self.globalNames.count)
            let v = zip(newValue, zip(Self.globalLower, Self.globalUpper)).map { min(max($0, $1.0), $1.1) }
            exposure = v[0]; temperature = v[1]; tint = v[2]; contrast = v[3]
            shadows = v[4]; highlights = v[5]; saturation = v[6]; hue = v[7]
        }
    }

    public var isIdentity: Bool { global.allSatisfy { $0 == 0 } && (local?.isIdentity ?? true) }

    /// "exposure +0.42 temperature +0.10 local 2x2x3": recorded in outputs.
    public var summary: String {
        var parts = zip(Self.globalNames, global).filter { abs($0.1) >= 0.005 }.map { String(format: "%@ %+.2f", $0.0, $0.1) }
        if let g = local, !g.isIdentity { parts.append("local \(g.nx)x\(g.ny)x\(g.nz)") }
        return parts.isEmpty ? "none" : parts.joined(separator: " ")
    }

    // MARK: Applying

    /// sRGB decoding of every 8-bit code (IEC 61966-2-1).
    static let toLinear: [Float] = (0..<256).map { i in
        let c = Double(i) / 255
        return Float(c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4))
    }

    /// sRGB encoding sampled on [0, 1]; linear interpolation between entries
    /// is accurate to well under half an 8-bit step.
    static let encodeTableSize = 4096
    static let toSRGB: [Float] = (0...encodeTableSize).map { i in
        let c = Double(i) / Double(encodeTableSize)
        return Float(c <= 0.0031308 ? 12.92 * c : 1.055 * pow(c, 1 / 2.4) - 0.055)
    }

    @inline(__always) static func encode(_ x: Float) -> Float {
        let t = min(max(x, 0), 1) * Float(encodeTableSize)
        let i = min(Int(t), encodeTableSize - 1)
        let f = t - Float(i)
        return toSRGB[i] + f * (toSRGB[i + 1] - toSRGB[i])
    }

    /// The tone curve on one display-referred value in [0, 1]. Each term is
    /// monotone within the bounds above, so no control can invert tones.
    @inline(__always) func curve(_ x: Float, c: Float, sh: Float, hl: Float) -> Float {
        var y = x + c * (x * x * (3 - 2 * x) - x)
        let om = 1 - y
        y += sh * 1.6875 * y * om * om + hl * 1.6875 * y * y * om
        return y
    }

    /// Applies the adjustments to an RGB (or gray, widened) image, using up to
    /// `threads` threads over bands of rows. The result is independent of
    /// `threads`.
    public func apply(to image: Image, threads: Int = 1) -> Image {
        let src = image.rgb()
        if isIdentity { return src }
        let w = src.width, h = src.height
        var out = [UInt8](repeating: 0, count: w * h * 3)
        let e = Float(exposure), t = Float(temperature), ti = Float(tint)
        let gr = Float(pow(2, Double(e + t / 2 - ti / 3))), gg = Float(pow(2, Double(e + 2 * ti / 3))), gb = Float(pow(2, Double(e - t / 2 - ti / 3)))
        let c = Float(contrast), sh = Float(shadows), hl = Float(highlights)
        let sat = Float(1 + saturation), ch = Float(cos(hue)), sn = Float(sin(hue))
        let toneIsIdentity = c == 0 && sh == 0 && hl == 0
        let chromaIsIdentity = saturation == 0 && hue == 0
        let grid = local.flatMap { $0.isIdentity ? nil : $0 }
        let lin = Self.toLinear
        let bands = max(1, min(threads, h))
        src.pixels.withUnsafeBufferPointer { sp in
            out.withUnsafeMutableBufferPointer { op in
                let obase = op.baseAddress!
                DispatchQueue.concurrentPerform(iterations: bands) { band in
                    let y0 = band * h / bands, y1 = (band + 1) * h / bands
                    let du = w > 1 ? 1 / Float(w - 1) : 0, dv = h > 1 ? 1 / Float(h - 1) : 0
                    for y in y0..<y1 {
                        for x in 0..<w {
                            let i = (y * w + x) * 3
                            let r8 = sp[i], g8 = sp[i + 1], b8 = sp[i + 2]
                            var r = lin[Int(r8)] * gr, g = lin[Int(g8)] * gg, b = lin[Int(b8)] * gb
                            if let grid {
                                // The guide is the input's own luminance, as in Chen et al.'s slicing.
                                let l = (0.299 * Float(r8) + 0.587 * Float(g8) + 0.114 * Float(b8)) / 255
                                let (lr, lg, lb) = grid.slice(u: Float(x) * du, v: Float(y) * dv, luma: l)
                                r *= exp2(lr); g *= exp2(lg); b *= exp2(lb)
                            }
                            r = Self.encode(r); g = Self.encode(g); b = Self.encode(b)
                            if !toneIsIdentity {
                                r = curve(r, c: c, sh: sh, hl: hl); g = curve(g, c: c, sh: sh, hl: hl); b = curve(b, c: c, sh: sh, hl: hl)
                            }
                            if !chromaIsIdentity {
                                // Chroma as (B−Y, R−Y) around ITU-R 601 luma; luma is kept.
                                let yl = 0.299 * r + 0.587 * g + 0.114 * b
                                let cb = b - yl, cr = r - yl
                                let cb2 = sat * (ch * cb - sn * cr), cr2 = sat * (sn * cb + ch * cr)
                                r = yl + cr2; b = yl + cb2
                                g = (yl - 0.299 * r - 0.114 * b) / 0.587
                            }
                            obase[i] = UInt8(min(max(r * 255 + 0.5, 0), 255))
                            obase[i + 1] = UInt8(min(max(g * 255 + 0.5, 0), 255))
                            obase[i + 2] = UInt8(min(max(b * 255 + 0.5, 0), 255))
                        }
                    }
                }
            }
        }
        return Image(width: w, height: h, channels: 3, pixels: out)
    }
}
