import Foundation

/// One photo's layout rebuilt from another's patches: its shapes in the
/// other's colours and textures (Efros & Freeman 2001, "Image quilting for
/// texture synthesis and transfer", §3; Hertzmann et al. 2001, "Image
/// analogies"). The layout is first recoloured to the material's statistics
/// so that its patches find matches; patch synthesis then starts from it at
/// a coarser scale, where it sets only the layout, and every finer level
/// takes its detail from the material alone.
public enum TextureTransfer {
    /// `layout` with each channel's mean and spread moved to `material`'s
    /// (Reinhard et al. 2001, "Color transfer between images", in RGB rather
    /// than lαβ: the synthesis that follows fixes what that leaves).
    public static func recoloured(_ layout: FloatImage, like material: FloatImage) -> FloatImage {
        precondition(layout.channels == material.channels)
        var out = layout
        let n = layout.planeSize, m = material.planeSize
        func stats(_ d: ArraySlice<Float>, _ count: Int) -> (mean: Float, sd: Float) {
            let mean = d.reduce(0, +) / Float(count)
            let v = d.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(count)
            return (mean, v.squareRoot())
        }
        for c in 0..<layout.channels {
            let a = stats(layout.data[c * n..<(c + 1) * n], n), b = stats(material.data[c * m..<(c + 1) * m], m)
            // A flat channel keeps its flatness rather than blowing noise up.
            let gain = b.sd / max(a.sd, 1)
            for i in 0..<n { out.data[c * n + i] = (layout.data[c * n + i] - a.mean) * gain + b.mean }
        }
        return out
    }

    /// `layout`'s shapes made of `material`'s patches, at the layout's size.
    /// `guideDivisor` is how much coarser than the result the layout is
    /// followed: 2 keeps objects recognisable and leaves the texture to the
    /// material; 4 and above lose the layout to the material's own.
    public static func transfer(layout: Image, material: Image, guideDivisor: Int = 2,
                                options: SynthesisOptions) throws -> Image {
        guard guideDivisor >= 1 else { throw UnclipError.usage("guide divisor must be at least 1") }
        let w = layout.width, h = layout.height
        let small = FloatImage(layout.rgb()).resizedArea(width: max(1, w / guideDivisor), height: max(1, h / guideDivisor))
        var o = options
        o.guide = recoloured(small, like: FloatImage(material.rgb())).image()
        o.noise = 0
        return try PatchSynthesis.synthesize(exemplars: [WeightedExemplar(material.rgb())], width: w, height: h,
                                             known: nil, mask: nil, options: o, progress: nil)
    }
}
