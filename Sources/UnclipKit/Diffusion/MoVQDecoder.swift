/// MoVQ's decoder (diffusers' `post_quant_conv` and `Decoder` with
/// `norm_type: spatial`): latents [C, h, w] → pixels [3, h·f, w·f] in about
/// [−1, 1]. Every norm is modulated by the latent itself (z_q), as the
/// Kandinsky pipelines decode (`force_not_quantize=True`: the latent is
/// used as it is, not snapped to the codebook).
struct MoVQDecoder {
    struct Level {
        let resnets: [ResnetBlock]
        let attentions: [AttentionBlock]
        let upsample: Conv2d?
    }

    let postQuantConv: Conv2d
    let convIn: Conv2d
    let midFirst: ResnetBlock, midAttention: AttentionBlock?, midSecond: ResnetBlock
    let levels: [Level]
    let normOut: ResnetBlock.Norm, convOut: Conv2d

    init(_ root: WeightScope, _ c: MoVQConfig) {
        let w = root.scope("decoder"), eps: Float = 1e-6
        let zq = c.spatialNorm ? c.latentChannels : nil
        func resnet(_ s: WeightScope, _ a: Int, _ b: Int) -> ResnetBlock {
            ResnetBlock(s, in: a, out: b, groups: c.groups, eps: eps, temb: nil, timeNorm: "default", spatialNorm: zq)
        }
        func attention(_ s: WeightScope, _ ch: Int) -> AttentionBlock {
            AttentionBlock(single: s, channels: ch, groups: c.groups, eps: eps, spatialNorm: zq)
        }
        postQuantConv = root.conv("post_quant_conv", in: c.vqEmbedDim, out: c.latentChannels, kernel: 1)
        let rev = Array(c.blockOutChannels.reversed()), top = rev[0]
        convIn = w.conv("conv_in", in: c.latentChannels, out: top, kernel: 3)
        let m = w.scope("mid_block")
        midFirst = resnet(m.scope("resnets.0"), top, top)
        midAttention = c.midBlockAttention ? attention(m.scope("attentions.0"), top) : nil
        midSecond = resnet(m.scope("resnets.1"), top, top)
        var levels: [Level] = [], prev = top
        for i in rev.indices {
            let s = w.scope("up_blocks.\(i)"), out = rev[i]
            let resnets = (0...c.layersPerBlock).map { j in resnet(s.scope("resnets.\(j)"), j == 0 ? prev : out, out) }
            let attentions = c.upBlocks[i] == .attention ? (0...c.layersPerBlock).map { j in attention(s.scope("attentions.\(j)"), out) } : []
            let up = i == rev.count - 1 ? nil : s.conv("upsamplers.0.conv", in: out, out: out, kernel: 3)
            levels.append(Level(resnets: resnets, attentions: attentions, upsample: up))
            prev = out
        }
        self.levels = levels
        let c0 = c.blockOutChannels[0]
        if let zq {
            normOut = .spatial(SpatialNorm(norm: w.groupNorm("conv_norm_out.norm_layer", channels: c0, groups: 32, eps: 1e-6),
                                           convY: w.conv("conv_norm_out.conv_y", in: zq, out: c0, kernel: 1),
                                           convB: w.conv("conv_norm_out.conv_b", in: zq, out: c0, kernel: 1)))
        } else {
            normOut = .group(w.groupNorm("conv_norm_out", channels: c0, groups: c.groups, eps: eps))
        }
        convOut = w.conv("conv_out", in: c0, out: c.outChannels, kernel: 3)
    }

    func callAsFunction(_ latent: FeatureMap) -> FeatureMap {
        let zq = latent
        var h = latent.apply(postQuantConv).apply(convIn)
        h = midFirst(h, zq: zq)
        if let a = midAttention { h = a(h, zq: zq) }
        h = midSecond(h, zq: zq)
        for level in levels {
            for (j, r) in level.resnets.enumerated() {
                h = r(h, zq: zq)
                if !level.attentions.isEmpty { h = level.attentions[j](h, zq: zq) }
            }
            if let u = level.upsample { h = h.upsampled2().apply(u) }
        }
        for i in 0..<h.batch { normOut.apply(h, image: i, zq: zq, into: h.image(i)) }
        return h.apply(convOut)
    }
}
