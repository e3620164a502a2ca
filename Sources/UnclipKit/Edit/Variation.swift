import Foundation

/// Image variations, Ramesh et al. 2022, §3.1: decode the same image
/// embedding again from fresh noise, keeping what CLIP sees and changing
/// the rest. Here the noise is GPNN's (Granot et al. 2022, §3): the
/// exemplar's coarsest level is perturbed, and patch synthesis from the
/// exemplar rebuilds every finer level; K candidates per output are scored
/// against the source embedding and the best are kept, no two alike.
public enum Variation {
    public struct Options: Sendable {
        /// How far a variation may wander: 0 reconstructs the exemplar, 1 is
        /// GPNN's recommended coarsest-level noise.
        public var strength: Float = 1
        /// Candidates decoded per output (K); the best N of K·N are kept.
        public var candidatesPerOutput = 3
        /// Cosine distance below which two candidates count as the same
        /// image: the second is skipped while others remain.
        public var minDistance: Float = 0.002
        public var seed: UInt64 = 0
        /// Also score the rejected candidates (one more embedder call), to
        /// report or check what the selection turned down.
        public var scoreRejected = false
        public var synthesis = Variation.synthesisDefaults

        public init() {}
    }

    public struct Candidate: Sendable {
        public var image: Image
        /// Cosine to the target (NaN when unsteered).
        public var score: Float
        /// The synthesis seed that made it.
        public var seed: UInt64
    }

    public struct Result: Sendable {
        /// The kept outputs, best first.
        public var outputs: [Candidate]
        /// Every candidate decoded, in seed order (the outputs among them).
        public var candidates: [Candidate]
    }

    /// The decoder's settings for edits: one EM round at every level above
    /// 128×128 instead of two above 256×256, its random search within 8 px,
    /// and above 256×256 no search at all, only a vote of the carried-up
    /// field. A variation's layout is settled at the coarse levels; finer
    /// levels start from the carried-up nearest-neighbour field and these
    /// cheaper rounds sharpen them about as well (compared by eye on Kodak
    /// 512×512 crops) at a fraction of the time, which matters with K·N
    /// candidates.
    public static var synthesisDefaults: SynthesisOptions {
        var s = SynthesisOptions()
        s.refineIterations = 1
        s.refinePixels = 128 * 128
        s.refineSearchRadius = 8
        s.fineIterations = 0
        return s
    }

    /// GPNN noise amplitude for a strength: 0.75 (their recommended value) at 1.
    public static func noise(strength: Float) -> Float { 0.75 * strength }

    /// The synthesis seed of candidate `k`: hashed so that runs with nearby
    /// `--seed` values share no candidate.
    public static func candidateSeed(_ seed: UInt64, _ k: Int) -> UInt64 {
        var g = SplitMix64(seed: seed, stream: 0x7A41, UInt64(k))
        return g.next()
    }

    /// `count` variations of `exemplar`, steered toward `target` when an
    /// embedder is given (unsteered: the first `count` candidates).
    public static func generate(exemplar: Image, target: [Float], count: Int, embedder: ImageEmbedder?,
                                options: Options, progress: Progress? = nil) throws -> Result {
        guard count >= 1 else { throw UnclipError.usage("must make at least one variation") }
        let ex = exemplar.rgb()
        var synth = options.synthesis
        synth.noise = noise(strength: options.strength)
        // Without noise every seed rebuilds the same image: one per output is enough.
        let perOutput = embedder == nil || options.strength == 0 ? 1 : max(1, options.candidatesPerOutput)
        let total = count * perOutput
        // Candidates side by side, the threads shared among them.
        let lanes = min(synth.threads, total)
        synth.threads = max(1, synth.threads / lanes)
        var done = 0
        let lock = NSLock()
        let prepared = try PatchSynthesis.prepare(exemplars: [WeightedExemplar(ex)], width: ex.width, height: ex.height,
                                                  known: nil, mask: nil, options: synth)
        var candidates = try Concurrently.map(total, width: lanes) { k -> Candidate in
            let seed = candidateSeed(options.seed, k)
            let im = try prepared.run(seed: seed, noise: synth.noise, threads: synth.threads)
            lock.lock(); done += 1; progress?.update(done, of: total, "candidates"); lock.unlock()
            return Candidate(image: im, score: .nan, seed: seed)
        }
        progress?.finish()
        let decoder = SteeredDecoder(embedder: embedder)
        let picked = try decoder.selectIndices(candidates: candidates.map(\.image), target: target, keep: count,
                                               minDistance: options.minDistance > 0 ? options.minDistance : nil)
        for p in picked { candidates[p.index].score = p.score }
        let outputs = picked.map { candidates[$0.index] }
        let used = Set(picked.map(\.index))
        if let embedder, options.scoreRejected {
            let rest = candidates.indices.filter { !used.contains($0) }
            if !rest.isEmpty {
                let z = try embedder.embed(images: rest.map { candidates[$0].image })
                for (j, k) in rest.enumerated() { candidates[k].score = Float(Slerp.cosine(z[j], target)) }
            }
        }
        return Result(outputs: outputs, candidates: candidates)
    }
}
