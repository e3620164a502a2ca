import Foundation

/// CLIP steering (Ramesh et al. 2022, "Hierarchical text-conditional image
/// generation with CLIP latents", §2): decode several candidates from
/// different seeds and keep those whose CLIP embedding is closest to the
/// target. Without an embedder it keeps the first candidates unscored, so
/// the decoder still works when no model is installed.
public final class SteeredDecoder {
    public let embedder: ImageEmbedder?

    public init(embedder: ImageEmbedder?) { self.embedder = embedder }

    /// Whether candidates are actually ranked.
    public var isSteering: Bool { embedder != nil }

    /// Scores candidates by cosine to `target`, keeps the best `keep`, no two
    /// closer than `minDistance` (cosine distance between their embeddings)
    /// when given — unless too few candidates are that far apart, in which
    /// case the best remaining ones fill the gap. Unsteered: the first
    /// `keep`, in order, with score NaN.
    public func select(candidates: [Image], target: [Float], keep: Int, minDistance: Float?) throws -> [(image: Image, score: Float)] {
        try selectIndices(candidates: candidates, target: target, keep: keep, minDistance: minDistance).map { (candidates[$0.index], $0.score) }
    }

    /// `select`, as indices into `candidates`: callers that keep more than
    /// the image per candidate (its seed, its latent) look it up by index.
    public func selectIndices(candidates: [Image], target: [Float], keep: Int, minDistance: Float?) throws -> [(index: Int, score: Float)] {
        guard keep >= 1 else { throw UnclipError.usage("must keep at least one candidate") }
        guard let embedder else {
            return candidates.indices.prefix(keep).map { ($0, Float.nan) }
        }
        guard !candidates.isEmpty else { return [] }
        let embeddings = try embedder.embed(images: candidates)  // [K][D]
        guard embeddings.allSatisfy({ $0.count == target.count }) else {
            throw UnclipError.usage("target embedding has \(target.count) dimensions, \(embedder.modelName) makes \(embeddings.first?.count ?? 0)")
        }
        let scores = embeddings.map { Float(Slerp.cosine($0, target)) }
        // Stable: ties keep the earlier seed.
        let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        var chosen: [Int] = []
        for i in order where chosen.count < keep {
            if let minDistance, chosen.contains(where: { 1 - Float(Slerp.cosine(embeddings[$0], embeddings[i])) < minDistance }) {
                continue
            }
            chosen.append(i)
        }
        for i in order where chosen.count < keep && !chosen.contains(i) { chosen.append(i) }
        return chosen.map { ($0, scores[$0]) }
    }
}
