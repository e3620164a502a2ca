import Foundation

/// A single-tower CLIP text encoder (transformers'
/// `CLIPTextModelWithProjection`, Kandinsky 2.2's `prior/text_encoder/`),
/// run by the same `TextTransformer` as `CLIPModel`. Returns the raw
/// projected features (`text_embeds`), not unit length.
public final class CLIPTextEncoder: @unchecked Sendable {
    public let directory: URL
    public let config: CLIPConfig
    public let weights: CLIPWeights
    public let text: TextTransformer
    public let modelHash: String

    public init(directory: URL) throws {
        self.directory = directory
        (config, weights) = try CLIPWeights.singleTower(directory, .text, className: "CLIPTextModelWithProjection")
        text = TextTransformer(weights, config: config)
        modelHash = CLIPModel.fingerprint(of: weights.file)
    }

    public var dimension: Int { config.projectionDim }

    /// Token-id sequences (BOS … EOS, padded or not) → [N][Pdim] `text_embeds`, unnormalised.
    public func embed(tokenIDs: [[Int]]) throws -> [[Float]] {
        let y = try text.forward(tokens: tokenIDs)
        return (0..<tokenIDs.count).map { Array(UnsafeBufferPointer(start: y.row($0), count: y.cols)) }
    }
}
