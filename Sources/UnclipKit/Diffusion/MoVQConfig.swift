import Foundation

/// diffusers' `VQModel` config as Kandinsky 2.2's MoVQ uses it (Zheng et
/// al. 2022): an encoder to latents, and a decoder whose norms are
/// modulated by the latent ("spatial"). Sizes from the file; other options
/// are errors that name them.
public struct MoVQConfig: Sendable, Equatable {
    public enum DownBlock: String, Sendable, CaseIterable { case plain = "DownEncoderBlock2D", attention = "AttnDownEncoderBlock2D" }
    public enum UpBlock: String, Sendable, CaseIterable { case plain = "UpDecoderBlock2D", attention = "AttnUpDecoderBlock2D" }

    public var inChannels: Int
    public var outChannels: Int
    public var latentChannels: Int
    public var vqEmbedDim: Int
    public var codebookSize: Int
    public var blockOutChannels: [Int]
    public var downBlocks: [DownBlock]
    public var upBlocks: [UpBlock]
    public var layersPerBlock: Int
    public var groups: Int
    /// "spatial" (MoVQ) or "group" (a plain VQ-GAN decoder).
    public var spatialNorm: Bool
    public var midBlockAttention: Bool

    /// Pixels per latent along each side: 2^(levels − 1).
    public var scaleFactor: Int { 1 << (blockOutChannels.count - 1) }

    public static func load(directory: URL) throws -> MoVQConfig {
        try parse(DiffusersConfig.load(directory.appendingPathComponent("config.json")))
    }

    public static func parse(_ c: DiffusersConfig) throws -> MoVQConfig {
        let n = c.name
        if let cls = c.className, cls != "VQModel" {
            throw UnclipError.model("\(n): _class_name \"\(cls)\" is not supported (VQModel)")
        }
        let channels = try c.intList("block_out_channels")
        let down: [DownBlock] = try c.blockTypes("down_block_types", "down block")
        let up: [UpBlock] = try c.blockTypes("up_block_types", "up block")
        guard down.count == channels.count, up.count == channels.count else {
            throw UnclipError.model("\(n): block_out_channels, down_block_types and up_block_types must have the same length")
        }
        _ = try c.option("act_fn", "silu", supported: ["silu", "swish"])
        let norm = try c.option("norm_type", "group", supported: ["group", "spatial"])
        try c.require("lookup_from_codebook", is: false)
        let groups = try c.positiveInt("norm_num_groups", 32)
        let spatial = norm == "spatial"
        for (i, ch) in channels.enumerated() {
            guard ch % groups == 0 else { throw UnclipError.model("\(n): block_out_channels[\(i)] = \(ch) is not divisible by norm_num_groups \(groups)") }
            // SpatialNorm's group norm always has 32 groups.
            guard !spatial || ch % 32 == 0 else { throw UnclipError.model("\(n): block_out_channels[\(i)] = \(ch) is not divisible by the 32 groups of a spatial norm") }
        }
        let latent = try c.positiveInt("latent_channels", 3)
        return MoVQConfig(inChannels: try c.positiveInt("in_channels", 3), outChannels: try c.positiveInt("out_channels", 3),
                          latentChannels: latent, vqEmbedDim: try c.optionalInt("vq_embed_dim") ?? latent,
                          codebookSize: try c.positiveInt("num_vq_embeddings", 256),
                          blockOutChannels: channels, downBlocks: down, upBlocks: up,
                          layersPerBlock: try c.positiveInt("layers_per_block", 1), groups: groups,
                          spatialNorm: spatial, midBlockAttention: try c.bool("mid_block_add_attention", true))
    }
}
