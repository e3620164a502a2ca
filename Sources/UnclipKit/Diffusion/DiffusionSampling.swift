import Foundation

/// The two decoders every decoding subcommand can use.
public enum DecoderKind: String, CaseIterable, Sendable {
    /// Kandinsky 2.2's UNet and MoVQ (`KandinskyPipeline`).
    case diffusion
    /// The exemplar-based patch decoder (`Variation`, `EmbeddingDecoder`, `Inpainting`).
    case patch
}

/// How the diffusion decoder samples.
public struct DiffusionSettings: Sendable {
    public var steps = 25
    public var guidance: Float = 4
    /// DPM-Solver++ by default: at 25 steps it is about where DDPM is at
    /// 100 (Lu et al. 2022, §6), and every step costs a guided UNet pass.
    public var scheduler: SchedulerKind = .dpmpp
    /// Output size in pixels; nil: the exemplar's aspect ratio at the
    /// decoder's native area.
    public var width: Int?
    public var height: Int?
    public init() {}

    /// Refuses values no sampler can use; `source` names where they came
    /// from (an option, or a record's metadata).
    public func check(_ source: String) throws {
        guard (1...1000).contains(steps) else { throw UnclipError.usage("\(source): steps \(steps) is not between 1 and 1000") }
        guard guidance.isFinite, (0...100).contains(guidance) else {
            throw UnclipError.usage("\(source): guidance \(guidance) is not between 0 and 100")
        }
        if let w = width, let h = height, w <= 0 || h <= 0 { throw UnclipError.usage("\(source): size \(w)x\(h) is not positive") }
    }
}

/// Which decoder decodes a set of records, decided once for every
/// subcommand: the diffusion decoder when the model in use is a pipeline
/// with that component and made the records, else the patch decoder.
public enum DecoderChoice {
    public struct Decision {
        public var kind: DecoderKind
        public var pipeline: KandinskyPipeline?
        /// One line for stderr when the default fell back to the patch decoder.
        public var note: String?
    }

    /// `requested`: `--decoder`, nil for the default. `model`: the embedder
    /// the command loaded (a `KandinskyPipeline` for a pipeline folder).
    /// `component`: `.decoder`, or `.inpaint` for inpainting.
    public static func choose(_ requested: DecoderKind?, model: ImageEmbedder?, records: [(name: String, record: EmbeddingFile)],
                              component: KandinskyPipeline.Component = .decoder) throws -> Decision {
        if requested == .patch { return Decision(kind: .patch, pipeline: nil, note: nil) }
        let pipeline = (model as? KandinskyPipeline).flatMap { $0.has(component) ? $0 : nil }
        let foreign = records.first { r in pipeline.map { !$0.made(r.record) } ?? false }
        if requested == .diffusion {
            guard let pipeline else {
                if let p = model as? KandinskyPipeline { _ = try p.folder(component, for: "by --decoder diffusion") }
                throw UnclipError.model("--decoder diffusion: no diffusion decoder installed: run `unclip model pull \(ModelStore.pipelineName)`, or give --model with a pipeline folder")
            }
            if let f = foreign { throw mismatch(f.name, f.record, pipeline) }
            return Decision(kind: .diffusion, pipeline: pipeline, note: nil)
        }
        if let pipeline {
            if let f = foreign {
                return Decision(kind: .patch, pipeline: nil,
                                note: "\(f.name) was made with \(f.record.model), not \(pipeline.modelName)'s CLIP: using the patch decoder (re-encode with --model \(pipeline.modelName) for the diffusion decoder)")
            }
            return Decision(kind: .diffusion, pipeline: pipeline, note: nil)
        }
        let note: String
        if let p = model as? KandinskyPipeline {
            note = "\(p.modelName) has no \(component.folder)/: using the patch decoder (`unclip model pull \(ModelStore.pipelineName) --only \(component.rawValue)` adds it)"
        } else if ModelStore.installedPipeline() == nil {
            note = "no diffusion decoder installed: using the patch decoder (`unclip model pull \(ModelStore.pipelineName)` installs it)"
        } else if let r = records.first {
            note = "\(r.name) was made with \(r.record.model), not \(ModelStore.pipelineName)'s CLIP: using the patch decoder (re-encode with --model \(ModelStore.pipelineName) for the diffusion decoder)"
        } else {
            note = "\(model?.modelName ?? "no model") is not a diffusion pipeline: using the patch decoder (--model \(ModelStore.pipelineName) for the diffusion decoder)"
        }
        return Decision(kind: .patch, pipeline: nil, note: note)
    }

    static func mismatch(_ name: String, _ r: EmbeddingFile, _ p: KandinskyPipeline) -> UnclipError {
        UnclipError.usage("\(name) was made with \(r.model) (\(r.modelHash.prefix(12))), but the diffusion decoder of \(p.modelName) was trained with its own CLIP's embeddings (\(p.modelHash.prefix(12))): re-encode the image with --model \(p.modelName)")
    }
}

/// unCLIP's decoder stage on a pipeline: from a CLIP image embedding (and
/// optionally a photo) to pixels, seeded, with the settings recorded.
extension KandinskyPipeline {
    /// The vector the decoder is conditioned on: the record's unit vector at
    /// its raw length. Records written before lengths were kept have none.
    public func conditioning(_ r: EmbeddingFile, name: String) throws -> [Float] {
        guard let norm = r.norm, norm.isFinite, norm > 0 else {
            throw UnclipError.badInput("\(name): the record has no raw embedding length (written by an older unclip): re-encode it with --model \(modelName)")
        }
        return r.embedding.map { $0 * norm }
    }

    /// The output size: `settings`' when given, else `aspect` (width/height)
    /// at the decoder's native area (the UNet's sample size in pixels, 512²
    /// for the real one), each side a multiple of the MoVQ's granularity.
    public func outputSize(_ settings: DiffusionSettings, aspect: Double) throws -> (width: Int, height: Int) {
        let dec = try decoder()
        let m = dec.sizeMultiple
        if let w = settings.width, let h = settings.height {
            guard w > 0, h > 0, w % m == 0, h % m == 0 else {
                throw UnclipError.usage("--size \(w)x\(h): width and height must be positive multiples of \(m) for this decoder")
            }
            return (w, h)
        }
        let native = Double(dec.unet.config.sampleSize * dec.movq.config.scaleFactor)
        let h = native / aspect.squareRoot(), w = native * aspect.squareRoot()
        func snap(_ x: Double) -> Int { max(m, Int((x / Double(m)).rounded()) * m) }
        return (snap(w), snap(h))
    }

    /// Standard normal x_T for an output of `width` × `height`, from `seed`.
    public func initialLatent(seed: UInt64, width: Int, height: Int) throws -> EmbeddingFile.Latent {
        Self.initialLatent(for: try decoder(), seed: seed, width: width, height: height)
    }

    static func initialLatent(for dec: KandinskyDecoder, seed: UInt64, width: Int, height: Int) -> EmbeddingFile.Latent {
        let (h, w) = dec.latentSize(height: height, width: width)
        var g = SplitMix64(seed: seed, stream: 0x78_54)   // "xT"
        let n = dec.latentChannels * h * w
        return EmbeddingFile.Latent(shape: [dec.latentChannels, h, w], values: (0..<n).map { _ in g.gaussian() })
    }

    /// The stochastic schedulers' per-step noise, from `seed` (a stream of
    /// its own, so x_T does not depend on the scheduler).
    static func stepNoise(seed: UInt64) -> (Int) -> [Float] {
        var g = SplitMix64(seed: seed, stream: 0x73_74)   // "st"
        return { n in (0..<n).map { _ in g.gaussian() } }
    }

    /// Decodes `embed` (raw) from x_T `latent`; with `image` and a strength
    /// below 1, image-to-image from that photo instead (resized to the
    /// latent's size), `latent` being the noise added to it.
    public func sample(embed: [Float], latent: EmbeddingFile.Latent, image: Image? = nil, strength: Float = 1,
                       settings: DiffusionSettings, seed: UInt64, progress: ((Int, Int) -> Void)? = nil) throws -> Image {
        let dec = try decoder()
        guard latent.shape.count == 3, latent.shape[0] == dec.latentChannels else {
            throw UnclipError.badInput("the latent is \(latent.shape), this decoder's are [\(dec.latentChannels), h, w]")
        }
        let (h, w) = (latent.shape[1], latent.shape[2])
        let f = dec.movq.config.scaleFactor
        if let sw = settings.width, let sh = settings.height, sw != w * f || sh != h * f {
            throw UnclipError.usage("--size \(sw)x\(sh) differs from the \(w * f)x\(h * f) of the embedding's latent: leave --size out")
        }
        let scheduler = try Schedulers.make(dec.schedulerConfig, kind: settings.scheduler)
        let negative = try negativeEmbedding()
        let z: [Float]
        if let image, strength < 1 {
            z = try dec.imageToImage(imageLatents: dec.encode(image, latentHeight: h, latentWidth: w), noise: latent.values, strength: strength, height: h, width: w,
                                     embed: embed, negative: negative, steps: settings.steps, guidance: settings.guidance,
                                     scheduler: scheduler, stepNoise: Self.stepNoise(seed: seed), progress: progress)
        } else {
            z = try dec.denoise(latents: latent.values, height: h, width: w, embed: embed, negative: negative,
                                steps: settings.steps, guidance: settings.guidance, scheduler: scheduler,
                                noise: Self.stepNoise(seed: seed), progress: progress)
        }
        return Self.image(dec.decodeToUnit(z, height: h, width: w), width: w * f, height: h * f)
    }

    /// [H, W, 3] values in [0, 1] → 8-bit RGB, rounded as diffusers' `numpy_to_pil` rounds.
    static func image(_ unit: [Float], width: Int, height: Int) -> Image {
        Image(width: width, height: height, channels: 3,
              pixels: unit.map { UInt8(($0 * 255).rounded(.toNearestOrEven)) })
    }
}

extension KandinskyDecoder {
    /// A photo's MoVQ latents [C, h, w], the photo resized to the latent's pixel size first.
    func encode(_ image: Image, latentHeight h: Int, latentWidth w: Int) -> [Float] {
        let f = movq.config.scaleFactor
        let px = PillowResample.bicubic(image.rgb(), width: w * f, height: h * f)
        return encode(pixels: px.pixels, height: h * f, width: w * f).latents
    }

    /// Output sides must be multiples of this (f², 64 for the real MoVQ),
    /// so the pipelines' rounding (`latentSize`) keeps the requested size.
    public var sizeMultiple: Int { movq.config.scaleFactor * movq.config.scaleFactor }
}

/// Variations on the diffusion decoder (Ramesh et al. 2022, §3.1): the same
/// z_i decoded from different x_T, or, below strength 1, from the exemplar's
/// latents noised part of the way (the composition stays). K candidates per
/// output are decoded and the N closest to z_i in CLIP are kept, as on the
/// patch decoder.
extension KandinskyPipeline {
    public struct VariationSample: Sendable {
        public var image: Image
        /// Cosine to the source embedding (NaN when unsteered).
        public var score: Float
        public var seed: UInt64
        public var latent: EmbeddingFile.Latent
    }

    /// Candidate `k`'s x_T for a run with `seed`, at the output size.
    public func variationLatent(seed: UInt64, candidate k: Int, width: Int, height: Int) throws -> (seed: UInt64, latent: EmbeddingFile.Latent) {
        let s = Variation.candidateSeed(seed, k)
        return (s, try initialLatent(seed: s, width: width, height: height))
    }

    public func variations(of record: EmbeddingFile, name: String, exemplar: Image?, count: Int, candidatesPerOutput: Int,
                           strength: Float, minDistance: Float, settings: DiffusionSettings, seed: UInt64,
                           steer: Bool = true, progress: Progress? = nil) throws -> [VariationSample] {
        guard count >= 1 else { throw UnclipError.usage("must make at least one variation") }
        let embed = try conditioning(record, name: name)
        let aspect = exemplar.map { Double($0.width) / Double($0.height) } ?? 1
        let (w, h) = try outputSize(settings, aspect: aspect)
        let perOutput = steer ? max(1, candidatesPerOutput) : 1
        let total = count * perOutput
        let startStep = strength < 1 && exemplar != nil ? KandinskyDecoder.firstStep(steps: settings.steps, strength: strength) : 0
        let stepsEach = settings.steps - startStep
        var candidates: [VariationSample] = []
        for k in 0..<total {
            let (s, latent) = try variationLatent(seed: seed, candidate: k, width: w, height: h)
            let im = try sample(embed: embed, latent: latent, image: exemplar, strength: strength, settings: settings, seed: s) { i, _ in
                progress?.step(k * stepsEach + i, of: total * stepsEach, "steps")
            }
            candidates.append(VariationSample(image: im, score: .nan, seed: s, latent: latent))
        }
        progress?.finish()
        return try SteeredDecoder(embedder: steer ? self : nil)
            .selectIndices(candidates: candidates.map(\.image), target: record.embedding, keep: count,
                           minDistance: minDistance > 0 ? minDistance : nil)
            .map { p in
                var c = candidates[p.index]
                c.score = p.score
                return c
            }
    }
}
