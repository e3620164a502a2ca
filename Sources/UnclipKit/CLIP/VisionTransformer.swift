/// CLIP's image tower, a ViT (Dosovitskiy et al. 2021, §3.1) with CLIP's
/// extra pre-encoder LayerNorm (Radford et al. 2021, §2.4): patch embedding,
/// class token, position embeddings, pre-LN, encoder, post-LN on the class
/// token, linear projection into the joint space.
public final class VisionTransformer: @unchecked Sendable {
    public let config: CLIPConfig.Vision
    let classEmbedding: Tensor      // [D]
    let patchWeight: Tensor         // [D, C·P·P] (the conv kernel flattened in (c, ky, kx) order)
    let positions: Tensor           // [T, D], T = grid² + 1
    let preNorm: LayerNorm
    let layers: [TransformerBlock]
    let postNorm: LayerNorm
    let projection: Linear          // [Pdim, D], no bias

    init(_ w: CLIPWeights, config: CLIPConfig) {
        let v = config.vision
        self.config = v
        let d = v.tower.hiddenSize
        classEmbedding = w.tensor("vision_model.embeddings.class_embedding")
        let conv = w.tensor("vision_model.embeddings.patch_embedding.weight")
        patchWeight = Tensor(viewing: conv.data, shape: [d, v.channels * v.patchSize * v.patchSize], owner: conv)
        positions = w.tensor("vision_model.embeddings.position_embedding.weight")
        preNorm = w.layerNorm("vision_model.pre_layrnorm", eps: v.tower.layerNormEps)
        layers = (0..<v.tower.layers).map {
            TransformerBlock(clip: w, prefix: "vision_model.encoder.layers.\($0)", tower: v.tower, causal: false)
        }
        postNorm = w.layerNorm("vision_model.post_layernorm", eps: v.tower.layerNormEps)
        projection = w.linear("visual_projection", bias: false)
    }

    public var inputCount: Int { config.channels * config.imageSize * config.imageSize }

    /// pixels [B, C, S, S] (normalised, CHW) → [B, Pdim] projected features (not yet unit length).
    public func forward(pixels: UnsafePointer<Float>, batch: Int) -> Tensor {
        let c = config.channels, s = config.imageSize, p = config.patchSize, g = config.gridSize
        let d = config.tower.hiddenSize, t = config.tokens, np = g * g, kp = c * p * p
        let rows = batch * t

        // Unfold: patches[b·np + gy·g + gx, (ch, ky, kx)] — the convolution
        // with stride = kernel becomes one GEMM against the flattened kernel.
        let patches = Tensor(shape: [batch * np, kp])
        for b in 0..<batch {
            for gy in 0..<g {
                for gx in 0..<g {
                    var dst = patches.row(b * np + gy * g + gx)
                    for ch in 0..<c {
                        for ky in 0..<p {
                            let src = pixels + ((b * c + ch) * s + gy * p + ky) * s + gx * p
                            dst.update(from: src, count: p)
                            dst += p
                        }
                    }
                }
            }
        }
        // One GEMM for the whole batch, so the kernel is packed once, not once per image.
        let embedded = Tensor(shape: [batch * np, d])   // [B·np, D]
        BLAS.gemmSplit(m: batch * np, n: d, k: kp, a: patches.data, lda: kp, b: patchWeight.data, ldb: kp,
                       beta: 0, c: embedded.data, ldc: d)
        let x = Tensor(shape: [rows, d])   // [B·T, D], token 0 of each image is the class token
        for b in 0..<batch {
            x.row(b * t).update(from: classEmbedding.data, count: d)
            x.row(b * t + 1).update(from: embedded.row(b * np), count: np * d)
            for i in 0..<t {
                let r = x.row(b * t + i), pe = positions.row(i)
                for j in 0..<d { r[j] += pe[j] }
            }
        }
        preNorm.forward(x.data, rows: rows, into: x.data)

        let lengths = [Int](repeating: t, count: batch)
        let work = TransformerBlock.Workspace(rows: rows, width: d, mlpWidth: config.tower.intermediateSize, maxLength: t)
        for layer in layers.dropLast() { layer.forward(x.data, lengths: lengths, work: work) }
        // Only the class token is pooled, so the last block runs for it alone.
        let pooled: Tensor   // [B, D]
        if let last = layers.last {
            pooled = last.forwardFirstTokens(x.data, lengths: lengths, work: work)
        } else {
            pooled = Tensor(shape: [batch, d])
            for b in 0..<batch { pooled.row(b).update(from: x.row(b * t), count: d) }
        }
        postNorm.forward(pooled.data, rows: batch, into: pooled.data)
        return projection(pooled)                // [B, Pdim]
    }
}
