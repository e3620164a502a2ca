import Foundation

/// Anything that maps images to unit vectors in a shared space. The CLIP
/// image tower is the real one; tests plug in a cheap statistic so steering
/// can be checked without weights.
public protocol ImageEmbedder: AnyObject {
    var modelName: String { get }
    /// Identifies the weights; embeddings with different hashes never mix.
    var modelHash: String { get }
    /// The CLIP input resolution (recorded in `.emb` files).
    var inputResolution: Int { get }
    /// [N] images → [N][D] unit vectors.
    func embed(images: [Image]) throws -> [[Float]]
    /// The unit vectors with each one's length before normalising, where the
    /// embedder has one (a diffusion decoder is conditioned on the raw vector).
    func embedKeepingNorms(images: [Image]) throws -> [(vector: [Float], norm: Float?)]
}

extension ImageEmbedder {
    public func embedKeepingNorms(images: [Image]) throws -> [(vector: [Float], norm: Float?)] {
        try embed(images: images).map { ($0, nil) }
    }
}

/// Captions → unit vectors in the same space as `ImageEmbedder`'s.
public protocol TextEmbedder: AnyObject {
    var modelName: String { get }
    var modelHash: String { get }
    /// [N] strings → [N][D] unit vectors.
    func embed(texts: [String]) throws -> [[Float]]
    /// The unit vectors with each one's raw length, where the embedder has one.
    func embedKeepingNorms(texts: [String]) throws -> [(vector: [Float], norm: Float?)]
}

extension TextEmbedder {
    public func embedKeepingNorms(texts: [String]) throws -> [(vector: [Float], norm: Float?)] {
        try embed(texts: texts).map { ($0, nil) }
    }
}
