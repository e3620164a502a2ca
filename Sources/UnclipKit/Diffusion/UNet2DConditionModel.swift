import Foundation

/// Kandinsky 2.2's decoder UNet (diffusers' `UNet2DConditionModel` with
/// `addition_embed_type: image` and `encoder_hid_dim_type: image_proj`),
/// conditioned only on a CLIP image embedding, as unCLIP's decoder
/// (Ramesh et al. 2022, §2.1): the embedding is added to the timestep
/// embedding and projected into tokens that every attention layer attends to.
public final class UNet2DConditionModel: @unchecked Sendable {
    public let config: UNetConfig
    public let weights: DiffusersWeights
    let timesteps: SinusoidalTimesteps
    let timeLinear1: Linear, timeLinear2: Linear
    let imageTimeProj: Linear, imageTimeNorm: LayerNorm
    let tokenProj: Linear, tokenNorm: LayerNorm
    let convIn: Conv2d
    let down: [UNetDownBlock]
    let mid: UNetMidBlock
    let up: [UNetUpBlock]
    let normOut: GroupNorm, convOut: Conv2d

    /// Loads `unet/` (config.json and weights), strictly checked.
    public convenience init(directory: URL) throws {
        let config = try UNetConfig.load(directory: directory)
        try self.init(config: config, weights: try DiffusersWeights(directory: directory))
    }

    public init(config c: UNetConfig, weights: DiffusersWeights) throws {
        self.config = c
        self.weights = weights
        let w = weights.scope("")
        let c0 = c.blockOutChannels[0], t = c.timeEmbedDim
        timesteps = SinusoidalTimesteps(dimension: c0, flipSinToCos: c.flipSinToCos, freqShift: c.freqShift)
        timeLinear1 = w.linear("time_embedding.linear_1", in: c0, out: t)
        timeLinear2 = w.linear("time_embedding.linear_2", in: t, out: t)
        imageTimeProj = w.linear("add_embedding.image_proj", in: c.imageEmbedDim, out: t)
        imageTimeNorm = w.layerNorm("add_embedding.image_norm", features: t)
        tokenProj = w.linear("encoder_hid_proj.image_embeds", in: c.imageEmbedDim, out: c.imageTokens * c.crossAttentionDim)
        tokenNorm = w.layerNorm("encoder_hid_proj.norm", features: c.crossAttentionDim)
        convIn = w.conv("conv_in", in: c.inChannels, out: c0, kernel: 3)
        var blocks: [UNetDownBlock] = [], prev = c0
        for i in 0..<c.levels {
            blocks.append(UNetDownBlock(w.scope("down_blocks.\(i)"), c, level: i, in: prev))
            prev = c.blockOutChannels[i]
        }
        down = blocks
        mid = UNetMidBlock(w.scope("mid_block"), c)
        var ups: [UNetUpBlock] = []
        for i in 0..<c.levels {
            ups.append(UNetUpBlock(w.scope("up_blocks.\(i)"), c, index: i, prev: prev))
            prev = c.blockOutChannels.reversed()[i]
        }
        up = ups
        normOut = w.groupNorm("conv_norm_out", channels: c0, groups: c.groups, eps: c.eps)
        convOut = w.conv("conv_out", in: c0, out: c.outChannels, kernel: 3)
        try weights.finish()
    }

    static func attention(_ w: WeightScope, _ c: UNetConfig, channels: Int, level: Int) -> AttentionBlock {
        AttentionBlock(addedKV: w, channels: channels, headDim: c.attentionHeadDim[level], tokenWidth: c.crossAttentionDim,
                       groups: c.groups, crossNormGroups: c.crossAttentionNorm == nil ? nil : 32)
    }

    /// What the blocks receive: each image's time embedding before and after SiLU [B, T], and its tokens [B, N, cross].
    struct Conditioning {
        let emb: Tensor        // [B, T], before SiLU
        let embSiLU: Tensor    // [B, T]
        let tokens: Tensor     // [B, N, cross]
    }

    func conditioning(timestep: Float, imageEmbeds: UnsafePointer<Float>, batch b: Int) -> Conditioning {
        let t = config.timeEmbedDim, d = config.imageEmbedDim
        let sin = Tensor(shape: [1, config.blockOutChannels[0]], values: timesteps(timestep))
        let time = timeLinear2(timeLinear1(sin, activation: .silu))                     // [1, T], the same for every image
        let e = Tensor(shape: [b, d])
        e.data.update(from: imageEmbeds, count: b * d)
        let emb = imageTimeNorm(imageTimeProj(e))                                        // [B, T]
        for i in 0..<b { for j in 0..<t { emb.data[i * t + j] += time.data[j] } }
        let act = Tensor(shape: [b, t])
        act.data.update(from: emb.data, count: b * t)
        Activation.silu(act.data, count: b * t)
        let tokens = tokenProj(e)                                                        // [B, N·cross]
        tokens.reshape([b * config.imageTokens, config.crossAttentionDim])
        let normed = tokenNorm(tokens)
        normed.reshape([b, config.imageTokens, config.crossAttentionDim])
        return Conditioning(emb: emb, embSiLU: act, tokens: normed)
    }

    /// The network's output for a batch: x [B, Cin, H, W] at `timestep`,
    /// image i conditioned on the raw (unnormalised) image embedding at
    /// `imageEmbeds` + i·D; returns [B, Cout, H, W]. `trace` receives
    /// intermediate results under diffusers' module names.
    func forward(_ x: FeatureMap, timestep: Float, imageEmbeds: UnsafePointer<Float>, trace: ((String, Tensor) -> Void)? = nil) -> FeatureMap {
        let cond = conditioning(timestep: timestep, imageEmbeds: imageEmbeds, batch: x.batch)
        trace?("emb", cond.emb)
        trace?("encoder_hidden_states", cond.tokens)
        let temb = UnsafePointer(cond.embSiLU.data)
        var h = x.apply(convIn)
        trace?("conv_in.out", h.data)
        var states = [h]
        for (i, block) in down.enumerated() {
            let (out, s) = block(h, temb: temb, tokens: cond.tokens)
            h = out; states += s
            trace?("down_blocks.\(i).out", h.data)
            for (j, st) in s.enumerated() { trace?("down_blocks.\(i).res.\(j)", st.data) }
        }
        h = mid(h, temb: temb, tokens: cond.tokens)
        trace?("mid_block.out", h.data)
        for (i, block) in up.enumerated() {
            let n = block.resnets.count
            h = block(h, skips: Array(states.suffix(n)), temb: temb, tokens: cond.tokens)
            states.removeLast(n)
            trace?("up_blocks.\(i).out", h.data)
        }
        let normed = FeatureMap(batch: h.batch, channels: h.channels, height: h.height, width: h.width)
        for i in 0..<h.batch { normOut.forward(h.image(i), pixels: h.pixels, into: normed.image(i), silu: true) }
        return normed.apply(convOut)
    }

    /// sample [B, Cin, H, W] and imageEmbeds [B, D] → [B, Cout, H, W], every
    /// image at `timestep`, all in one batch. With `trace`, every block's
    /// output is reported as [B, C, H, W] under diffusers' module names
    /// ("conv_in.out", "down_blocks.0.res.1", "mid_block.out", …), for inspection.
    public func callAsFunction(_ sample: Tensor, timestep: Float, imageEmbeds: Tensor,
                               trace: ((String, Tensor) -> Void)? = nil) -> Tensor {
        precondition(sample.shape.count == 4 && sample.shape[1] == config.inChannels, "UNet expects [B, \(config.inChannels), H, W], got \(sample.shape)")
        precondition(imageEmbeds.count == sample.shape[0] * config.imageEmbedDim, "UNet expects [B, \(config.imageEmbedDim)] image embeddings")
        return forward(FeatureMap(sample), timestep: timestep, imageEmbeds: imageEmbeds.data, trace: trace).data
    }
}
