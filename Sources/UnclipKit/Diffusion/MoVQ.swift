import Foundation

/// Kandinsky 2.2's image autoencoder (diffusers' `VQModel`, `movq/`):
/// pixels ↔ the latents the UNet denoises.
public final class MoVQ: @unchecked Sendable {
    public let config: MoVQConfig
    public let weights: DiffusersWeights
    let encoder: MoVQEncoder
    let decoder: MoVQDecoder

    public convenience init(directory: URL) throws {
        let config = try MoVQConfig.load(directory: directory)
        try self.init(config: config, weights: try DiffusersWeights(directory: directory))
    }

    public init(config: MoVQConfig, weights: DiffusersWeights) throws {
        self.config = config
        self.weights = weights
        let w = weights.scope("")
        encoder = MoVQEncoder(w, config)
        // The codebook is part of the checkpoint, but Kandinsky's pipelines
        // never snap latents to it; it is checked and left unused.
        _ = w("quantize.embedding.weight", [config.codebookSize, config.vqEmbedDim])
        decoder = MoVQDecoder(w, config)
        try weights.finish()
    }

    /// pixels [B, 3, H, W] in [−1, 1] → latents [B, C, H/f, W/f]: `movq.encode(x).latents`.
    public func encode(_ pixels: Tensor) -> Tensor { batched(pixels) { encoder($0) } }

    /// latents [B, C, h, w] → pixels [B, 3, h·f, w·f]: `movq.decode(z, force_not_quantize=True).sample`.
    public func decode(_ latents: Tensor) -> Tensor { batched(latents) { decoder($0) } }

    private func batched(_ x: Tensor, _ f: (FeatureMap) -> FeatureMap) -> Tensor {
        precondition(x.shape.count == 4, "MoVQ expects [B, C, H, W], got \(x.shape)")
        return f(FeatureMap(x)).data
    }
}
