import Foundation

/// Interpolation between two images, Ramesh et al. 2022, §3.2: the target
/// embedding follows z_θ = slerp(z_A, z_B, θ) and every frame is decoded
/// from the same noise (the paper fixes x_T), so the sequence changes only
/// as θ does. The patch decoder has no latent to move, so it moves between
/// three pictures instead: A; M, A's layout made of B's patches (a texture
/// transfer); and B. The first half dissolves A into M region by region,
/// A's brightest regions first, the second M into B, B's brightest first,
/// each step switching the same area (`RegionDissolve`):
/// every frame is one layout in at most two materials, or one material in
/// at most two layouts, never a crossfade. With several candidates per
/// frame the one closest to z_θ is kept.
public enum Interpolation {
    public struct Options: Sendable {
        /// Candidates per frame (K); 1 decodes each frame once.
        public var candidates = 1
        /// Coarsest-level noise as in `Variation`: the sequence runs between
        /// variations of A and B (0: between A and B themselves).
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
        let count = candidateCount(steered: embedder != nil, options: options)
        let keyLanes = max(1, min(options.synthesis.threads, count))
        var ko = options
        ko.synthesis.threads = max(1, options.synthesis.threads / keyLanes)
        // The three pictures each candidate moves through, made once for all frames.
        let keys = thetas.contains(where: { !isCopiedEnd($0, options) })
            ? try Concurrently.map(count, width: keyLanes) { try Keyframes(a: a, b: b, candidate: $0, options: ko) } : []
        let lanes = max(1, min(options.synthesis.threads, thetas.count))
        var o = options
        o.synthesis.threads = max(1, options.synthesis.threads / lanes)
        let lock = NSLock()
        var finished = 0
        // Synthesis runs in parallel; the embedder (one model, maybe not
        // thread-safe) scores the frames afterwards, in order.
        let images = try Concurrently.map(thetas.count, width: lanes) { i -> [Image] in
            let c = try candidates(a: a, b: b, keys: keys, theta: thetas[i], options: o)
            lock.lock(); finished += 1; done?(finished); lock.unlock()
            return c
        }
        return try zip(thetas, images).map { t, c in try pick(c, theta: t, za: za, zb: zb, embedder: embedder) }
    }

    public static func frame(a: Image, b: Image, za: [Float], zb: [Float], theta: Double, embedder: ImageEmbedder?,
                             options: Options) throws -> Frame {
        // A sequence of one: its keyframes and candidates are the same, and
        // the thread split never changes the output.
        try frames(a: a, b: b, za: za, zb: zb, thetas: [theta], embedder: embedder, options: options)[0]
    }

    static func check(_ za: [Float], _ zb: [Float], _ thetas: [Double]) throws {
        guard za.count == zb.count else {
            throw UnclipError.usage("the embeddings have \(za.count) and \(zb.count) dimensions: they come from different models")
        }
        if let t = thetas.first(where: { !(0...1).contains($0) }) { throw UnclipError.usage("θ must be between 0 and 1, not \(t)") }
    }

    static func candidateCount(steered: Bool, options: Options) -> Int { steered ? max(1, options.candidates) : 1 }

    /// Without noise an endpoint is the exemplar itself.
    static func isCopiedEnd(_ theta: Double, _ options: Options) -> Bool {
        options.strength == 0 && (theta == 0 || theta == 1)
    }

    /// What one candidate's frames move through: A and B (varied with
    /// `strength` > 0, else as given), and M, A's layout in B's patches, at
    /// A's size. The same seeds for every θ: the fixed x_T of the paper.
    struct Keyframes {
        var a: Image, middle: Image, b: Image
        var seed: UInt64

        init(a: Image, b: Image, candidate: Int, options: Options) throws {
            let seed = Variation.candidateSeed(options.seed, candidate)
            var synth = options.synthesis
            synth.seed = seed
            synth.noise = Variation.noise(strength: options.strength)
            let va = try Keyframes.varied(a, seed: seed, stream: 0xA, options: synth)
            let vb = try Keyframes.varied(b, seed: seed, stream: 0xB, options: synth)
            self.seed = seed
            self.a = va; self.b = vb
            middle = try TextureTransfer.transfer(layout: va, material: vb, options: synth)
        }

        /// A variation of `x` at `options.noise`, or `x` without noise.
        static func varied(_ x: Image, seed: UInt64, stream: UInt64, options: SynthesisOptions) throws -> Image {
            guard options.noise > 0 else { return x.rgb() }
            var s = options
            var r = SplitMix64(seed: seed, stream: stream)
            s.seed = r.next()
            return try PatchSynthesis.synthesize(exemplars: [WeightedExemplar(x.rgb())], width: x.width, height: x.height,
                                                 known: nil, mask: nil, options: s, progress: nil)
        }
    }

    /// The frame's candidates: the exemplar itself at a noiseless endpoint,
    /// else one dissolve per candidate's keyframes.
    static func candidates(a: Image, b: Image, keys: [Keyframes], theta: Double, options: Options) throws -> [Image] {
        if isCopiedEnd(theta, options) { return [(theta == 0 ? a : b).rgb()] }
        let (w, h) = frameSize(a, b, theta: theta)
        func sized(_ x: Image) -> Image {
            x.width == w && x.height == h ? x : FloatImage(x).resizedBilinear(width: w, height: h).image()
        }
        return try keys.map { k in
            var synth = options.synthesis
            synth.seed = k.seed
            // Each half follows the regions of the picture it reveals
            // (A's, then B's), so that whole objects switch rather than
            // random blobs cutting through them.
            let firstHalf = theta <= 0.5
            let from = sized(firstHalf ? k.a : k.middle), to = sized(firstHalf ? k.middle : k.b)
            let field = RegionDissolve.field(following: firstHalf ? from : to, seed: k.seed)
            return try RegionDissolve.frame(from: from, to: to, field: field, u: Float(firstHalf ? 2 * theta : 2 * theta - 1),
                                            exemplars: firstHalf ? [WeightedExemplar(k.a), WeightedExemplar(k.b)] : [WeightedExemplar(k.b)],
                                            options: synth)
        }
    }

    static func pick(_ candidates: [Image], theta: Double, za: [Float], zb: [Float], embedder: ImageEmbedder?) throws -> Frame {
        let target = Slerp.slerp(za, zb, theta)
        let best = try SteeredDecoder(embedder: embedder).select(candidates: candidates, target: target, keep: 1, minDistance: nil)[0]
        return Frame(theta: theta, image: best.image, target: target, score: best.score)
    }
}
