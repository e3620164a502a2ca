import Foundation

/// The parts of a Hugging Face CLIP `config.json` the towers need. Missing
/// keys take transformers' defaults (ViT-B/32 sizes), as
/// `CLIPConfig.from_pretrained` does, so trimmed configs load the same way.
public struct CLIPConfig: Sendable, Equatable {
    public struct Tower: Sendable, Equatable {
        public var hiddenSize: Int
        public var intermediateSize: Int
        public var layers: Int
        public var heads: Int
        public var activation: Activation
        public var layerNormEps: Float
    }

    public struct Vision: Sendable, Equatable {
        public var tower: Tower
        public var imageSize: Int
        public var patchSize: Int
        public var channels: Int
        public var gridSize: Int { imageSize / patchSize }
        /// Patches plus the class token.
        public var tokens: Int { gridSize * gridSize + 1 }
    }

    public struct Text: Sendable, Equatable {
        public var tower: Tower
        public var vocabSize: Int
        public var maxPositions: Int
        public var eosTokenID: Int
        /// transformers (modeling_clip.py, CLIPTextTransformer.forward) pools
        /// the hidden state at `argmax(input_ids)` when eos_token_id == 2 —
        /// the value the original OpenAI configs carry from before PR #24773,
        /// correct there because EOS (49407) is the largest id — and
        /// otherwise at the first position holding eos_token_id.
        public var poolsAtLargestID: Bool { eosTokenID == 2 }
    }

    public var vision: Vision
    public var text: Text
    public var projectionDim: Int
    /// The towers the checkpoint holds: both for `CLIPModel`, one for the
    /// single-tower `CLIPVisionModelWithProjection` / `CLIPTextModelWithProjection`
    /// folders of Kandinsky's prior (`image_encoder/`, `text_encoder/`).
    public var towers: Towers = .both

    public enum Towers: String, Sendable { case both, vision, text }

    public init(vision: Vision, text: Text, projectionDim: Int, towers: Towers = .both) {
        self.vision = vision; self.text = text; self.projectionDim = projectionDim; self.towers = towers
    }

    public static func load(directory: URL) throws -> CLIPConfig {
        let url = directory.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw UnclipError.model("\(directory.path): no config.json (not a Hugging Face CLIP model folder)")
        }
        return try parse(data, name: url.path)
    }

    public static func parse(_ data: Data, name: String) throws -> CLIPConfig {
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw UnclipError.model("\(name): not a JSON object")
        }
        let towers: Towers
        switch root["model_type"] as? String {
        case nil, "clip": towers = .both
        case "clip_vision_model": towers = .vision
        case "clip_text_model": towers = .text
        case let t?: throw UnclipError.model("\(name): model_type is \"\(t)\", expected \"clip\", \"clip_vision_model\" or \"clip_text_model\"")
        }
        // Configs written by old transformers versions keep the towers under
        // `*_config_dict`; a single tower's config is the tower's own, at the top.
        let tc = towers == .text ? root : (root["text_config"] as? [String: Any]) ?? (root["text_config_dict"] as? [String: Any]) ?? [:]
        let vc = towers == .vision ? root : (root["vision_config"] as? [String: Any]) ?? (root["vision_config_dict"] as? [String: Any]) ?? [:]

        func int(_ d: [String: Any], _ key: String, _ def: Int, _ tower: String) throws -> Int {
            guard let v = d[key] else { return def }
            guard let n = (v as? NSNumber)?.intValue, n > 0 else {
                throw UnclipError.model("\(name): \(tower).\(key) must be a positive integer, found \(v)")
            }
            return n
        }
        func tower(_ d: [String: Any], _ label: String, hidden: Int, mlp: Int, layers: Int, heads: Int) throws -> Tower {
            let actName = (d["hidden_act"] as? String) ?? "quick_gelu"
            guard let act = Activation(configName: actName) else {
                throw UnclipError.model("\(name): \(label).hidden_act \"\(actName)\" is not supported (quick_gelu, gelu, gelu_new, relu, silu)")
            }
            let eps = (d["layer_norm_eps"] as? NSNumber)?.floatValue ?? 1e-5
            let t = Tower(hiddenSize: try int(d, "hidden_size", hidden, label),
                          intermediateSize: try int(d, "intermediate_size", mlp, label),
                          layers: try int(d, "num_hidden_layers", layers, label),
                          heads: try int(d, "num_attention_heads", heads, label),
                          activation: act, layerNormEps: eps)
            guard t.hiddenSize % t.heads == 0 else {
                throw UnclipError.model("\(name): \(label).hidden_size \(t.hiddenSize) is not divisible by num_attention_heads \(t.heads)")
            }
            return t
        }

        let vision = Vision(tower: try tower(vc, "vision_config", hidden: 768, mlp: 3072, layers: 12, heads: 12),
                            imageSize: try int(vc, "image_size", 224, "vision_config"),
                            patchSize: try int(vc, "patch_size", 32, "vision_config"),
                            channels: try int(vc, "num_channels", 3, "vision_config"))
        guard vision.imageSize % vision.patchSize == 0 else {
            throw UnclipError.model("\(name): vision_config.image_size \(vision.imageSize) is not a multiple of patch_size \(vision.patchSize)")
        }
        let eos = (tc["eos_token_id"] as? NSNumber)?.intValue ?? 49407
        let text = Text(tower: try tower(tc, "text_config", hidden: 512, mlp: 2048, layers: 12, heads: 8),
                        vocabSize: try int(tc, "vocab_size", 49408, "text_config"),
                        maxPositions: try int(tc, "max_position_embeddings", 77, "text_config"),
                        eosTokenID: eos)
        let proj = try int(root, "projection_dim", 512, "config")
        return CLIPConfig(vision: vision, text: text, projectionDim: proj, towers: towers)
    }
}
