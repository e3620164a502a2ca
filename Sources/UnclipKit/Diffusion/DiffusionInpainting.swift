import Foundation

/// Inpainting and outpainting with Kandinsky 2.2's inpainting decoder.
///
/// The work region is the hole plus context (the whole image when its long
/// side is at most `workSide`), scaled so that its long side is at most
/// `workSide`, each side a multiple of the MoVQ's granularity. The decoder
/// regenerates the hole there, as `KandinskyV22InpaintPipeline`; a region
/// that was scaled down gets its full-resolution detail from the patch
/// synthesiser's finer levels, started from the upscaled fill and drawing
/// on the photo's own pixels. `Inpainting` then blends the seam and pastes
/// back only the masked pixels.
extension KandinskyPipeline {
    /// Longest side of the region the decoder works on (tests pass smaller ones).
    public static let workSide = 768

    /// The decoder's size for a `width` × `height` region and the scale to it.
    public func workSize(width: Int, height: Int, side: Int = workSide) throws -> (width: Int, height: Int, scale: Double) {
        let m = try inpaintDecoder().sizeMultiple
        let s = min(1, Double(side) / Double(max(width, height)))
        func snap(_ x: Int) -> Int { max(m, Int((Double(x) * s / Double(m)).rounded()) * m) }
        return (snap(width), snap(height), s)
    }

    /// Standard normal x_T for the inpainting decoder at `width` × `height` pixels.
    public func inpaintingLatent(seed: UInt64, width: Int, height: Int) throws -> EmbeddingFile.Latent {
        Self.initialLatent(for: try inpaintDecoder(), seed: seed, width: width, height: height)
    }

    /// Fills the masked pixels of `image` (mask: 1 regenerates, soft values
    /// blend) toward `embed` (raw). `latent`: x_T at the work size, else
    /// seeded noise. Every pixel where the mask is 0 keeps its bytes.
    public func inpaint(_ image: Image, mask: [Float], embed: [Float], latent: EmbeddingFile.Latent?,
                        settings: DiffusionSettings, seed: UInt64, seamless: Bool, synthesis: SynthesisOptions,
                        workSide: Int = workSide, progress: ((Int, Int) -> Void)? = nil) throws -> Image {
        let negative = try negativeEmbedding()
        return try Inpainting.inpaint(image, mask: mask, options: synthesis, seamless: seamless,
                                      context: .whole(upTo: workSide)) { crop, cropMask in
            try self.fill(crop, mask: cropMask, embed: embed, negative: negative, latent: latent, settings: settings,
                          seed: seed, synthesis: synthesis, workSide: workSide, progress: progress)
        }
    }

    /// One work region: diffusion at the work size, then back to the crop's size.
    func fill(_ crop: Image, mask: [Float], embed: [Float], negative: [Float], latent: EmbeddingFile.Latent?,
              settings: DiffusionSettings, seed: UInt64, synthesis: SynthesisOptions, workSide: Int,
              progress: ((Int, Int) -> Void)?) throws -> Image {
        let dec = try inpaintDecoder()
        let (cw, ch) = (crop.width, crop.height)
        let (W, H, scale) = try workSize(width: cw, height: ch, side: workSide)
        let same = W == cw && H == ch
        let small = same ? crop : scale < 1 ? Exemplar.areaResize(crop, width: W, height: H) : PillowResample.bicubic(crop, width: W, height: H)
        // Any pixel the hole touches is regenerated at the work size.
        let smallMask = same ? mask : Self.coverage(mask, width: cw, height: ch, toWidth: W, height: H)
        let xT = try latent ?? inpaintingLatent(seed: seed, width: W, height: H)
        let (h, w) = dec.latentSize(height: H, width: W)
        guard xT.shape == [dec.latentChannels, h, w] else {
            throw UnclipError.badInput("the embedding's latent is \(xT.shape), but this fill works at \(W)x\(H) pixels, latent [\(dec.latentChannels), \(h), \(w)]")
        }
        let input = try dec.inpaintingInput(pixels: small.pixels, mask: smallMask, height: H, width: W)
        let scheduler = try Schedulers.make(dec.schedulerConfig, kind: settings.scheduler)
        let z = try dec.inpaint(input, latents: xT.values, embed: embed, negative: negative, steps: settings.steps,
                                guidance: settings.guidance, scheduler: scheduler, noise: Self.stepNoise(seed: seed), progress: progress)
        let f = dec.movq.config.scaleFactor
        var out = Self.image(dec.decodeToUnit(z, height: h, width: w), width: w * f, height: h * f)
        if !same {
            let guide = out
            out = PillowResample.bicubic(out, width: cw, height: ch)
            if scale < 1 {
                var o = synthesis
                o.guide = guide
                out = try PatchSynthesis.synthesize(exemplars: [], width: cw, height: ch, known: crop, mask: mask,
                                                    options: o, progress: nil)
            }
        }
        // Soft mask values fade the fill in, as the patch synthesiser does.
        for (i, m) in mask.enumerated() where m < 1 {
            for c in 0..<3 {
                out.pixels[i * 3 + c] = UInt8((m * Float(out.pixels[i * 3 + c]) + (1 - m) * Float(crop.pixels[i * 3 + c])).rounded())
            }
        }
        return out
    }

    /// The mask at `W` × `H`: 1 wherever any of a pixel's area is to be
    /// regenerated, 0 elsewhere.
    static func coverage(_ mask: [Float], width: Int, height: Int, toWidth W: Int, height H: Int) -> [Float] {
        var out = [Float](repeating: 0, count: W * H)
        for ty in 0..<H {
            let y0 = ty * height / H, y1 = max(y0 + 1, ((ty + 1) * height + H - 1) / H)
            for tx in 0..<W {
                let x0 = tx * width / W, x1 = max(x0 + 1, ((tx + 1) * width + W - 1) / W)
                search: for y in y0..<min(y1, height) {
                    for x in x0..<min(x1, width) where mask[y * width + x] > 0 { out[ty * W + tx] = 1; break search }
                }
            }
        }
        return out
    }
}
