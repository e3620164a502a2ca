import Foundation

/// Decodes an embedding that carries (or is given) an exemplar: the
/// exemplar, or a patch re-synthesis of it when asked for variety, moved
/// toward the embedding's vector by a photographic edit search. An
/// unedited embedding decodes to its exemplar unchanged; an edited one
/// (a text diff, an interpolation) to the exemplar with the adjustments
/// that best explain the edit.
public enum EmbeddingDecoder {
    public struct Options: Sendable {
        /// Re-synthesise the exemplar first (as `Variation`, strength > 0) or
        /// start from it exactly (0).
        public var strength: Float = 0
        public var candidates = 3
        public var seed: UInt64 = 0
        public var synthesis = Variation.synthesisDefaults
        public var search = AdjustmentSearch.Options()
        public init() {}
    }

    public struct Result: Sendable {
        public var image: Image
        public var adjustments: PhotoAdjustments
        /// Cosine to the target before and after the edit search (NaN when unsteered).
        public var startScore: Double
        public var score: Double
    }

    /// An embedding this close to its exemplar's own is unedited: the gap is
    /// the encoder's rounding (it embeds the full-size source; the exemplar
    /// is shrunk to working size), not an edit. Text-diff edits at θ ≥ 0.1
    /// and interpolation frames a few percent from an end are below it.
    public static let unedited = 0.999

    public static func decode(exemplar: Image, target: [Float], embedder: ImageEmbedder?, options: Options,
                              start: PhotoAdjustments = PhotoAdjustments()) throws -> Result {
        var base = exemplar.rgb()
        if options.strength > 0 {
            var v = Variation.Options()
            v.strength = options.strength
            v.candidatesPerOutput = options.candidates
            v.seed = options.seed
            v.synthesis = options.synthesis
            base = try Variation.generate(exemplar: base, target: target, count: 1, embedder: embedder, options: v).outputs[0].image
        }
        guard let embedder else {
            return Result(image: start.apply(to: base, threads: options.synthesis.threads), adjustments: start, startScore: .nan, score: .nan)
        }
        if options.strength == 0 && start.isIdentity {
            let c = Slerp.cosine(try embedder.embed(images: [base])[0], target)
            if c >= unedited { return Result(image: base, adjustments: start, startScore: c, score: c) }
        }
        var search = options.search
        search.seed = options.seed
        search.threads = options.synthesis.threads
        let r = try AdjustmentSearch.search(image: base, target: target, embedder: embedder, start: start, options: search)
        return Result(image: r.adjustments.apply(to: base, threads: search.threads), adjustments: r.adjustments,
                      startScore: r.startCosine, score: r.cosine)
    }
}
