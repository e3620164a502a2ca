/// MoVQ's encoder (diffusers' `Encoder` with `double_z=False`, then
/// `quant_conv`): pixels [3, H, W] in [−1, 1] → latents [C, H/f, W/f].
/// Image-to-image and inpainting start from it.
struct MoVQEncoder {
    struct Level {
        let resnets: [ResnetBlock]
        let attentions: [AttentionBlock]
        let downsample: Conv2d?
    }

    let convIn: Conv2d
    let levels: [Level]
    let midFirst: ResnetBlock, midAttention: AttentionBlock?, midSecond: ResnetBlock
    let normOut: GroupNorm, convOut: Conv2d
    let quantConv: Conv2d

    init(_ root: WeightScope, _ c: MoVQConfig) {
        let w = root.scope("encoder"), eps: Float = 1e-6
        func resnet(_ s: WeightScope, _ a: Int, _ b: Int) -> ResnetBlock {
            ResnetBlock(s, in: a, out: b, groups: c.groups, eps: eps, temb: nil, timeNorm: "default")
        }
        let ch = c.blockOutChannels
        convIn = w.conv("conv_in", in: c.inChannels, out: ch[0], kernel: 3)
        var levels: [Level] = [], prev = ch[0]
        for i in ch.indices {
            let s = w.scope("down_blocks.\(i)"), out = ch[i]
            let resnets = (0..<c.layersPerBlock).map { j in resnet(s.scope("resnets.\(j)"), j == 0 ? prev : out, out) }
            let attentions = c.downBlocks[i] == .attention
                ? (0..<c.layersPerBlock).map { j in AttentionBlock(single: s.scope("attentions.\(j)"), channels: out, groups: c.groups, eps: eps, spatialNorm: nil) }
                : []
            // Downsample2D with padding 0 pads only right and bottom, then a stride-2 3×3 convolution.
            let down = i == ch.count - 1 ? nil
                : s.conv("downsamplers.0.conv", in: out, out: out, kernel: 3, stride: 2, padding: (0, 0, 1, 1))
            levels.append(Level(resnets: resnets, attentions: attentions, downsample: down))
            prev = out
        }
        self.levels = levels
        let m = w.scope("mid_block"), top = ch.last!
        midFirst = resnet(m.scope("resnets.0"), top, top)
        midAttention = c.midBlockAttention
            ? AttentionBlock(single: m.scope("attentions.0"), channels: top, groups: c.groups, eps: eps, spatialNorm: nil) : nil
        midSecond = resnet(m.scope("resnets.1"), top, top)
        normOut = w.groupNorm("conv_norm_out", channels: top, groups: c.groups, eps: eps)
        convOut = w.conv("conv_out", in: top, out: c.latentChannels, kernel: 3)
        quantConv = root.conv("quant_conv", in: c.latentChannels, out: c.vqEmbedDim, kernel: 1)
    }

    func callAsFunction(_ x: FeatureMap) -> FeatureMap {
        var h = x.apply(convIn)
        for level in levels {
            for (j, r) in level.resnets.enumerated() {
                h = r(h)
                if !level.attentions.isEmpty { h = level.attentions[j](h) }
            }
            if let d = level.downsample { h = h.apply(d) }
        }
        h = midFirst(h)
        if let a = midAttention { h = a(h) }
        h = midSecond(h)
        for i in 0..<h.batch { normOut.forward(h.image(i), pixels: h.pixels, into: h.image(i), silu: true) }
        return h.apply(convOut).apply(quantConv)
    }
}
