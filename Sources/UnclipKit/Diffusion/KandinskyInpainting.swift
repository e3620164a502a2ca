import Foundation

/// Kandinsky 2.2's inpainting decoder (a `decoder-inpaint/` folder: the same
/// layout, a UNet with 4 + 4 + 1 input channels), as diffusers'
/// `KandinskyV22InpaintPipeline` runs it: the UNet also sees the kept
/// region's latents and the mask, and after every step the kept region is
/// replaced by the photo's own latents noised to the next step's level
/// (the "replacement" method of Lugmayr et al. 2022, with a learned
/// inpainting UNet on top).
extension KandinskyDecoder {
    /// What the inpainting UNet is given besides the noisy latents.
    public struct InpaintingInput {
        /// MoVQ latents of the photo [C, h, w].
        public let imageLatents: [Float]
        /// 1 where the photo is kept, 0 where it is regenerated [h, w].
        public let keep: [Float]
        public let height: Int, width: Int
    }

    /// Encodes the photo and brings the mask to latent resolution as the pipeline does:
    /// `pixels` [H, W, 3] 8-bit, `mask` [H, W] with ≥ 0.5 meaning regenerate.
    public func inpaintingInput(pixels: [UInt8], mask: [Float], height: Int, width: Int) throws -> InpaintingInput {
        guard pixels.count == height * width * 3, mask.count == height * width else {
            throw UnclipError.usage("the image is \(pixels.count / 3) pixels and the mask \(mask.count), expected \(width)×\(height) each")
        }
        guard unet.config.inChannels == 2 * latentChannels + 1 else {
            throw UnclipError.model("\(directory.path): not an inpainting decoder (its UNet takes \(unet.config.inChannels) channels, not \(2 * latentChannels + 1))")
        }
        let (z, h, w) = encode(pixels: pixels, height: height, width: width)
        // Binarised and inverted (1 = keep), then nearest-downsampled to the latents.
        let keepFull = mask.map { $0 >= 0.5 ? Float(0) : 1 }
        var keep = [Float](repeating: 0, count: h * w)
        keepFull.withUnsafeBufferPointer { src in keep.withUnsafeMutableBufferPointer { dst in
            Resampling2D.nearest(src.baseAddress!, channels: 1, height: height, width: width, into: dst.baseAddress!, height: h, width: w)
        } }
        // diffusers' `prepare_mask` grows every regenerated latent into six
        // of its neighbours: up, left, up-left, down, right, down-right (not
        // the other two diagonals).
        let old = keep
        for i in 0..<h {
            for j in 0..<w where old[i * w + j] != 1 {
                for (di, dj) in [(-1, 0), (0, -1), (-1, -1), (1, 0), (0, 1), (1, 1)] {
                    let y = i + di, xx = j + dj
                    if y >= 0, y < h, xx >= 0, xx < w { keep[y * w + xx] = 0 }
                }
            }
        }
        return InpaintingInput(imageLatents: z, keep: keep, height: h, width: w)
    }

    /// Regenerates the masked latents from `latents` (x_T, [C, h, w]) and
    /// returns the final latents, the kept region pasted back exactly.
    public func inpaint(_ input: InpaintingInput, latents start: [Float], embed: [Float], negative: [Float],
                        steps: Int, guidance: Float, scheduler: DiffusionScheduler, noise: (Int) -> [Float],
                        progress: ((Int, Int) -> Void)? = nil) throws -> [Float] {
        let c = latentChannels, p = input.height * input.width
        let masked = (0..<(c * p)).map { input.imageLatents[$0] * input.keep[$0 % p] }
        let initial = start.map { $0 * scheduler.initNoiseSigma }
        let blend = { (x: [Float], proper: [Float]) -> [Float] in
            (0..<(c * p)).map { i in let k = input.keep[i % p]; return k * proper[i] + (1 - k) * x[i] }
        }
        let x = try denoise(latents: start, height: input.height, width: input.width, embed: embed, negative: negative,
                            steps: steps, guidance: guidance, scheduler: scheduler, noise: noise,
                            extraInput: masked + input.keep,
                            afterStep: { i, x in
                                let ts = scheduler.timesteps
                                // The kept region at the next step's noise level, from the same noise x_T was.
                                let proper = i + 1 < ts.count
                                    ? scheduler.schedule.addNoise(input.imageLatents, noise: initial, timestep: ts[i + 1])
                                    : input.imageLatents
                                return blend(x, proper)
                            }, progress: progress)
        return blend(x, input.imageLatents)
    }

    /// DDIM inversion (Song et al. 2021, §4.3; unCLIP §3.1 uses it to keep a
    /// photo's layout): runs the deterministic sampler backwards from the
    /// photo's latents [C, h, w] to the x_T that decodes back to them,
    /// conditioned on `embed`, without guidance.
    public func invert(latents: [Float], height h: Int, width w: Int, embed: [Float], steps: Int,
                       progress: ((Int, Int) -> Void)? = nil) throws -> [Float] {
        let c = latentChannels
        guard latents.count == c * h * w else { throw UnclipError.usage("the latent holds \(latents.count) values, expected \(c)×\(h)×\(w)") }
        guard unet.config.inChannels == c else {
            throw UnclipError.model("\(directory.path): inversion needs the plain decoder, not the inpainting one")
        }
        let inverse = try DDIMScheduler.inverse(schedulerConfig)
        try inverse.setTimesteps(steps)
        var x = latents
        for (i, t) in inverse.timesteps.enumerated() {
            let eps = guidedPrediction(x, shape: (h, w), timestep: t, embed: embed, negative: embed, guidance: 1)
            x = inverse.step(Array(eps.prefix(c * h * w)), timestep: t, sample: x)
            progress?(i + 1, steps)
        }
        return x
    }
}
