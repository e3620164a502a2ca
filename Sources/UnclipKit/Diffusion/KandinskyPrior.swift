import Foundation

/// How the prior samples (`KandinskyV22PriorPipeline`'s defaults).
public struct PriorSettings: Sendable {
    public var steps = 25
    public var guidance: Float = 4
    public init() {}

    public func check() throws {
        guard (2...1000).contains(steps) else { throw UnclipError.usage("--prior-steps \(steps) is not between 2 and 1000") }
        guard guidance.isFinite, (0...100).contains(guidance) else {
            throw UnclipError.usage("--prior-guidance \(guidance) is not between 0 and 100")
        }
    }
}

/// unCLIP's first stage on a pipeline (Ramesh et al. 2022, §2.2): a
/// caption → a CLIP image embedding, sampled by the prior from noise,
/// guided by the empty caption (Ho & Salimans 2022) as
/// `KandinskyV22PriorPipeline` does.
extension KandinskyPipeline {
    /// `prior/prior/` with `prior/scheduler/`, checked against the text
    /// encoder it reads and the decoder that will read its output.
    public func prior() throws -> (transformer: PriorTransformer, scheduler: DiffusersConfig) {
        let dir = try folder(.prior, for: "by the prior")
        let text = try textEncoder().config
        // The config alone: loading the decoder for one number would map 5 GB.
        let decoderWidth = has(.decoder)
            ? try UNetConfig.load(directory: directory.appendingPathComponent("\(Component.decoder.folder)/unet")).imageEmbedDim : nil
        return try cached("prior") {
            let fm = FileManager.default
            for sub in ["prior", "scheduler"] where !fm.fileExists(atPath: dir.appendingPathComponent(sub).path) {
                throw UnclipError.model("\(dir.path): no \(sub)/, needed by the prior: run `unclip model pull \(ModelStore.pipelineName) --only prior`")
            }
            let p = try PriorTransformer(directory: dir.appendingPathComponent("prior"))
            let c = p.config, name = dir.appendingPathComponent("prior").path
            guard text.text.tower.hiddenSize == c.embeddingDim, text.projectionDim == c.embeddingProjDim,
                  text.text.maxPositions == c.textTokens else {
                throw UnclipError.model("\(name): the prior reads \(c.textTokens) text tokens \(c.embeddingDim) wide and a \(c.embeddingProjDim)-wide text embedding, but prior/text_encoder gives \(text.text.maxPositions) tokens \(text.text.tower.hiddenSize) wide and \(text.projectionDim)")
            }
            if let decoderWidth, decoderWidth != c.clipEmbedDim {
                throw UnclipError.model("\(name): the prior makes \(c.clipEmbedDim)-wide image embeddings, but the decoder's UNet reads \(decoderWidth)")
            }
            let scheduler = try DiffusersConfig.load(dir.appendingPathComponent("scheduler/scheduler_config.json"))
            _ = try Schedulers.make(scheduler)   // a bad config fails here, not at the first step
            return (p, scheduler)
        }
    }

    /// A caption's conditioning; `truncated` is set when it had more tokens than the encoder reads.
    public func priorCondition(_ caption: String) throws -> (condition: PriorTransformer.TextCondition, truncated: Bool) {
        let (ids, truncated) = try tokenizer().encodeNoting(caption)
        let (pooled, states) = try textEncoder().text.forwardKeepingStates(tokens: [ids])   // [1, P], [L, D]
        return (PriorTransformer.TextCondition(embedding: Array(UnsafeBufferPointer(start: pooled.data, count: pooled.cols)),
                                               states: states), truncated)
    }

    /// The raw CLIP image embedding the prior makes of `caption`, seeded.
    public func priorEmbedding(caption: String, settings: PriorSettings, seed: UInt64,
                               progress: ((Int, Int) -> Void)? = nil) throws -> [Float] {
        try priorEmbedding(text: priorText(caption), settings: settings, seed: seed, progress: progress)
    }

    /// A caption's conditioning and the empty caption's, encoded once for any number of samples.
    public struct PriorText {
        public var condition: PriorTransformer.TextCondition
        public var unconditional: PriorTransformer.TextCondition
        /// The caption had more tokens than the encoder reads.
        public var truncated: Bool
    }

    public func priorText(_ caption: String) throws -> PriorText {
        let (c, truncated) = try priorCondition(caption)
        return PriorText(condition: c, unconditional: try priorCondition("").condition, truncated: truncated)
    }

    /// A seeded sample for an encoded caption: x_T and the step noise from streams of `seed`.
    public func priorEmbedding(text: PriorText, settings: PriorSettings, seed: UInt64,
                               progress: ((Int, Int) -> Void)? = nil) throws -> [Float] {
        let d = try prior().transformer.config.embeddingDim
        var g = SplitMix64(seed: seed, stream: 0x70_7A)   // "pz"
        let initial = (0..<d).map { _ in g.gaussian() }
        var s = SplitMix64(seed: seed, stream: 0x70_73)   // "ps"
        return try priorEmbedding(condition: text.condition, unconditional: text.unconditional, settings: settings,
                                  initial: initial, noise: { n in (0..<n).map { _ in s.gaussian() } }, progress: progress)
    }

    /// The sampling loop from x_T = `initial` [D], `noise` supplying each
    /// stochastic step's draws; `trace` sees every step's (sample in,
    /// guided model output, sample out) in the prior's normalised space.
    public func priorEmbedding(condition: PriorTransformer.TextCondition, unconditional: PriorTransformer.TextCondition,
                               settings: PriorSettings, initial: [Float], noise: (Int) -> [Float],
                               progress: ((Int, Int) -> Void)? = nil,
                               trace: ((_ step: Int, _ sample: [Float], _ output: [Float], _ next: [Float]) -> Void)? = nil) throws -> [Float] {
        try settings.check()
        let (model, config) = try prior()
        let scheduler = try Schedulers.make(config)
        try scheduler.setTimesteps(settings.steps)
        let guided = settings.guidance > 1
        var x = initial.map { $0 * scheduler.initNoiseSigma }
        let steps = scheduler.timesteps
        for (i, t) in steps.enumerated() {
            let out: [Float]
            if guided {
                let both = try model([x, x], timestep: t, text: [unconditional, condition])   // [2][D]
                out = zip(both[0], both[1]).map { u, c in u + settings.guidance * (c - u) }
            } else {
                out = try model([x], timestep: t, text: [condition])[0]
            }
            let next = scheduler.step(out, timestep: t, sample: x, noise: noise)
            trace?(i, x, out, next)
            x = next
            progress?(i + 1, steps.count)
        }
        return model.unnormalise(x)
    }
}

extension KandinskyPipeline {
    /// Whether `prior/prior/` is installed (the prior pipeline without it still encodes images and captions).
    public var hasPrior: Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent("prior/prior").path)
    }

    /// A caption's prior embedding as an `.emb` record: kind image, the
    /// caption as its source, no exemplar, its raw length kept, and how it
    /// was sampled. `truncated`: the caption was cut at the encoder's length.
    public func priorRecord(caption: String, settings: PriorSettings, seed: UInt64, provenance: [String: String] = [:],
                            progress: ((Int, Int) -> Void)? = nil) throws -> (record: EmbeddingFile, truncated: Bool) {
        let text = try priorText(caption)
        return (try priorRecord(caption: caption, text: text, settings: settings, seed: seed, provenance: provenance, progress: progress),
                text.truncated)
    }

    func priorRecord(caption: String, text: PriorText, settings: PriorSettings, seed: UInt64, provenance: [String: String],
                     progress: ((Int, Int) -> Void)?) throws -> EmbeddingFile {
        let (unit, norm) = try CLIPModel.normalisedKeepingNorm(priorEmbedding(text: text, settings: settings, seed: seed,
                                                                                progress: progress))
        var extra = provenance
        extra["prior_steps"] = String(settings.steps)
        extra["prior_guidance"] = String(settings.guidance)
        extra["seed"] = String(seed)
        extra["edit"] = "prior"
        return EmbeddingFile(embedding: unit, exemplar: nil, kind: .image, model: modelName, modelHash: modelHash,
                             source: caption, sourceHash: SHA256.hex(Array(caption.utf8)), resolution: inputResolution,
                             extra: extra, norm: norm)
    }

    /// The image embedding `--prompt` steers a fill toward, from the
    /// photo's (`unit` at length `norm`): slerped by `strength` toward the
    /// prompt's prior embedding, lengths interpolated; or, without a prior
    /// (`usedPrior` false), toward its text embedding at the photo's length.
    public func promptTarget(photo unit: [Float], norm: Float, prompt: String, strength: Float,
                             settings: PriorSettings = PriorSettings(), seed: UInt64) throws -> (unit: [Float], norm: Float, usedPrior: Bool) {
        if hasPrior {
            let z = try priorEmbedding(caption: prompt, settings: settings, seed: seed)
            let (u, n) = try CLIPModel.normalisedKeepingNorm(Self.slerpRaw(unit.map { $0 * norm }, z, Double(strength)))
            return (u, n, true)
        }
        return (Slerp.slerp(unit, try embed(texts: [prompt])[0], Double(strength)), norm, false)
    }
}

/// Text to image (Ramesh et al. 2022, §2): each candidate is a prior
/// sample of the caption decoded from its own x_T; K per output are made
/// and the N closest to the caption in CLIP are kept, as unCLIP reranks.
extension KandinskyPipeline {
    public struct Generated: Sendable {
        public var image: Image
        /// Cosine to the caption's text embedding (NaN when unsteered).
        public var score: Float
        public var seed: UInt64
        /// The prior's embedding, with the x_T it was decoded from.
        public var record: EmbeddingFile
    }

    public func generate(caption: String, count: Int, candidatesPerOutput: Int, minDistance: Float,
                         prior: PriorSettings, settings: DiffusionSettings, seed: UInt64,
                         provenance: [String: String] = [:], progress: Progress? = nil) throws -> [Generated] {
        guard count >= 1 else { throw UnclipError.usage("must generate at least one image") }
        try prior.check()
        let (w, h) = try outputSize(settings, aspect: 1)
        let total = count * max(1, candidatesPerOutput)
        let text = try priorText(caption)   // one encoding for every candidate
        var made: [Generated] = []
        for k in 0..<total {
            let s = Variation.candidateSeed(seed, k)
            var r = try priorRecord(caption: caption, text: text, settings: prior, seed: s, provenance: provenance, progress: nil)
            r.latent = try initialLatent(seed: s, width: w, height: h)
            let im = try sample(embed: r.rawEmbedding!, latent: r.latent!, settings: settings, seed: s) { i, n in
                progress?.step(k * n + i, of: total * n, "steps")
            }
            made.append(Generated(image: im, score: .nan, seed: s, record: r))
        }
        progress?.finish()
        let steer = total > count
        let target = steer ? try embed(texts: [caption])[0] : []
        return try SteeredDecoder(embedder: steer ? self : nil)
            .selectIndices(candidates: made.map(\.image), target: target, keep: count, minDistance: minDistance > 0 ? minDistance : nil)
            .map { p in
                var g = made[p.index]
                g.score = p.score
                return g
            }
    }
}
