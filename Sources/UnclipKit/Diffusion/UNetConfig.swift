import Foundation

/// The subset of diffusers' `UNet2DConditionModel` config that Kandinsky
/// 2.2's decoder and inpainting decoder use. Every size is read from the
/// file; any option outside the subset is an error that names it.
public struct UNetConfig: Sendable, Equatable {
    public enum DownBlock: String, Sendable, CaseIterable { case resnetDownsample = "ResnetDownsampleBlock2D", simpleCrossAttn = "SimpleCrossAttnDownBlock2D" }
    public enum UpBlock: String, Sendable, CaseIterable { case resnetUpsample = "ResnetUpsampleBlock2D", simpleCrossAttn = "SimpleCrossAttnUpBlock2D" }

    public var inChannels: Int
    public var outChannels: Int
    public var blockOutChannels: [Int]
    public var downBlocks: [DownBlock]
    public var upBlocks: [UpBlock]
    public var layersPerBlock: [Int]
    /// Per level: the width of one attention head.
    public var attentionHeadDim: [Int]
    public var groups: Int
    public var eps: Float
    /// Width of the image-embedding tokens the attention layers read.
    public var crossAttentionDim: Int
    /// The CLIP image embedding's width.
    public var imageEmbedDim: Int
    /// How many tokens `encoder_hid_proj` makes of the embedding (diffusers' `ImageProjection`: 32).
    public var imageTokens: Int
    /// "group_norm" (Kandinsky) or nil: how the tokens are normalised before their keys and values.
    public var crossAttentionNorm: String?
    public var timeScaleShift: Bool
    public var timeEmbedDim: Int
    public var flipSinToCos: Bool
    public var freqShift: Float
    public var midBlockScale: Float
    public var resnetOutScale: Float
    /// The latent side it was trained at (`sample_size`; 64 for Kandinsky 2.2):
    /// only the default output size depends on it.
    public var sampleSize: Int = 64

    public var levels: Int { blockOutChannels.count }

    public static func load(directory: URL) throws -> UNetConfig {
        try parse(DiffusersConfig.load(directory.appendingPathComponent("config.json")))
    }

    public static func parse(_ c: DiffusersConfig) throws -> UNetConfig {
        let n = c.name
        if let cls = c.className, cls != "UNet2DConditionModel" {
            throw UnclipError.model("\(n): _class_name \"\(cls)\" is not supported (UNet2DConditionModel)")
        }
        let channels = try c.intList("block_out_channels")
        let down: [DownBlock] = try c.blockTypes("down_block_types", "down block")
        let up: [UpBlock] = try c.blockTypes("up_block_types", "up block")
        guard down.count == channels.count, up.count == channels.count else {
            throw UnclipError.model("\(n): block_out_channels, down_block_types and up_block_types must have the same length")
        }
        _ = try c.option("mid_block_type", "UNetMidBlock2DCrossAttn", supported: ["UNetMidBlock2DSimpleCrossAttn"])
        _ = try c.option("act_fn", "silu", supported: ["silu", "swish"])
        _ = try c.option("time_embedding_type", "positional", supported: ["positional"])
        _ = try c.option("encoder_hid_dim_type", nil, supported: ["image_proj"])
        _ = try c.option("addition_embed_type", nil, supported: ["image"])
        _ = try c.option("attention_type", "default", supported: ["default"])
        let crossNorm = try c.option("cross_attention_norm", nil, supported: [nil, "group_norm"])
        let shift = try c.option("resnet_time_scale_shift", "default", supported: ["default", "scale_shift"])
        for key in ["center_input_sample", "dual_cross_attention", "resnet_skip_time_act", "class_embeddings_concat",
                    "only_cross_attention", "mid_block_only_cross_attention"] {
            try c.require(key, is: false)
        }
        for key in ["class_embed_type", "num_class_embeds", "time_embedding_act_fn", "timestep_post_act",
                    "time_cond_proj_dim", "projection_class_embeddings_input_dim", "num_attention_heads",
                    "addition_time_embed_dim", "reverse_transformer_layers_per_block"] {
            try c.require(key, is: nil)
        }
        try c.require("conv_in_kernel", is: 3)
        try c.require("conv_out_kernel", is: 3)
        // Only the Transformer2D blocks read these; the SimpleCrossAttn blocks ignore them.
        try c.require("transformer_layers_per_block", is: 1)
        let groups = try c.positiveInt("norm_num_groups", 32)
        let cross = try c.positiveInt("cross_attention_dim", 1280)
        let heads = try c.ints("attention_head_dim", count: channels.count, 8)
        for (i, ch) in channels.enumerated() {
            guard ch % groups == 0 else { throw UnclipError.model("\(n): block_out_channels[\(i)] = \(ch) is not divisible by norm_num_groups \(groups)") }
            guard ch % heads[i] == 0 else { throw UnclipError.model("\(n): block_out_channels[\(i)] = \(ch) is not divisible by attention_head_dim \(heads[i])") }
        }
        if crossNorm != nil, cross % 32 != 0 {
            throw UnclipError.model("\(n): cross_attention_dim \(cross) is not divisible by the 32 groups of its group norm")
        }
        let config = UNetConfig(
            inChannels: try c.positiveInt("in_channels", 4), outChannels: try c.positiveInt("out_channels", 4),
            blockOutChannels: channels, downBlocks: down, upBlocks: up,
            layersPerBlock: try c.ints("layers_per_block", count: channels.count, 2),
            attentionHeadDim: heads, groups: groups, eps: Float(try c.double("norm_eps", 1e-5)),
            crossAttentionDim: cross, imageEmbedDim: try c.positiveInt("encoder_hid_dim"), imageTokens: 32,
            crossAttentionNorm: crossNorm, timeScaleShift: shift == "scale_shift",
            timeEmbedDim: try c.optionalInt("time_embedding_dim") ?? 4 * channels[0],
            flipSinToCos: try c.bool("flip_sin_to_cos", true), freqShift: Float(try c.int("freq_shift", 0)),
            midBlockScale: Float(try c.double("mid_block_scale_factor", 1)),
            resnetOutScale: Float(try c.double("resnet_out_scale_factor", 1)),
            sampleSize: try c.positiveInt("sample_size", 64))
        return config
    }
}
