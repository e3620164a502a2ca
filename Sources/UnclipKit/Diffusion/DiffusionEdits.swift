import Foundation

/// unCLIP's edits on the diffusion decoder (Ramesh et al. 2022, §3.2–3.3):
/// interpolations and text diffs move z_i while x_T stays fixed, either the
/// same seeded noise or a photo's DDIM-inverted latent, so the layout
/// survives and only what the embedding describes changes.
extension KandinskyPipeline {
    /// A photo's DDIM-inverted x_T at `width` × `height`, conditioned on
    /// `embed` (raw): deterministic DDIM from it with the same embedding and
    /// no guidance reconstructs the photo (Song et al. 2021, §4.3).
    public func invert(_ image: Image, embed: [Float], width: Int, height: Int, steps: Int,
                       progress: ((Int, Int) -> Void)? = nil) throws -> EmbeddingFile.Latent {
        let dec = try decoder()
        let (h, w) = dec.latentSize(height: height, width: width)
        let x0 = dec.encode(image, latentHeight: h, latentWidth: w)
        let xT = try dec.invert(latents: x0, height: h, width: w, embed: embed, steps: steps, progress: progress)
        return EmbeddingFile.Latent(shape: [dec.latentChannels, h, w], values: xT)
    }

    /// slerp of two raw vectors: the directions slerped, the lengths interpolated linearly.
    public static func slerpRaw(_ a: [Float], _ b: [Float], _ t: Double) -> [Float] {
        if t == 0 { return a }
        if t == 1 { return b }
        let na = Slerp.norm(a), nb = Slerp.norm(b)
        guard na > 0, nb > 0 else { return zip(a, b).map { Float(Double($0) * (1 - t) + Double($1) * t) } }
        let u = Slerp.slerp(a.map { Float(Double($0) / na) }, b.map { Float(Double($0) / nb) }, t)
        let n = na * (1 - t) + nb * t
        return u.map { Float(Double($0) * n) }
    }

    public struct EditFrame: Sendable {
        public var theta: Double
        public var image: Image
        /// The unit target the frame was decoded toward.
        public var target: [Float]
        /// The raw length the frame was decoded at.
        public var norm: Float
        public var latent: EmbeddingFile.Latent
    }

    /// Interpolation frames: z_θ = slerp(z_A, z_B, θ) at the linearly
    /// interpolated raw length; x_T is one seeded noise for every frame, or with
    /// `inverted` the slerp of both exemplars' DDIM-inverted latents, so
    /// that the ends reconstruct their photos.
    public func interpolate(_ a: EmbeddingFile, _ b: EmbeddingFile, names: (String, String), exemplars: (Image?, Image?),
                            thetas: [Double], inverted: Bool, settings: DiffusionSettings, seed: UInt64,
                            render: Bool = true, progress: Progress? = nil) throws -> [EditFrame] {
        let za = try conditioning(a, name: names.0), zb = try conditioning(b, name: names.1)
        let aspect = (exemplars.0 ?? exemplars.1).map { Double($0.width) / Double($0.height) } ?? 1
        let (w, h) = try outputSize(settings, aspect: aspect)
        let xT: (Double) -> EmbeddingFile.Latent
        var done = 0
        let total = (render ? thetas.count * settings.steps : 0) + (inverted ? 2 * settings.steps : 0)
        let tick = { (_: Int, _: Int) in done += 1; progress?.step(done, of: total, "steps") }
        if inverted {
            guard let ea = exemplars.0, let eb = exemplars.1 else {
                throw UnclipError.usage("--invert needs both ends' photos, and \(exemplars.0 == nil ? names.0 : names.1) has no exemplar; give one with --exemplar IMAGE")
            }
            let la = try invert(ea, embed: za, width: w, height: h, steps: settings.steps, progress: tick)
            let lb = try invert(eb, embed: zb, width: w, height: h, steps: settings.steps, progress: tick)
            xT = { t in EmbeddingFile.Latent(shape: la.shape, values: Self.slerpRaw(la.values, lb.values, t)) }
        } else {
            let l = try initialLatent(seed: seed, width: w, height: h)
            xT = { _ in l }
        }
        let frames = try thetas.map { t -> EditFrame in
            let latent = xT(t)
            // As `conditioning` makes it from a record, so that the frame's
            // --embedding-only record decodes to exactly this frame.
            let target = Slerp.slerp(a.embedding, b.embedding, t)
            let norm = Float(Double(a.norm!) * (1 - t) + Double(b.norm!) * t)
            let z = target.map { $0 * norm }
            // Without rendering (--embedding-only) the frame carries no pixels.
            let im = render ? try sample(embed: z, latent: latent, settings: settings, seed: seed, progress: tick)
                            : Image(width: 1, height: 1, channels: 3)
            return EditFrame(theta: t, image: im, target: target, norm: norm, latent: latent)
        }
        progress?.finish()
        return frames
    }

    /// Text-diff frames: z_θ = slerp(z_i, z_d, θ) at z_i's raw length,
    /// decoded from the exemplar's DDIM-inverted x_T so the layout stays.
    public func textDiff(_ record: EmbeddingFile, name: String, exemplar: Image, direction: [Float], thetas: [Double],
                         settings: DiffusionSettings, seed: UInt64, render: Bool = true, progress: Progress? = nil) throws -> [EditFrame] {
        let zi = try conditioning(record, name: name)
        let norm = record.norm!   // conditioning checked it
        let (w, h) = try outputSize(settings, aspect: Double(exemplar.width) / Double(exemplar.height))
        var done = 0
        let total = ((render ? thetas.count : 0) + 1) * settings.steps
        let tick = { (_: Int, _: Int) in done += 1; progress?.step(done, of: total, "steps") }
        let latent = try invert(exemplar, embed: zi, width: w, height: h, steps: settings.steps, progress: tick)
        let frames = try thetas.map { t -> EditFrame in
            let target = try TextDiff.target(image: record.embedding, direction: direction, theta: t)
            let im = render ? try sample(embed: target.map { $0 * norm }, latent: latent, settings: settings, seed: seed, progress: tick)
                            : Image(width: 1, height: 1, channels: 3)
            return EditFrame(theta: t, image: im, target: target, norm: norm, latent: latent)
        }
        progress?.finish()
        return frames
    }
}
