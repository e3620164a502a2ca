/// The residual block of the diffusion UNet and of MoVQ (He et al. 2016, as
/// diffusers' `ResnetBlock2D` and `ResnetBlockCondNorm2D`): norm, SiLU,
/// optional 2× resampling, 3×3 conv, time conditioning, norm, SiLU, 3×3
/// conv, plus the (1×1-projected) input.
struct ResnetBlock {
    enum Norm {
        case group(GroupNorm)
        /// MoVQ's decoder: normalised and modulated by the latent z_q.
        case spatial(SpatialNorm)

        func apply(_ x: UnsafePointer<Float>, height h: Int, width w: Int, zq: FeatureMap?,
                   into y: UnsafeMutablePointer<Float>, modulation: (scale: UnsafePointer<Float>, shift: UnsafePointer<Float>)? = nil) {
            switch self {
            case .group(let n): n.forward(x, pixels: h * w, into: y, silu: true, modulation: modulation)
            case .spatial(let n):
                precondition(modulation == nil, "spatial norms take no time embedding")
                guard let zq else { preconditionFailure("a spatial norm needs z_q") }
                n.forward(x, height: h, width: w, zq: zq.data.data, zqHeight: zq.height, zqWidth: zq.width, into: y, silu: true)
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

    /// x [Cin, H, W] → [Cout, H', W'] (H' = 2H up, H/2 down). `temb` is the
    /// time embedding after SiLU ([T], shared by every block); `zq` the
    /// latent for spatial norms.
    func callAsFunction(_ x: FeatureMap, temb: UnsafePointer<Float>? = nil, zq: FeatureMap? = nil) -> FeatureMap {
        let cin = x.channels
        var h = FeatureMap(channels: cin, height: x.height, width: x.width)
        norm1.apply(x.data.data, height: x.height, width: x.width, zq: zq, into: h.data.data)
        var input = x
        switch resampling {
        case .none: break
        case .up: input = input.upsampled2(); h = h.upsampled2()
        case .down: input = input.averagePooled2(); h = h.averagePooled2()
        }
        let cout = outChannels, p = h.height * h.width
        var h1 = FeatureMap(channels: cout, height: h.height, width: h.width)
        conv1.forward(h.data.data, height: h.height, width: h.width, into: h1.data.data)
        var modulation: (scale: UnsafePointer<Float>, shift: UnsafePointer<Float>)? = nil
        let t = Tensor(shape: [2 * cout])
        switch time {
        case .add(let proj)?:
            proj.forward(temb!, rows: 1, into: t.data)
            for c in 0..<cout { let b = t.data[c], row = h1.data.data + c * p; for i in 0..<p { row[i] += b } }
        case .scaleShift(let proj)?:
            proj.forward(temb!, rows: 1, into: t.data)
            modulation = (UnsafePointer(t.data), UnsafePointer(t.data + cout))
        case nil: break
        }
        norm2.apply(h1.data.data, height: h.height, width: h.width, zq: zq, into: h1.data.data, modulation: modulation)
        // out = shortcut(x) + conv2(h1): the residual is laid down first and conv2 accumulates onto it.
        let out: FeatureMap
        if let shortcut {
            out = FeatureMap(channels: cout, height: h.height, width: h.width)
            shortcut.forward(input.data.data, height: h.height, width: h.width, into: out.data.data)
        } else {
            out = input.copy()
        }
        conv2.forward(h1.data.data, height: h.height, width: h.width, into: out.data.data, accumulate: true)
        if outputScale != 1 { for i in 0..<out.data.count { out.data.data[i] /= outputScale } }
        h1 = out
        return h1
    }
}
