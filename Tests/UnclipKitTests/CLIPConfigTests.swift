import Foundation
import XCTest
import UnclipKit

/// The published OpenAI CLIP configs (the keys that matter, as on the hub)
/// load with every size taken from the file, and the weight map derived from
/// them has the checkpoint's tensor count and shapes.
final class CLIPConfigTests: XCTestCase {
    func config(vision: String, text: String, projection: Int, eos: Int = 2) throws -> CLIPConfig {
        let json = """
        {"model_type": "clip", "projection_dim": \(projection),
         "text_config": {\(text), "eos_token_id": \(eos), "hidden_act": "quick_gelu", "vocab_size": 49408,
                         "max_position_embeddings": 77, "layer_norm_eps": 1e-05},
         "vision_config": {\(vision), "hidden_act": "quick_gelu", "layer_norm_eps": 1e-05}}
        """
        return try CLIPConfig.parse(Data(json.utf8), name: "config.json")
    }

    let textB = #""hidden_size": 512, "intermediate_size": 2048, "num_hidden_layers": 12, "num_attention_heads": 8"#
    let textL = #""hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12"#

    func shape(_ params: [CLIPParameter], _ name: String) -> [Int]? { params.first { $0.name == name }?.shape }

    func testViTB32() throws {
        let c = try config(vision: #""hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12, "image_size": 224, "patch_size": 32"#,
                           text: textB, projection: 512)
        XCTAssertEqual(c.vision.tokens, 50)
        XCTAssertEqual(c.vision.tower.activation, .quickGELU)
        XCTAssertTrue(c.text.poolsAtLargestID)
        let v = CLIPWeightMap.vision(c), t = CLIPWeightMap.text(c)
        // 5 embedding/pre-LN tensors + 16 per layer + post-LN (2) + projection.
        XCTAssertEqual(v.count, 5 + 16 * 12 + 3)
        XCTAssertEqual(t.count, 2 + 16 * 12 + 3)
        XCTAssertEqual(shape(v, "vision_model.embeddings.patch_embedding.weight"), [768, 3, 32, 32])
        XCTAssertEqual(shape(t, "text_projection.weight"), [512, 512])
        // ViT-B/32's 151,277,313 parameters, less logit_scale.
        XCTAssertEqual((v + t).reduce(0) { $0 + $1.shape.reduce(1, *) }, 151_277_312)
    }

    func testViTB16() throws {
        let c = try config(vision: #""hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12, "image_size": 224, "patch_size": 16"#,
                           text: textB, projection: 512)
        XCTAssertEqual(shape(CLIPWeightMap.vision(c), "vision_model.embeddings.position_embedding.weight"), [197, 768])
    }

    func testViTL14And336() throws {
        for (size, tokens) in [(224, 257), (336, 577)] {
            let c = try config(vision: #""hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24, "num_attention_heads": 16, "image_size": \#(size), "patch_size": 14"#,
                               text: textL, projection: 768)
            let v = CLIPWeightMap.vision(c)
            XCTAssertEqual(shape(v, "vision_model.embeddings.position_embedding.weight"), [tokens, 1024])
            XCTAssertEqual(shape(v, "vision_model.encoder.layers.23.mlp.fc1.weight"), [4096, 1024])
            XCTAssertEqual(shape(v, "visual_projection.weight"), [768, 1024])
        }
    }

    func testDefaultsAreTransformersDefaults() throws {
        let c = try CLIPConfig.parse(Data(#"{"model_type": "clip"}"#.utf8), name: "c")
        XCTAssertEqual(c.vision.tower.hiddenSize, 768)
        XCTAssertEqual(c.vision.patchSize, 32)
        XCTAssertEqual(c.text.tower.heads, 8)
        XCTAssertEqual(c.text.eosTokenID, 49407)
        XCTAssertFalse(c.text.poolsAtLargestID)
        XCTAssertEqual(c.projectionDim, 512)
    }

    func testBadConfigsAreExplained() {
        func fails(_ json: String, _ part: String) {
            XCTAssertThrowsError(try CLIPConfig.parse(Data(json.utf8), name: "config.json")) { e in
                XCTAssertTrue("\(e)".contains(part), "\(e) should mention \(part)")
            }
        }
        fails(#"{"model_type": "siglip"}"#, "siglip")
        fails(#"{"vision_config": {"hidden_act": "swish"}}"#, "swish")
        fails(#"{"vision_config": {"image_size": 100, "patch_size": 32}}"#, "not a multiple")
        fails(#"{"text_config": {"hidden_size": 100, "num_attention_heads": 8}}"#, "not divisible")
        fails("[1]", "not a JSON object")
    }
}
