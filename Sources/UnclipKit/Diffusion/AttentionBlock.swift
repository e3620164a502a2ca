/// The UNet's attention over pixels with extra keys and values from the
/// image-embedding tokens (diffusers' `Attention` with `added_kv_proj_dim`
/// and `AttnAddedKVProcessor`, as unCLIP's decoder, Ramesh et al. 2022 §2.1,
/// feeds its CLIP tokens): each pixel attends to the projected tokens
/// followed by all pixels. Also MoVQ's plain self-attention, whose input
/// norm is a spatial norm in the decoder.
struct AttentionBlock {
    enum InputNorm {
        case group(GroupNorm)
        case spatial(SpatialNorm)
    }

    let norm: InputNorm
    let q: Linear, k: Linear, v: Linear, out: Linear
    /// Keys and values from the conditioning tokens, after their group norm where the config has one.
    let added: (norm: GroupNorm?, k: Linear, v: Linear)?
    let heads: Int, headDim: Int

    /// The UNet's SimpleCrossAttn attention: `channels` = query width, heads of `headDim`, tokens of `tokenWidth`.
    init(addedKV w: WeightScope, channels c: Int, headDim: Int, tokenWidth: Int, groups: Int, crossNormGroups: Int?) {
        let inner = c   // heads · dim_head = (c / dim_head) · dim_head
        norm = .group(w.groupNorm("group_norm", channels: c, groups: groups, eps: 1e-5))
        q = w.linear("to_q", in: c, out: inner); k = w.linear("to_k", in: c, out: inner); v = w.linear("to_v", in: c, out: inner)
        out = w.linear("to_out.0", in: inner, out: c)
        added = (crossNormGroups.map { w.groupNorm("norm_cross", channels: tokenWidth, groups: $0, eps: 1e-5) },
                 w.linear("add_k_proj", in: tokenWidth, out: inner), w.linear("add_v_proj", in: tokenWidth, out: inner))
        heads = c / headDim; self.headDim = headDim
    }

    /// MoVQ's attention: one head as wide as the channels; a group norm
    /// (`groups`) or, with `spatialNorm`, a spatial norm on z_q of that many channels.
    init(single w: WeightScope, channels c: Int, groups: Int, eps: Float, spatialNorm zqChannels: Int?) {
        if let zq = zqChannels {
            norm = .spatial(SpatialNorm(norm: w.groupNorm("spatial_norm.norm_layer", channels: c, groups: 32, eps: 1e-6),
                                        convY: w.conv("spatial_norm.conv_y", in: zq, out: c, kernel: 1),
                                        convB: w.conv("spatial_norm.conv_b", in: zq, out: c, kernel: 1)))
        } else {
            norm = .group(w.groupNorm("group_norm", channels: c, groups: groups, eps: eps))
        }
        q = w.linear("to_q", in: c, out: c); k = w.linear("to_k", in: c, out: c); v = w.linear("to_v", in: c, out: c)
        out = w.linear("to_out.0", in: c, out: c)
        added = nil
        heads = 1; headDim = c
    }

    /// x [B, C, H, W] + attention, image by image; `tokens` [B, T, tokenWidth]
    /// for the added keys and values, `zq` for a spatial norm.
    func callAsFunction(_ x: FeatureMap, tokens: Tensor? = nil, zq: FeatureMap? = nil) -> FeatureMap {
        let y = FeatureMap(batch: x.batch, channels: x.channels, height: x.height, width: x.width)
        for i in 0..<x.batch { attend(x, image: i, tokens: tokens, zq: zq, into: y.image(i)) }
        return y
    }

    private func attend(_ x: FeatureMap, image i: Int, tokens: Tensor?, zq: FeatureMap?, into y: UnsafeMutablePointer<Float>) {
        let c = x.channels, p = x.pixels, inner = q.outFeatures
        let normed = Tensor(shape: [c, p])
        switch norm {
        case .group(let n): n.forward(x.image(i), pixels: p, into: normed.data)
        case .spatial(let n):
            guard let zq else { preconditionFailure("a spatial norm needs z_q") }
            n.forward(x.image(i), height: x.height, width: x.width, zq: zq.image(i), zqHeight: zq.height, zqWidth: zq.width, into: normed.data)
        }
        let hs = Tensor(shape: [p, c])   // pixels as rows
        Tensor.transpose(normed.data, rows: c, cols: p, into: hs.data)
        let t = added == nil ? 0 : tokens!.shape[1]
        let query = Tensor(shape: [p, inner])
        let keys = Tensor(shape: [t + p, inner]), values = Tensor(shape: [t + p, inner])   // tokens first, then pixels
        q.forward(hs.data, rows: p, into: query.data)
        k.forward(hs.data, rows: p, into: keys.data + t * inner)
        v.forward(hs.data, rows: p, into: values.data + t * inner)
        if let added, let all = tokens {
            let width = all.shape[2]
            var tn = Tensor(shape: [t, width])
            tn.data.update(from: all.data + i * t * width, count: t * width)
            if let norm = added.norm {
                // The tokens' group norm runs over their channels with the tokens as its "pixels".
                let tt = Tensor(shape: [width, t])
                Tensor.transpose(tn.data, rows: t, cols: width, into: tt.data)
                norm.forward(tt.data, pixels: t, into: tt.data)
                tn = Tensor(shape: [t, width])
                Tensor.transpose(tt.data, rows: width, cols: t, into: tn.data)
            }
            added.k.forward(tn.data, rows: t, into: keys.data)
            added.v.forward(tn.data, rows: t, into: values.data)
        }
        let ctx = Tensor(shape: [p, inner])
        Attention.attend(q: query.data, ldq: inner, k: keys.data, ldk: inner, v: values.data, ldv: inner,
                         queries: p, keys: t + p, heads: heads, headDim: headDim,
                         scale: 1 / Float(headDim).squareRoot(), into: ctx.data, ldc: inner)
        let o = Tensor(shape: [p, c])
        out.forward(ctx.data, rows: p, into: o.data)
        Tensor.transpose(o.data, rows: p, cols: c, into: y)
        let src = x.image(i)
        for j in 0..<(c * p) { y[j] += src[j] }
    }
}
