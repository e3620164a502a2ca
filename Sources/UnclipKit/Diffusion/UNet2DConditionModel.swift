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

    /// What the blocks receive for one image: the time embedding after SiLU [T] and the tokens [32, cross].
    struct Conditioning {
        let emb: Tensor        // [T], before SiLU
        let embSiLU: Tensor    // [T]
        let tokens: Tensor     // [N, cross]
    }

    func conditioning(timestep: Float, imageEmbed: UnsafePointer<Float>) -> Conditioning {
        let t = config.timeEmbedDim
        let sin = Tensor(shape: [1, config.blockOutChannels[0]], values: timesteps(timestep))
        let h = timeLinear1(sin, activation: .silu)
        let emb = timeLinear2(h)                                                        // [1, T]
        let e = Tensor(shape: [1, config.imageEmbedDim])
        e.data.update(from: imageEmbed, count: config.imageEmbedDim)
        let aug = imageTimeNorm(imageTimeProj(e))                                        // [1, T]
        for i in 0..<t { emb.data[i] += aug.data[i] }
        let act = Tensor(shape: [t])
        act.data.update(from: emb.data, count: t)
        Activation.silu(act.data, count: t)
        let tokens = tokenProj(e)                                                        // [1, N·cross]
        tokens.reshape([config.imageTokens, config.crossAttentionDim])
        return Conditioning(emb: emb, embSiLU: act, tokens: tokenNorm(tokens))
    }

    /// The network's output for one image: x [Cin, H, W] at `timestep`,
    /// conditioned on a raw (unnormalised) image embedding [D]; returns [Cout, H, W].
    /// `trace` receives intermediate results under diffusers' module names.
    func forward(_ x: FeatureMap, timestep: Float, imageEmbed: UnsafePointer<Float>, trace: ((String, Tensor) -> Void)? = nil) -> FeatureMap {
        let cond = conditioning(timestep: timestep, imageEmbed: imageEmbed)
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
        let normed = FeatureMap(channels: h.channels, height: h.height, width: h.width)
        normOut.forward(h.data.data, pixels: h.pixels, into: normed.data.data, silu: true)
        return normed.apply(convOut)
    }

    /// sample [B, Cin, H, W] and imageEmbeds [B, D] → [B, Cout, H, W], every image at `timestep`.
    /// With `trace`, every block's output for image i is reported as (name, i, [C, H, W]) under
    /// diffusers' module names ("conv_in.out", "down_blocks.0.res.1", "mid_block.out", …), for inspection.
    public func callAsFunction(_ sample: Tensor, timestep: Float, imageEmbeds: Tensor,
                               trace: ((String, Int, Tensor) -> Void)? = nil) -> Tensor {
        precondition(sample.shape.count == 4 && sample.shape[1] == config.inChannels, "UNet expects [B, \(config.inChannels), H, W], got \(sample.shape)")
        precondition(imageEmbeds.count == sample.shape[0] * config.imageEmbedDim, "UNet expects [B, \(config.imageEmbedDim)] image embeddings")
        let (b, h, w) = (sample.shape[0], sample.shape[2], sample.shape[3])
        let out = Tensor(shape: [b, config.outChannels, h, w])
        for i in 0..<b {
            let y = forward(FeatureMap(batch: sample, index: i), timestep: timestep, imageEmbed: imageEmbeds.data + i * config.imageEmbedDim,
                            trace: trace.map { f in { f($0, i, $1) } })
            (out.data + i * y.data.count).update(from: y.data.data, count: y.data.count)
        }
        return out
    }
}
