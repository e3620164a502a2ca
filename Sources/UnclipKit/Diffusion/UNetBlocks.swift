/// The UNet's levels: diffusers' ResnetDownsampleBlock2D,
/// SimpleCrossAttnDownBlock2D, UNetMidBlock2DSimpleCrossAttn,
/// SimpleCrossAttnUpBlock2D and ResnetUpsampleBlock2D. Resampling is done
/// by ResNet blocks (BigGAN-style, Brock et al. 2019, as unCLIP's decoder).
struct UNetDownBlock {
    let resnets: [ResnetBlock]
    let attentions: [AttentionBlock]   // empty for ResnetDownsampleBlock2D
    let downsampler: ResnetBlock?

    init(_ w: WeightScope, _ cfg: UNetConfig, level i: Int, in cin: Int) {
        let cout = cfg.blockOutChannels[i], last = i == cfg.levels - 1
        func resnet(_ name: String, _ a: Int, _ b: Int, _ r: ResnetBlock.Resampling = .none) -> ResnetBlock {
            ResnetBlock(w.scope(name), in: a, out: b, groups: cfg.groups, eps: cfg.eps, temb: cfg.timeEmbedDim,
                        timeNorm: cfg.timeScaleShift ? "scale_shift" : "default", resampling: r, outputScale: cfg.resnetOutScale)
        }
        resnets = (0..<cfg.layersPerBlock[i]).map { j in resnet("resnets.\(j)", j == 0 ? cin : cout, cout) }
        attentions = cfg.downBlocks[i] == .simpleCrossAttn
            ? (0..<cfg.layersPerBlock[i]).map { j in UNet2DConditionModel.attention(w.scope("attentions.\(j)"), cfg, channels: cout, level: i) }
            : []
        downsampler = last ? nil : resnet("downsamplers.0", cout, cout, .down)
    }

    /// Returns the block's output and the states it hands to the up path, in order.
    func callAsFunction(_ x: FeatureMap, temb: UnsafePointer<Float>, tokens: Tensor) -> (FeatureMap, [FeatureMap]) {
        var h = x, states: [FeatureMap] = []
        for (j, resnet) in resnets.enumerated() {
            h = resnet(h, temb: temb)
            if !attentions.isEmpty { h = attentions[j](h, tokens: tokens) }
            states.append(h)
        }
        if let downsampler { h = downsampler(h, temb: temb); states.append(h) }
        return (h, states)
    }
}

struct UNetMidBlock {
    let first: ResnetBlock
    let attention: AttentionBlock
    let second: ResnetBlock

    init(_ w: WeightScope, _ cfg: UNetConfig) {
        let c = cfg.blockOutChannels.last!
        func resnet(_ name: String) -> ResnetBlock {
            ResnetBlock(w.scope(name), in: c, out: c, groups: cfg.groups, eps: cfg.eps, temb: cfg.timeEmbedDim,
                        timeNorm: cfg.timeScaleShift ? "scale_shift" : "default", outputScale: cfg.midBlockScale)
        }
        first = resnet("resnets.0")
        attention = UNet2DConditionModel.attention(w.scope("attentions.0"), cfg, channels: c, level: cfg.levels - 1)
        second = resnet("resnets.1")
    }

    func callAsFunction(_ x: FeatureMap, temb: UnsafePointer<Float>, tokens: Tensor) -> FeatureMap {
        second(attention(first(x, temb: temb), tokens: tokens), temb: temb)
    }
}

struct UNetUpBlock {
    let resnets: [ResnetBlock]
    let attentions: [AttentionBlock]
    let upsampler: ResnetBlock?

    /// Up block `i` counts from the deepest level; `prev` is the previous block's output width.
    init(_ w: WeightScope, _ cfg: UNetConfig, index i: Int, prev: Int) {
        let rev = Array(cfg.blockOutChannels.reversed())
        let cout = rev[i], cin = rev[min(i + 1, cfg.levels - 1)]
        let layers = cfg.layersPerBlock.reversed()[i] + 1
        let level = cfg.levels - 1 - i
        func resnet(_ name: String, _ a: Int, _ b: Int, _ r: ResnetBlock.Resampling = .none) -> ResnetBlock {
            ResnetBlock(w.scope(name), in: a, out: b, groups: cfg.groups, eps: cfg.eps, temb: cfg.timeEmbedDim,
                        timeNorm: cfg.timeScaleShift ? "scale_shift" : "default", resampling: r, outputScale: cfg.resnetOutScale)
        }
        resnets = (0..<layers).map { j in
            let skip = j == layers - 1 ? cin : cout
            return resnet("resnets.\(j)", (j == 0 ? prev : cout) + skip, cout)
        }
        attentions = cfg.upBlocks[i] == .simpleCrossAttn
            ? (0..<layers).map { j in UNet2DConditionModel.attention(w.scope("attentions.\(j)"), cfg, channels: cout, level: level) }
            : []
        upsampler = i == cfg.levels - 1 ? nil : resnet("upsamplers.0", cout, cout, .up)
    }

    /// `skips`: the down path's states this block takes, consumed from the last.
    func callAsFunction(_ x: FeatureMap, skips: [FeatureMap], temb: UnsafePointer<Float>, tokens: Tensor) -> FeatureMap {
        var h = x, skips = skips
        for (j, resnet) in resnets.enumerated() {
            h = resnet(h.concatenated(skips.removeLast()), temb: temb)
            if !attentions.isEmpty { h = attentions[j](h, tokens: tokens) }
        }
        if let upsampler { h = upsampler(h, temb: temb) }
        return h
    }
}
