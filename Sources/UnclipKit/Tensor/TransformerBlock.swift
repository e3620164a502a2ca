/// One pre-LN transformer block (Radford et al. 2019, §2.3), shared by
/// CLIP's towers (transformers' CLIPEncoderLayer) and the unCLIP prior
/// (diffusers' BasicTransformerBlock without cross-attention):
///   x ← x + Attn(LN₁(x));  x ← x + fc₂(act(fc₁(LN₂(x)))).
struct TransformerBlock: @unchecked Sendable {
    let norm1: LayerNorm
    let attention: Attention
    let norm2: LayerNorm
    let fc1: Linear
    let fc2: Linear
    let activation: Activation

    init(norm1: LayerNorm, attention: Attention, norm2: LayerNorm, fc1: Linear, fc2: Linear, activation: Activation) {
        self.norm1 = norm1; self.attention = attention; self.norm2 = norm2
        self.fc1 = fc1; self.fc2 = fc2; self.activation = activation
    }

    /// Buffers for one batch, shared by all layers of a tower.
    final class Workspace {
        let h: Tensor          // [rows, D]  normalised input of each sub-block
        let mlp: Tensor        // [rows, M]  MLP hidden layer
        let attention: Attention.Workspace
        init(rows: Int, width: Int, mlpWidth: Int, maxLength: Int) {
            h = Tensor(shape: [rows, width])
            mlp = Tensor(shape: [rows, mlpWidth])
            attention = Attention.Workspace(rows: rows, width: width, maxLength: maxLength)
        }
    }

    /// x[rows, D] in place; `lengths` are the packed sequences' lengths.
    func forward(_ x: UnsafeMutablePointer<Float>, lengths: [Int], work: Workspace) {
        let rows = lengths.reduce(0, +)
        norm1.forward(x, rows: rows, into: work.h.data)
        attention.forward(work.h.data, residual: x, lengths: lengths, work: work.attention)
        norm2.forward(x, rows: rows, into: work.h.data)
        fc1.forward(work.h.data, rows: rows, into: work.mlp.data, activation: activation)   // [rows, M]
        fc2.forward(work.mlp.data, rows: rows, into: x, accumulate: true)                  // [rows, D]
    }

    /// The block for the first token of each sequence only: returns those
    /// rows [S, D] of what `forward` would leave in x. Every token still
    /// serves as a key and value, but the queries, the output projection
    /// and the MLP (five sixths of the block's work) run on S rows instead
    /// of all of them. x is left as the block's input.
    func forwardFirstTokens(_ x: UnsafePointer<Float>, lengths: [Int], work: Workspace) -> Tensor {
        let rows = lengths.reduce(0, +), d = norm1.weight.count
        let first = Tensor(shape: [lengths.count, d])   // [S, D]
        var r = 0
        for (s, t) in lengths.enumerated() { first.row(s).update(from: x + r * d, count: d); r += t }
        norm1.forward(x, rows: rows, into: work.h.data)
        attention.forwardFirstTokens(work.h.data, residual: first.data, lengths: lengths, work: work.attention)
        let s = lengths.count
        norm2.forward(first.data, rows: s, into: work.h.data)
        fc1.forward(work.h.data, rows: s, into: work.mlp.data, activation: activation)   // [S, M]
        fc2.forward(work.mlp.data, rows: s, into: first.data, accumulate: true)          // [S, D]
        return first
    }
}
