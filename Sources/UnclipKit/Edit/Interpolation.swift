import Foundation

/// Interpolation between two images, Ramesh et al. 2022, §3.2: the target
/// embedding follows z_θ = slerp(z_A, z_B, θ) and every frame is decoded
/// from the same noise (the paper fixes x_T), so the sequence changes only
/// as θ does. Here a frame is patch-synthesised from both exemplars, A
/// weighted 1−θ and B weighted θ, at a size between theirs; with several
/// candidates per frame the one closest to z_θ is kept.
public enum Interpolation {
    public struct Options: Sendable {
        /// Candidates per frame (K); 1 decodes each frame once.
        public var candidates = 1
        /// Coarsest-level noise as in `Variation` (0: the exemplars' blend).
        public var strength: Float = 0
        public var seed: UInt64 = 0
        public var synthesis = Variation.synthesisDefaults
        public init() {}
    }

    public struct Frame: Sendable {
        public var theta: Double
        public var image: Image
        /// slerp(z_A, z_B, θ).
        public var target: [Float]
        /// Cosine of the decoded frame to the target (NaN when unsteered).
        public var score: Float
    }

    /// θ for each of `frames` evenly spaced frames from 0 to 1.
    public static func thetas(frames: Int) -> [Double] {
        precondition(frames >= 1)
        if frames == 1 { return [0.5] }
        return (0..<frames).map { Double($0) / Double(frames - 1) }
    }

    /// Frames change size smoothly when A and B differ, ending at each one's own.
    public static func frameSize(_ a: Image, _ b: Image, theta: Double) -> (width: Int, height: Int) {
        (Int((Double(a.width) * (1 - theta) + Double(b.width) * theta).rounded()),
         Int((Double(a.height) * (1 - theta) + Double(b.height) * theta).rounded()))
    }

    /// Every frame of a sequence, decoded side by side (frames are
    /// independent), the threads shared among them; `done` reports progress.
    public static func frames(a: Image, b: Image, za: [Float], zb: [Float], thetas: [Double], embedder: ImageEmbedder?,
                              options: Options, done: ((Int) -> Void)? = nil) throws -> [Frame] {
        try check(za, zb, thetas)
        let lanes = max(1, min(options.synthesis.threads, thetas.count))
        var o = options
        o.synthesis.threads = max(1, options.synthesis.threads / lanes)
        let lock = NSLock()
        var finished = 0
        // Synthesis runs in parallel; the embedder (one model, maybe not
        // thread-safe) scores the frames afterwards, in order.
        let images = try Concurrently.map(thetas.count, width: lanes) { i -> [Image] in
            let c = try candidates(a: a, b: b, theta: thetas[i], steered: embedder != nil, options: o)
            lock.lock(); finished += 1; done?(finished); lock.unlock()
            return c
        }
        return try zip(thetas, images).map { t, c in try pick(c, theta: t, za: za, zb: zb, embedder: embedder) }
    }

    public static func frame(a: Image, b: Image, za: [Float], zb: [Float], theta: Double, embedder: ImageEmbedder?,
                             options: Options) throws -> Frame {
        try check(za, zb, [theta])
        return try pick(try candidates(a: a, b: b, theta: theta, steered: embedder != nil, options: options),
                        theta: theta, za: za, zb: zb, embedder: embedder)
    }

    static func check(_ za: [Float], _ zb: [Float], _ thetas: [Double]) throws {
        guard za.count == zb.count else {
            throw UnclipError.usage("the embeddings have \(za.count) and \(zb.count) dimensions: they come from different models")
        }
        if let t = thetas.first(where: { !(0...1).contains($0) }) { throw UnclipError.usage("θ must be between 0 and 1, not \(t)") }
    }

    /// The frame's candidates: the exemplar itself at a noiseless endpoint,
    /// else K syntheses with the same seeds for every θ.
    static func candidates(a: Image, b: Image, theta: Double, steered: Bool, options: Options) throws -> [Image] {
        // Without noise an endpoint draws from one exemplar only and the
        // synthesis reconstructs it (PSNR ≥ 35 dB, see VariationTests); the
        // exemplar itself is that reconstruction, exact and free.
        if options.strength == 0 && (theta == 0 || theta == 1) { return [(theta == 0 ? a : b).rgb()] }
        var exemplars: [WeightedExemplar] = []
        if theta < 1 { exemplars.append(WeightedExemplar(a.rgb(), weight: Float(1 - theta))) }
        if theta > 0 { exemplars.append(WeightedExemplar(b.rgb(), weight: Float(theta))) }
        let (w, h) = frameSize(a, b, theta: theta)
        var synth = options.synthesis
        synth.noise = Variation.noise(strength: options.strength)
        return try (0..<(steered ? max(1, options.candidates) : 1)).map { i in
            // The same seeds for every θ: the fixed x_T of the paper.
            synth.seed = Variation.candidateSeed(options.seed, i)
            return try PatchSynthesis.synthesize(exemplars: exemplars, width: w, height: h, known: nil, mask: nil,
                                                 options: synth, progress: nil)
        }
    }

    static func pick(_ candidates: [Image], theta: Double, za: [Float], zb: [Float], embedder: ImageEmbedder?) throws -> Frame {
        let target = Slerp.slerp(za, zb, theta)
        let best = try SteeredDecoder(embedder: embedder).select(candidates: candidates, target: target, keep: 1, minDistance: nil)[0]
        return Frame(theta: theta, image: best.image, target: target, score: best.score)
    }
}
