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
        let decoderWidth = has(.decoder) ? try decoder().unet.config.imageEmbedDim : nil
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
        let d = try prior().transformer.config.embeddingDim
        var g = SplitMix64(seed: seed, stream: 0x70_7A)   // "pz"
        let initial = (0..<d).map { _ in g.gaussian() }
        var s = SplitMix64(seed: seed, stream: 0x70_73)   // "ps"
        return try priorEmbedding(condition: priorCondition(caption).condition, unconditional: priorCondition("").condition,
                                  settings: settings, initial: initial, noise: { n in (0..<n).map { _ in s.gaussian() } },
                                  progress: progress)
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
