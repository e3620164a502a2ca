import Foundation

/// A single-tower CLIP image encoder (transformers'
/// `CLIPVisionModelWithProjection`, Kandinsky 2.2's `prior/image_encoder/`,
/// ViT-bigG/14 there), run by the same `VisionTransformer` as `CLIPModel`.
/// The decoder is conditioned on the raw projected features, so they are
/// returned as they are, not unit length.
public final class CLIPImageEncoder: @unchecked Sendable {
    public let directory: URL
    public let config: CLIPConfig
    public let weights: CLIPWeights
    public let vision: VisionTransformer
    public let modelHash: String

    public init(directory: URL) throws {
        self.directory = directory
        (config, weights) = try CLIPWeights.singleTower(directory, .vision, className: "CLIPVisionModelWithProjection")
        vision = VisionTransformer(weights, config: config)
        modelHash = CLIPModel.fingerprint(of: weights.file)
    }

    public var inputResolution: Int { config.vision.imageSize }
    public var dimension: Int { config.projectionDim }

    /// pixels [N, C, S, S] (normalised) → [N][Pdim] `image_embeds`, unnormalised.
    public func embed(pixels: [Float], count: Int) throws -> [[Float]] {
        guard pixels.count == count * vision.inputCount else {
            throw UnclipError.failure("expected \(count) × \(vision.inputCount) pixel values, got \(pixels.count)")
        }
        let y = pixels.withUnsafeBufferPointer { vision.forward(pixels: $0.baseAddress!, batch: count) }
        return (0..<count).map { Array(UnsafeBufferPointer(start: y.row($0), count: y.cols)) }
    }

    /// The negative embedding of classifier-free guidance: the encoder's
    /// output for all-zero pixel values, as `KandinskyV22PriorPipeline.get_zero_embed` makes it.
    public func zeroEmbedding() throws -> [Float] {
        try embed(pixels: [Float](repeating: 0, count: vision.inputCount), count: 1)[0]
    }
}
