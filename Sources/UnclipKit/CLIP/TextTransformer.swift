/// CLIP's text tower (Radford et al. 2021, §2.4; GPT-2-style, causal):
/// token + position embeddings, causally masked encoder, final LayerNorm,
/// the hidden state at the end-of-text token, linear projection.
public final class TextTransformer: @unchecked Sendable {
    public let config: CLIPConfig.Text
    let tokenEmbedding: Tensor      // [V, D]
    let positions: Tensor           // [Lmax, D]
    let layers: [TransformerBlock]
    let finalNorm: LayerNorm
    let projection: Linear          // [Pdim, D], no bias

    init(_ w: CLIPWeights, config: CLIPConfig) {
        let t = config.text
        self.config = t
        tokenEmbedding = w.tensor("text_model.embeddings.token_embedding.weight")
        positions = w.tensor("text_model.embeddings.position_embedding.weight")
        layers = (0..<t.tower.layers).map {
            TransformerBlock(clip: w, prefix: "text_model.encoder.layers.\($0)", tower: t.tower, causal: true)
        }
        finalNorm = w.layerNorm("text_model.final_layer_norm", eps: t.tower.layerNormEps)
        projection = w.linear("text_projection", bias: false)
    }

    /// The position whose hidden state is the sequence's feature, chosen as
    /// transformers 5.x does (see `CLIPConfig.Text.poolsAtLargestID`).
    public func pooledIndex(_ ids: [Int]) -> Int {
        if config.poolsAtLargestID {
            var best = 0
            for (i, id) in ids.enumerated() where id > ids[best] { best = i }   // first maximum, like torch.argmax
            return best
        }
        return ids.firstIndex(of: config.eosTokenID) ?? 0
    }

    /// Token-id sequences (with BOS/EOS, unpadded or padded) → [N, Pdim]
    /// projected features (not yet unit length).
    public func forward(tokens: [[Int]]) throws -> Tensor {
        // Under the causal mask nothing after the pooled token can reach it,
        // so each sequence is cut there: exact, and padding costs nothing.
        try run(tokens: tokens, lengths: tokens.map { pooledIndex($0) + 1 }).pooled
    }

    /// The projected features [N, Pdim] together with every token's final
    /// hidden state (after the final LayerNorm, transformers'
    /// `last_hidden_state`): sequence n's are rows offsets[n] ..< offsets[n]
    /// + tokens[n].count of `states` [Σ Lₙ, D]. The unCLIP prior reads them.
    public func forwardKeepingStates(tokens: [[Int]]) throws -> (pooled: Tensor, states: Tensor) {
        let (pooled, x) = try run(tokens: tokens, lengths: tokens.map(\.count))
        finalNorm.forward(x.data, rows: x.rows, into: x.data)
        return (pooled, x)
    }

    /// Runs the first lengths[n] tokens of each sequence (at least up to its
    /// pooled token); returns the projected features and the last layer's
    /// output rows [Σ lengths, D], before the final LayerNorm.
    private func run(tokens: [[Int]], lengths: [Int]) throws -> (pooled: Tensor, x: Tensor) {
        let d = config.tower.hiddenSize
        for (n, ids) in tokens.enumerated() {
            guard !ids.isEmpty else { throw UnclipError.usage("text \(n + 1): no tokens") }
            guard ids.count <= config.maxPositions else {
                throw UnclipError.usage("text \(n + 1): \(ids.count) tokens, the model reads at most \(config.maxPositions)")
            }
            if let bad = ids.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
                throw UnclipError.model("text \(n + 1): token id \(bad) is outside the model's vocabulary (0..<\(config.vocabSize)); the tokenizer files do not match the weights")
            }
        }
        let rows = lengths.reduce(0, +)
        let x = Tensor(shape: [rows, d])   // [Σ L, D] sequences packed row after row
        var r = 0
        for (ids, len) in zip(tokens, lengths) {
            for i in 0..<len {
                let dst = x.row(r), te = tokenEmbedding.row(ids[i]), pe = positions.row(i)
                for j in 0..<d { dst[j] = te[j] + pe[j] }
                r += 1
            }
        }
        let work = TransformerBlock.Workspace(rows: rows, width: d, mlpWidth: config.tower.intermediateSize,
                                              maxLength: lengths.max() ?? 1)
        for layer in layers { layer.forward(x.data, lengths: lengths, work: work) }

        let pooled = Tensor(shape: [tokens.count, d])   // [N, D] final-LN'd pooled states
        var start = 0
        for (n, len) in lengths.enumerated() {
            finalNorm.forward(x.row(start + pooledIndex(tokens[n])), rows: 1, into: pooled.row(n))
            start += len
        }
        return (projection(pooled), x)                  // [N, Pdim]
    }
}
