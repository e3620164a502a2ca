import Foundation

/// The unCLIP prior (Ramesh et al. 2022, §2.2, the decoder-only
/// Transformer variant), as diffusers' `PriorTransformer` in Kandinsky
/// 2.2's `prior/prior/`: a causal Transformer over the caption's token
/// states, its projected text embedding, the timestep, the noisy image
/// embedding and a learned query token, whose output at the last position
/// is the denoised CLIP image embedding.
public final class PriorTransformer: @unchecked Sendable {
    /// The subset of the config Kandinsky's prior uses; every size is read,
    /// and an option outside it is an error that names it.
    public struct Config: Sendable, Equatable {
        public var heads: Int
        public var headDim: Int
        public var layers: Int
        /// Width of the noisy embedding and of the text token states.
        public var embeddingDim: Int
        /// Width of the projected text embedding.
        public var embeddingProjDim: Int
        /// Width of the predicted image embedding.
        public var clipEmbedDim: Int
        /// Text positions the positional table has before the 4 extra tokens.
        public var textTokens: Int
        public var timeEmbedDim: Int
        public var timeActivation: Activation
        public var normIn: Bool
        public var embeddingProjNorm: Bool

        public var width: Int { heads * headDim }

        public static func parse(_ c: DiffusersConfig) throws -> Config {
            let n = c.name
            if let cls = c.className, cls != "PriorTransformer" {
                throw UnclipError.model("\(n): _class_name \"\(cls)\" is not supported (PriorTransformer)")
            }
            // The learned query token ("prd") is where the prediction is read;
            // with it the sequence has exactly 4 tokens after the text.
            _ = try c.option("added_emb_type", "prd", supported: ["prd"])
            try c.require("additional_embeddings", is: 4)
            _ = try c.option("encoder_hid_proj_type", "linear", supported: ["linear"])
            let act = try c.option("time_embed_act_fn", "silu", supported: ["silu", "gelu"])!
            let normIn = try c.option("norm_in_type", nil, supported: [nil, "layer"]) != nil
            let projNorm = try c.option("embedding_proj_norm_type", nil, supported: [nil, "layer"]) != nil
            let heads = try c.positiveInt("num_attention_heads", 32), dh = try c.positiveInt("attention_head_dim", 64)
            // Widths are bounded before any product of them is formed.
            for (key, v) in [("num_attention_heads", heads), ("attention_head_dim", dh)] where v > 1 << 16 {
                throw UnclipError.model("\(n): \(key) \(v) is more than the 65536 unclip accepts")
            }
            let d = try c.positiveInt("embedding_dim", 768)
            return Config(heads: heads, headDim: dh, layers: try c.positiveInt("num_layers", 20), embeddingDim: d,
                          embeddingProjDim: try c.optionalInt("embedding_proj_dim") ?? d,
                          clipEmbedDim: try c.optionalInt("clip_embed_dim") ?? d,
                          textTokens: try c.positiveInt("num_embeddings", 77),
                          timeEmbedDim: try c.optionalInt("time_embed_dim") ?? heads * dh,
                          timeActivation: act == "gelu" ? .gelu : .silu, normIn: normIn, embeddingProjNorm: projNorm)
        }
    }

    /// What one caption conditions the prior on: the text encoder's
    /// projected embedding (`text_embeds`, unnormalised) and the final
    /// hidden states of its real tokens (BOS … EOS; the padding the
    /// reference adds is masked out there, so it is never formed here).
    public struct TextCondition: @unchecked Sendable {
        public var embedding: [Float]   // [embeddingProjDim]
        public var states: Tensor       // [L, embeddingDim]
        public init(embedding: [Float], states: Tensor) { self.embedding = embedding; self.states = states }
    }

    public let config: Config
    let timesteps: SinusoidalTimesteps
    let time1: Linear, time2: Linear
    let projIn: Linear, embeddingProj: Linear, statesProj: Linear
    let embeddingProjNorm: LayerNorm?, normIn: LayerNorm?
    let positions: Tensor      // [textTokens + 4, W]
    let query: Tensor          // [W] the "prd" token
    let blocks: [TransformerBlock]
    let normOut: LayerNorm
    let projOut: Linear
    /// post_process_latents: the model predicts (z − mean) / std.
    let clipMean: Tensor, clipStd: Tensor   // [clipEmbedDim] each

    /// Loads `prior/prior/` (config.json and weights), strictly checked.
    public convenience init(directory: URL) throws {
        let config = try Config.parse(DiffusersConfig.load(directory.appendingPathComponent("config.json")))
        try self.init(config: config, weights: try DiffusersWeights(directory: directory))
    }

    public init(config c: Config, weights: DiffusersWeights) throws {
        config = c
        let w = weights.scope(""), wd = c.width, d = c.embeddingDim
        timesteps = SinusoidalTimesteps(dimension: wd, flipSinToCos: true, freqShift: 0)
        time1 = w.linear("time_embedding.linear_1", in: wd, out: c.timeEmbedDim)
        time2 = w.linear("time_embedding.linear_2", in: c.timeEmbedDim, out: wd)
        projIn = w.linear("proj_in", in: d, out: wd)
        embeddingProjNorm = c.embeddingProjNorm ? w.layerNorm("embedding_proj_norm", features: c.embeddingProjDim) : nil
        embeddingProj = w.linear("embedding_proj", in: c.embeddingProjDim, out: wd)
        statesProj = w.linear("encoder_hidden_states_proj", in: d, out: wd)
        positions = w("positional_embedding", [1, c.textTokens + 4, wd])
        positions.reshape([c.textTokens + 4, wd])
        query = w("prd_embedding", [1, 1, wd])
        normIn = c.normIn ? w.layerNorm("norm_in", features: wd) : nil
        blocks = (0..<c.layers).map { i in
            let b = w.scope("transformer_blocks.\(i)")
            let a = b.scope("attn1")
            return TransformerBlock(norm1: b.layerNorm("norm1", features: wd),
                                    attention: Attention(q: a.linear("to_q", in: wd, out: wd), k: a.linear("to_k", in: wd, out: wd),
                                                         v: a.linear("to_v", in: wd, out: wd), out: a.linear("to_out.0", in: wd, out: wd),
                                                         heads: c.heads, causal: true),
                                    norm2: b.layerNorm("norm3", features: wd),
                                    fc1: b.linear("ff.net.0.proj", in: wd, out: 4 * wd), fc2: b.linear("ff.net.2", in: 4 * wd, out: wd),
                                    activation: .gelu)
        }
        normOut = w.layerNorm("norm_out", features: wd)
        projOut = w.linear("proj_to_clip_embeddings", in: wd, out: c.clipEmbedDim)
        clipMean = w("clip_mean", [1, c.clipEmbedDim])
        clipStd = w("clip_std", [1, c.clipEmbedDim])
        try weights.finish()
    }

    /// The predicted embeddings [B][clipEmbedDim] (in the normalised space
    /// the prior samples in) for noisy embeddings `samples` [B][D] at
    /// `timestep`, sample b conditioned on `text[b]`.
    ///
    /// Each sequence is [text states (L), text embedding, time, sample,
    /// query], at positions 0..<L, then N..<N+4 of the N + 4 the reference
    /// uses: its padding tokens carry a −10000 mask, which makes their
    /// attention weights exactly 0 in float, so leaving them out changes
    /// nothing but the cost.
    public func callAsFunction(_ samples: [[Float]], timestep: Int, text: [TextCondition]) throws -> [[Float]] {
        let c = config, wd = c.width, n = c.textTokens
        precondition(samples.count == text.count)
        for (b, t) in text.enumerated() {
            guard t.states.cols == c.embeddingDim, t.states.rows >= 1, t.states.rows <= n,
                  t.embedding.count == c.embeddingProjDim, samples[b].count == c.embeddingDim else {
                throw UnclipError.model("prior: text conditioning of \(t.states.rows) tokens × \(t.states.cols) and \(t.embedding.count) wide, sample \(samples[b].count) wide; the prior reads at most \(n) tokens × \(c.embeddingDim), \(c.embeddingProjDim) and \(c.embeddingDim)")
            }
        }
        let lengths = text.map { $0.states.rows + 4 }
        let rows = lengths.reduce(0, +)
        // The time embedding is the same for every sequence.
        let sin = Tensor(shape: [1, wd], values: timesteps(Float(timestep)))
        let time = time2(time1(sin, activation: c.timeActivation))            // [1, W]
        let x = Tensor(shape: [rows, wd])                                      // [Σ (L + 4), W]
        var r = 0
        for (b, t) in text.enumerated() {
            let L = t.states.rows
            statesProj.forward(t.states.data, rows: L, into: x.row(r))         // [L, W]
            let e = Tensor(shape: [1, c.embeddingProjDim], values: t.embedding)
            let en = embeddingProjNorm.map { $0(e) } ?? e
            embeddingProj.forward(en.data, rows: 1, into: x.row(r + L))        // [1, W]
            x.row(r + L + 1).update(from: time.data, count: wd)
            let s = Tensor(shape: [1, c.embeddingDim], values: samples[b])
            projIn.forward(s.data, rows: 1, into: x.row(r + L + 2))           // [1, W]
            x.row(r + L + 3).update(from: query.data, count: wd)
            for i in 0..<(L + 4) {
                let p = positions.row(i < L ? i : n + i - L), dst = x.row(r + i)
                for j in 0..<wd { dst[j] += p[j] }
            }
            r += L + 4
        }
        if let normIn { normIn.forward(x.data, rows: rows, into: x.data) }
        let work = TransformerBlock.Workspace(rows: rows, width: wd, mlpWidth: 4 * wd, maxLength: lengths.max() ?? 1)
        for block in blocks { block.forward(x.data, lengths: lengths, work: work) }
        let last = Tensor(shape: [text.count, wd])                            // [B, W] each sequence's query token
        var end = 0
        for (b, len) in lengths.enumerated() {
            end += len
            normOut.forward(x.row(end - 1), rows: 1, into: last.row(b))
        }
        let y = projOut(last)                                                  // [B, clipEmbedDim]
        return (0..<text.count).map { Array(UnsafeBufferPointer(start: y.row($0), count: y.cols)) }
    }

    /// z = x·std + mean: from the prior's space back to the CLIP image
    /// embedding (`post_process_latents`).
    public func unnormalise(_ x: [Float]) -> [Float] {
        (0..<x.count).map { x[$0] * clipStd.data[$0] + clipMean.data[$0] }
    }
}
