import Foundation

/// One stored tensor the model reads: its Hugging Face name and the shape
/// the config implies.
public struct CLIPParameter: Sendable, Equatable {
    public let name: String
    public let shape: [Int]
}

/// The name map from transformers' `CLIPModel` state dict to our
/// parameters, written once as tables. The loader checks a checkpoint
/// against it in both directions, and the towers look their tensors up by
/// these names only.
public enum CLIPWeightMap {
    /// Per encoder layer, relative to `<tower>.encoder.layers.<i>.`; d = width, m = MLP width.
    static let layer: [(String, (_ d: Int, _ m: Int) -> [Int])] = [
        ("layer_norm1.weight", { d, _ in [d] }), ("layer_norm1.bias", { d, _ in [d] }),
        ("self_attn.q_proj.weight", { d, _ in [d, d] }), ("self_attn.q_proj.bias", { d, _ in [d] }),
        ("self_attn.k_proj.weight", { d, _ in [d, d] }), ("self_attn.k_proj.bias", { d, _ in [d] }),
        ("self_attn.v_proj.weight", { d, _ in [d, d] }), ("self_attn.v_proj.bias", { d, _ in [d] }),
        ("self_attn.out_proj.weight", { d, _ in [d, d] }), ("self_attn.out_proj.bias", { d, _ in [d] }),
        ("layer_norm2.weight", { d, _ in [d] }), ("layer_norm2.bias", { d, _ in [d] }),
        ("mlp.fc1.weight", { d, m in [m, d] }), ("mlp.fc1.bias", { _, m in [m] }),
        ("mlp.fc2.weight", { d, m in [d, m] }), ("mlp.fc2.bias", { d, _ in [d] }),
    ]

    public static func vision(_ c: CLIPConfig) -> [CLIPParameter] {
        let v = c.vision, d = v.tower.hiddenSize, p = v.patchSize
        var out: [CLIPParameter] = [
            .init(name: "vision_model.embeddings.class_embedding", shape: [d]),
            // Conv2d(C, D, P, stride P, bias=False): applied as a GEMM over unfolded patches.
            .init(name: "vision_model.embeddings.patch_embedding.weight", shape: [d, v.channels, p, p]),
            .init(name: "vision_model.embeddings.position_embedding.weight", shape: [v.tokens, d]),
            // Sic: transformers spells the pre-encoder norm "pre_layrnorm".
            .init(name: "vision_model.pre_layrnorm.weight", shape: [d]),
            .init(name: "vision_model.pre_layrnorm.bias", shape: [d]),
        ]
        out += layers("vision_model", v.tower)
        out += [
            .init(name: "vision_model.post_layernorm.weight", shape: [d]),
            .init(name: "vision_model.post_layernorm.bias", shape: [d]),
            .init(name: "visual_projection.weight", shape: [c.projectionDim, d]),
        ]
        return out
    }

    public static func text(_ c: CLIPConfig) -> [CLIPParameter] {
        let t = c.text, d = t.tower.hiddenSize
        var out: [CLIPParameter] = [
            .init(name: "text_model.embeddings.token_embedding.weight", shape: [t.vocabSize, d]),
            .init(name: "text_model.embeddings.position_embedding.weight", shape: [t.maxPositions, d]),
        ]
        out += layers("text_model", t.tower)
        out += [
            .init(name: "text_model.final_layer_norm.weight", shape: [d]),
            .init(name: "text_model.final_layer_norm.bias", shape: [d]),
            .init(name: "text_projection.weight", shape: [c.projectionDim, d]),
        ]
        return out
    }

    static func layers(_ tower: String, _ t: CLIPConfig.Tower) -> [CLIPParameter] {
        (0..<t.layers).flatMap { i in
            layer.map { CLIPParameter(name: "\(tower).encoder.layers.\(i).\($0.0)", shape: $0.1(t.hiddenSize, t.intermediateSize)) }
        }
    }

    /// Stored tensors that are part of a CLIP checkpoint but not of the
    /// embedding computation: the contrastive temperature, and the
    /// `position_ids` buffers older transformers versions saved.
    public static func isKnownUnused(_ name: String) -> Bool {
        name == "logit_scale" || name == "text_model.embeddings.position_ids"
            || name == "vision_model.embeddings.position_ids"
    }
}

/// A checkpoint's tensors, checked strictly against `CLIPWeightMap`: a
/// missing tensor, an unexpected one, or one of the wrong shape is an error
/// naming it, never a silently half-loaded model.
///
/// F32 tensors are views into the memory-mapped file (no copy: the kernel
/// pages them in on first use and peak memory stays near the file size);
/// F16 and BF16 are widened once into owned f32 buffers.
public final class CLIPWeights: @unchecked Sendable {
    public let file: SafeTensors
    public let path: String
    private var tensors: [String: Tensor] = [:]
    /// Stored types found, e.g. ["F16"]: reported by `unclip model list`.
    public let storedTypes: [String]

    public init(path: String, config: CLIPConfig) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            let dir = (path as NSString).deletingLastPathComponent
            if FileManager.default.fileExists(atPath: dir + "/model.safetensors.index.json") {
                throw UnclipError.model("\(dir): sharded checkpoints (model.safetensors.index.json) are not supported; merge the shards into one model.safetensors")
            }
            throw UnclipError.model("\(dir): no model.safetensors (PyTorch .bin checkpoints are not read; convert with `safetensors`)")
        }
        file = try SafeTensors(mappingFile: path)
        let expected = (config.towers == .text ? [] : CLIPWeightMap.vision(config))
            + (config.towers == .vision ? [] : CLIPWeightMap.text(config))

        var missing: [String] = [], wrong: [String] = [], badType: [String] = []
        for p in expected {
            guard let t = file.tensors[p.name] else { missing.append(p.name); continue }
            if t.shape != p.shape { wrong.append("\(p.name) has shape \(t.shape), the config implies \(p.shape)") }
            if ![.F32, .F16, .BF16].contains(t.dtype) { badType.append("\(p.name) is \(t.dtype.rawValue)") }
        }
        let known = Set(expected.map(\.name))
        let extra = file.names.filter { !known.contains($0) && !CLIPWeightMap.isKnownUnused($0) }
        let what = config.towers == .both ? "a CLIP model" : "a CLIP \(config.towers.rawValue) tower"
        var problems: [String] = []
        func list(_ xs: [String]) -> String { xs.prefix(3).joined(separator: ", ") + (xs.count > 3 ? " and \(xs.count - 3) more" : "") }
        if !missing.isEmpty { problems.append("missing tensor\(missing.count > 1 ? "s" : "") \(list(missing))") }
        if !extra.isEmpty { problems.append("unused tensor\(extra.count > 1 ? "s" : "") \(list(extra)) (not part of \(what) with this config.json)") }
        if !wrong.isEmpty { problems.append("wrong shape: \(list(wrong))") }
        if !badType.isEmpty { problems.append("unsupported type (F32, F16 or BF16 only): \(list(badType))") }
        if !problems.isEmpty { throw UnclipError.model("\(path): " + problems.joined(separator: "; ")) }

        var types = Set<String>()
        for p in expected {
            let info = file.tensors[p.name]!
            types.insert(info.dtype.rawValue)
            let raw = try file.raw(p.name)
            if info.dtype == .F32, let base = raw.baseAddress, Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 {
                tensors[p.name] = Tensor(viewing: base.assumingMemoryBound(to: Float.self), shape: p.shape, owner: file)
            } else {
                tensors[p.name] = Tensor(shape: p.shape, values: try file.floats(p.name))
            }
        }
        storedTypes = types.sorted()
    }

    /// A single-tower folder (Kandinsky's `image_encoder/`, `text_encoder/`):
    /// its config, which must describe `tower` (`className` names it in the
    /// error), and its weights, checked against that tower alone.
    static func singleTower(_ directory: URL, _ tower: CLIPConfig.Towers, className: String) throws -> (CLIPConfig, CLIPWeights) {
        let config = try CLIPConfig.load(directory: directory)
        guard config.towers == tower else {
            throw UnclipError.model("\(directory.path): not a \(className) (model_type \"clip_\(tower.rawValue)_model\")")
        }
        // The hub's half-precision variant where only it was fetched.
        var file = directory.appendingPathComponent("model.safetensors")
        let variant = directory.appendingPathComponent("model.fp16.safetensors")
        if !FileManager.default.fileExists(atPath: file.path), FileManager.default.fileExists(atPath: variant.path) { file = variant }
        return (config, try CLIPWeights(path: file.path, config: config))
    }

    /// Faults in the mapped pages of `names`, in order, on a background
    /// thread, and returns at once. A fresh process otherwise takes ~10 k
    /// page faults inside the first forward pass (a few hundred where the
    /// file is cached in 2 MiB folios: `SafeTensors(mappingFile:)`).
    /// Started before the input is read and decoded (one core's work for a
    /// single image), the faults are taken on the other core meanwhile.
    /// Only a hint: tensors not yet populated when the forward pass reaches
    /// them fault in as before.
    public func prefetch(_ names: [String]) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        // (start, end) addresses, page-aligned start; the mapping lives as long as `self`.
        let ranges = names.compactMap { try? file.raw($0) }.filter { $0.count > 0 }.map {
            (Int(bitPattern: $0.baseAddress!) & ~(page - 1), Int(bitPattern: $0.baseAddress!) + $0.count)
        }
        let thread = Thread { [self] in
            for (start, end) in ranges {
                let p = UnsafeMutableRawPointer(bitPattern: start)!
                // MADV_POPULATE_READ (Linux 5.14) maps the range in one call;
                // on older kernels touching one byte per page does the same.
                if madvise(p, end - start, 22 /* MADV_POPULATE_READ */) != 0 {
                    var sum: UInt8 = 0
                    for a in stride(from: start, to: end, by: page) {
                        sum &+= UnsafeRawPointer(bitPattern: a)!.load(as: UInt8.self)
                    }
                    withExtendedLifetime(sum) {}
                }
            }
            withExtendedLifetime(self) {}
        }
        thread.start()
    }

    /// The tensor stored under `name`; the name must come from `CLIPWeightMap`.
    public func tensor(_ name: String) -> Tensor {
        guard let t = tensors[name] else { preconditionFailure("\(name) is not in CLIPWeightMap") }
        return t
    }

    func linear(_ prefix: String, bias: Bool = true) -> Linear {
        Linear(weight: tensor(prefix + ".weight"), bias: bias ? tensor(prefix + ".bias") : nil)
    }

    func layerNorm(_ prefix: String, eps: Float) -> LayerNorm {
        LayerNorm(weight: tensor(prefix + ".weight"), bias: tensor(prefix + ".bias"), eps: eps)
    }
}

extension TransformerBlock {
    /// transformers' CLIPEncoderLayer `prefix` (e.g. "text_model.encoder.layers.3").
    init(clip w: CLIPWeights, prefix: String, tower: CLIPConfig.Tower, causal: Bool) {
        self.init(norm1: w.layerNorm(prefix + ".layer_norm1", eps: tower.layerNormEps),
                  attention: Attention(q: w.linear(prefix + ".self_attn.q_proj"), k: w.linear(prefix + ".self_attn.k_proj"),
                                       v: w.linear(prefix + ".self_attn.v_proj"), out: w.linear(prefix + ".self_attn.out_proj"),
                                       heads: tower.heads, causal: causal),
                  norm2: w.layerNorm(prefix + ".layer_norm2", eps: tower.layerNormEps),
                  fc1: w.linear(prefix + ".mlp.fc1"), fc2: w.linear(prefix + ".mlp.fc2"), activation: tower.activation)
    }
}
