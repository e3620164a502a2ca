import Foundation

/// Kandinsky 2.2's decoder as one unit (a `decoder/` folder laid out as on
/// the hub: `unet/`, `movq/`, `scheduler/`): a CLIP image embedding and an
/// initial latent x_T become pixels, with classifier-free guidance against
/// a negative embedding, as diffusers' `KandinskyV22Pipeline` does it.
public final class KandinskyDecoder: @unchecked Sendable {
    public let directory: URL
    public let unet: UNet2DConditionModel
    public let movq: MoVQ
    public let schedulerConfig: DiffusersConfig

    public init(directory: URL) throws {
        self.directory = directory
        for part in ["unet", "movq", "scheduler"] where !FileManager.default.fileExists(atPath: directory.appendingPathComponent(part).path) {
            throw UnclipError.model("\(directory.path): no \(part)/ (a Kandinsky 2.2 decoder folder has unet/, movq/ and scheduler/)")
        }
        unet = try UNet2DConditionModel(directory: directory.appendingPathComponent("unet"))
        movq = try MoVQ(directory: directory.appendingPathComponent("movq"))
        schedulerConfig = try DiffusersConfig.load(directory.appendingPathComponent("scheduler/scheduler_config.json"))
        guard unet.config.outChannels == 2 * movq.config.latentChannels || unet.config.outChannels == movq.config.latentChannels else {
            throw UnclipError.model("\(directory.path): the UNet predicts \(unet.config.outChannels) channels, MoVQ's latents have \(movq.config.latentChannels)")
        }
    }

    /// The latent size for an image of `height` × `width` pixels, as the
    /// pipelines round it (`downscale_height_and_width`): up to a multiple
    /// of f², then divided by f.
    public func latentSize(height: Int, width: Int) -> (Int, Int) {
        let f = movq.config.scaleFactor
        func down(_ x: Int) -> Int { (x / (f * f) + (x % (f * f) != 0 ? 1 : 0)) * f }
        return (down(height), down(width))
    }

    public var latentChannels: Int { movq.config.latentChannels }

    /// One guided denoising prediction: the noise channels of
    /// ε_uncond + g·(ε_cond − ε_uncond) followed by the conditional variance
    /// channels (Ho & Salimans 2022, eq. 6, as the pipeline splits it).
    /// `input` is the UNet's input for one image ([Cin, h, w]).
    func guidedPrediction(_ input: [Float], shape: (Int, Int), timestep t: Int, embed: [Float], negative: [Float],
                          guidance: Float) -> [Float] {
        let (h, w) = shape, cin = unet.config.inChannels, c = latentChannels
        let guided = guidance > 1   // the pipeline guides only above 1
        // One batch: [negative, conditional] as the pipeline orders it, or the conditional image alone.
        let b = guided ? 2 : 1
        let x = FeatureMap(batch: b, channels: cin, height: h, width: w)
        for i in 0..<b { x.image(i).update(from: input, count: input.count) }
        let embeds = guided ? negative + embed : embed
        let out = embeds.withUnsafeBufferPointer { unet.forward(x, timestep: Float(t), imageEmbeds: $0.baseAddress!) }
        let n = c * h * w
        var pred = Array(UnsafeBufferPointer(start: out.image(b - 1), count: out.stride))
        if guided {
            let uncond = out.image(0)
            for i in 0..<n { pred[i] = uncond[i] + guidance * (pred[i] - uncond[i]) }
        }
        return pred
    }

    /// Denoises `latents` ([C, h, w] flattened, already x_T) over the
    /// scheduler's timesteps and returns the final latents.
    /// `extraInput` appends channels to the UNet's input (the inpainting
    /// decoder's masked image and mask); `afterStep` may rewrite the
    /// latents after each step (inpainting keeps the known region).
    public func denoise(latents start: [Float], height h: Int, width w: Int, embed: [Float], negative: [Float],
                        steps: Int, guidance: Float, scheduler: DiffusionScheduler,
                        noise: (Int) -> [Float], extraInput: [Float] = [],
                        afterStep: ((Int, [Float]) -> [Float])? = nil,
                        progress: ((Int, Int) -> Void)? = nil) throws -> [Float] {
        try setUp(start, height: h, width: w, embed: embed, negative: negative)
        try scheduler.setTimesteps(steps)
        return run(start.map { $0 * scheduler.initNoiseSigma }, from: 0, height: h, width: w, embed: embed, negative: negative,
                   guidance: guidance, scheduler: scheduler, noise: noise, extraInput: extraInput, afterStep: afterStep,
                   progress: progress)
    }

    private func setUp(_ latents: [Float], height h: Int, width w: Int, embed: [Float], negative: [Float]) throws {
        let c = latentChannels
        guard latents.count == c * h * w else { throw UnclipError.usage("the initial latent holds \(latents.count) values, expected \(c)×\(h)×\(w)") }
        guard embed.count == unet.config.imageEmbedDim, negative.count == embed.count else {
            throw UnclipError.badInput("the image embedding has \(embed.count) dimensions, this decoder takes \(unet.config.imageEmbedDim)")
        }
    }

    /// The denoising loop over the scheduler's timesteps from index `first` on.
    private func run(_ start: [Float], from first: Int, height h: Int, width w: Int, embed: [Float], negative: [Float],
                     guidance: Float, scheduler: DiffusionScheduler, noise: (Int) -> [Float], extraInput: [Float],
                     afterStep: ((Int, [Float]) -> [Float])?, progress: ((Int, Int) -> Void)?) -> [Float] {
        let c = latentChannels
        let ts = Array(scheduler.timesteps[first...])
        var x = start
        for (i, t) in ts.enumerated() {
            let input = extraInput.isEmpty ? x : x + extraInput
            let pred = guidedPrediction(input, shape: (h, w), timestep: t, embed: embed, negative: negative, guidance: guidance)
            let out = scheduler.usesLearnedVariance ? pred : Array(pred.prefix(c * h * w))
            x = scheduler.step(out, timestep: t, sample: x, noise: noise)
            if let afterStep { x = afterStep(first + i, x) }
            progress?(i + 1, ts.count)
        }
        return x
    }

    /// The timestep index image-to-image starts at, as the pipeline's
    /// `get_timesteps`: the last ⌊steps·strength⌋ of the `steps` run.
    public static func firstStep(steps: Int, strength: Float) -> Int {
        let s = strength.isFinite ? min(max(strength, 0), 1) : 1
        return steps - min(Int(Float(steps) * s), steps)
    }

    /// Image-to-image (SDEdit, Meng et al. 2022), as diffusers'
    /// `KandinskyV22Img2ImgPipeline`: the photo's latents [C, h, w] noised
    /// with `noise` to the level where the last ⌊steps·strength⌋ steps
    /// begin, then denoised over those steps; the layout survives.
    public func imageToImage(imageLatents: [Float], noise x: [Float], strength: Float, height h: Int, width w: Int,
                             embed: [Float], negative: [Float], steps: Int, guidance: Float,
                             scheduler: DiffusionScheduler, stepNoise: (Int) -> [Float],
                             progress: ((Int, Int) -> Void)? = nil) throws -> [Float] {
        try setUp(imageLatents, height: h, width: w, embed: embed, negative: negative)
        guard x.count == imageLatents.count else { throw UnclipError.usage("the noise holds \(x.count) values, the latents \(imageLatents.count)") }
        try scheduler.setTimesteps(steps)
        let first = Self.firstStep(steps: steps, strength: strength)
        guard first < steps else {
            throw UnclipError.usage("strength \(strength) with \(steps) steps runs no step: raise the strength or the steps")
        }
        let noisy = scheduler.schedule.addNoise(imageLatents, noise: x, timestep: scheduler.timesteps[first])
        return run(noisy, from: first, height: h, width: w, embed: embed, negative: negative, guidance: guidance,
                   scheduler: scheduler, noise: stepNoise, extraInput: [], afterStep: nil, progress: progress)
    }

    /// An 8-bit RGB image [H, W, 3] → MoVQ latents [C, h, w] (pixels scaled to [−1, 1]).
    public func encode(pixels: [UInt8], height: Int, width: Int) -> (latents: [Float], height: Int, width: Int) {
        let x = Tensor(shape: [1, 3, height, width])   // [−1, 1], channels first
        for i in 0..<(height * width) {
            for c in 0..<3 { x.data[c * height * width + i] = Float(pixels[i * 3 + c]) / 127.5 - 1 }
        }
        let z = movq.encode(x)                         // [1, C, h, w]
        return (z.toArray(), z.shape[2], z.shape[3])
    }

    /// Latents [C, h, w] → pixels [h·f, w·f, 3] in [0, 1] (MoVQ decode, then x·0.5 + 0.5 clamped, as the pipeline's "np" output).
    public func decodeToUnit(_ latents: [Float], height h: Int, width w: Int) -> [Float] {
        let z = Tensor(shape: [1, latentChannels, h, w], values: latents)
        let px = movq.decode(z)   // [1, 3, H, W]
        let (ho, wo) = (px.shape[2], px.shape[3])
        var out = [Float](repeating: 0, count: ho * wo * 3)
        for c in 0..<3 {
            for i in 0..<(ho * wo) { out[i * 3 + c] = min(max(px.data[c * ho * wo + i] * 0.5 + 0.5, 0), 1) }
        }
        return out
    }
}
