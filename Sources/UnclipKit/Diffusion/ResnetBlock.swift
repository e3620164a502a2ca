/// The residual block of the diffusion UNet and of MoVQ (He et al. 2016, as
/// diffusers' `ResnetBlock2D` and `ResnetBlockCondNorm2D`): norm, SiLU,
/// optional 2× resampling, 3×3 conv, time conditioning, norm, SiLU, 3×3
/// conv, plus the (1×1-projected) input.
struct ResnetBlock {
    enum Norm {
        case group(GroupNorm)
        /// MoVQ's decoder: normalised and modulated by the latent z_q.
        case spatial(SpatialNorm)

        /// Image i of x into y [C, H, W], then SiLU; z_q is the batch's latents.
        func apply(_ x: FeatureMap, image i: Int, zq: FeatureMap?, into y: UnsafeMutablePointer<Float>,
                   modulation: (scale: UnsafePointer<Float>, shift: UnsafePointer<Float>)? = nil) {
            switch self {
            case .group(let n): n.forward(x.image(i), pixels: x.pixels, into: y, silu: true, modulation: modulation)
            case .spatial(let n):
                precondition(modulation == nil, "spatial norms take no time embedding")
                guard let zq else { preconditionFailure("a spatial norm needs z_q") }
                n.forward(x.image(i), height: x.height, width: x.width, zq: zq.image(i), zqHeight: zq.height, zqWidth: zq.width,
                          into: y, silu: true)
            }
        }
    }

    enum TimeConditioning {
        /// "default": the projected embedding is added before the second norm.
        case add(Linear)
        /// "scale_shift": the second norm's output is scaled by 1 + s and shifted by b, [s; b] = projection.
        case scaleShift(Linear)
    }

    enum Resampling { case none, up, down }

    let norm1: Norm, conv1: Conv2d
    let time: TimeConditioning?
    let norm2: Norm, conv2: Conv2d
    let shortcut: Conv2d?
    let resampling: Resampling
    let outputScale: Float

    /// Built from `w` under its prefix, as diffusers names the block's parameters.
    init(_ w: WeightScope, in cin: Int, out cout: Int, groups: Int, eps: Float, temb: Int?, timeNorm: String,
         spatialNorm zqChannels: Int? = nil, resampling: Resampling = .none, outputScale: Float = 1) {
        func norm(_ name: String, _ c: Int) -> Norm {
            if let zqChannels {
                return .spatial(SpatialNorm(norm: w.groupNorm("\(name).norm_layer", channels: c, groups: 32, eps: 1e-6),
                                            convY: w.conv("\(name).conv_y", in: zqChannels, out: c, kernel: 1),
                                            convB: w.conv("\(name).conv_b", in: zqChannels, out: c, kernel: 1)))
            }
            return .group(w.groupNorm(name, channels: c, groups: groups, eps: eps))
        }
        norm1 = norm("norm1", cin)
        conv1 = w.conv("conv1", in: cin, out: cout, kernel: 3)
        if let temb {
            time = timeNorm == "scale_shift" ? .scaleShift(w.linear("time_emb_proj", in: temb, out: 2 * cout))
                                             : .add(w.linear("time_emb_proj", in: temb, out: cout))
        } else {
            time = nil
        }
        norm2 = norm("norm2", cout)
        conv2 = w.conv("conv2", in: cout, out: cout, kernel: 3)
        shortcut = cin != cout ? w.conv("conv_shortcut", in: cin, out: cout, kernel: 1) : nil
        self.resampling = resampling
        self.outputScale = outputScale
    }

    var outChannels: Int { conv2.outChannels }

    /// x [B, Cin, H, W] → [B, Cout, H', W'] (H' = 2H up, H/2 down). `temb`
    /// holds each image's time embedding after SiLU ([B, T]); `zq` the
    /// latents for spatial norms.
    func callAsFunction(_ x: FeatureMap, temb: UnsafePointer<Float>? = nil, zq: FeatureMap? = nil) -> FeatureMap {
        let b = x.batch
        var h = FeatureMap(batch: b, channels: x.channels, height: x.height, width: x.width)
        for i in 0..<b { norm1.apply(x, image: i, zq: zq, into: h.image(i)) }
        var input = x
        switch resampling {
        case .none: break
        case .up: input = input.upsampled2(); h = h.upsampled2()
        case .down: input = input.averagePooled2(); h = h.averagePooled2()
        }
        let cout = outChannels, p = h.pixels
        let h1 = h.apply(conv1)
        let t = Tensor(shape: [b, 2 * cout])   // each image's projected time embedding
        switch time {
        case .add(let proj)?:
            proj.forward(temb!, rows: b, into: t.data)
            for i in 0..<b {
                for c in 0..<cout { let v = t.data[i * cout + c], row = h1.image(i) + c * p; for j in 0..<p { row[j] += v } }
            }
            for i in 0..<b { norm2.apply(h1, image: i, zq: zq, into: h1.image(i)) }
        case .scaleShift(let proj)?:
            proj.forward(temb!, rows: b, into: t.data)
            for i in 0..<b {
                let row = UnsafePointer(t.data + i * 2 * cout)
                norm2.apply(h1, image: i, zq: zq, into: h1.image(i), modulation: (row, row + cout))
            }
        case nil:
            for i in 0..<b { norm2.apply(h1, image: i, zq: zq, into: h1.image(i)) }
        }
        // out = shortcut(x) + conv2(h1): the residual is laid down first and conv2 accumulates onto it.
        let out = shortcut.map { input.apply($0) } ?? input.copy()
        conv2.forward(h1.data.data, batch: b, height: h.height, width: h.width, into: out.data.data, accumulate: true)
        if outputScale != 1 { for i in 0..<out.data.count { out.data.data[i] /= outputScale } }
        return out
    }
}
