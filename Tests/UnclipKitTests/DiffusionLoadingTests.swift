import Foundation
import XCTest
import UnclipKit

/// Loading diffusers components: every stored type, the strict name and
/// shape check, and configs outside the supported subset, each failing with
/// a message that names the problem.
final class DiffusionLoadingTests: XCTestCase {
    typealias F = DiffusionFixtures

    /// A copy of `component` (e.g. tiny-a's unet) in a temporary folder, with its tensors and config edited.
    func edited(_ component: String, tensors edit: (inout [SafeTensors.Entry]) -> Void = { _ in },
                config editConfig: (inout [String: Any]) -> Void = { _ in }) throws -> URL {
        let src = F.url("tiny-a", component)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("unclip-diffusion-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let st = try SafeTensors(mappingFile: src.appendingPathComponent("diffusion_pytorch_model.safetensors").path)
        var entries = try st.names.map { n in SafeTensors.Entry(name: n, dtype: st.tensors[n]!.dtype, shape: st.tensors[n]!.shape, data: try st.bytes(n)) }
        edit(&entries)
        try Data(SafeTensors.serialize(entries, metadata: [:])).write(to: dir.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        var cfg = try JSONSerialization.jsonObject(with: Data(contentsOf: src.appendingPathComponent("config.json"))) as! [String: Any]
        editConfig(&cfg)
        try JSONSerialization.data(withJSONObject: cfg).write(to: dir.appendingPathComponent("config.json"))
        return dir
    }

    func assertModelError(_ body: @autoclosure () throws -> Any, contains parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { e in
            guard let u = e as? UnclipError, case .model = u else { return XCTFail("not a model error: \(e)", file: file, line: line) }
            for p in parts { XCTAssertTrue(u.description.contains(p), "\"\(u.description)\" lacks \"\(p)\"", file: file, line: line) }
        }
    }

    func testEveryStoredTypeLoads() throws {
        let a = try UNet2DConditionModel(directory: F.url("tiny-a", "decoder/unet"))
        XCTAssertEqual(a.weights.storedTypes, ["F32"])
        // tiny-b's UNet exists only as the fp16 variant, its MoVQ in bf16; their parity tests pass on those bytes.
        let b = try UNet2DConditionModel(directory: F.url("tiny-b", "decoder/unet"))
        XCTAssertEqual(b.weights.storedTypes, ["F16"])
        XCTAssertTrue(b.weights.path.hasSuffix("diffusion_pytorch_model.fp16.safetensors"))
        XCTAssertEqual(try MoVQ(directory: F.url("tiny-b", "decoder/movq")).weights.storedTypes, ["BF16"])
    }

    func testAComponentWithOnlyAPyTorchPickleLoadsThroughTheRestrictedReader() throws {
        func folder(config: String, weights: String, as variant: String) throws -> URL {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("unclip-bin-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
            try FileManager.default.copyItem(at: F.url("tiny-a", config), to: dir.appendingPathComponent("config.json"))
            try FileManager.default.copyItem(at: KitFixtures.root.appendingPathComponent("diffusion/pickle/\(weights)"),
                                             to: dir.appendingPathComponent(variant))
            return dir
        }
        let ref = try F.reference("tiny-a")
        let sample = try ref.tensor("unet/sample"), embeds = try ref.tensor("unet/image_embeds")
        let fromSafetensors = try UNet2DConditionModel(directory: F.url("tiny-a", "decoder/unet"))
        for (file, variant) in [("unet.bin", "diffusion_pytorch_model.bin"), ("unet-legacy.bin", "diffusion_pytorch_model.fp16.bin")] {
            let fromPickle = try UNet2DConditionModel(directory: try folder(config: "decoder/unet/config.json", weights: file, as: variant))
            XCTAssertTrue(fromPickle.weights.path.hasSuffix(variant))
            XCTAssertEqual(fromPickle(sample, timestep: 500, imageEmbeds: embeds).toArray(),
                           fromSafetensors(sample, timestep: 500, imageEmbeds: embeds).toArray(), file)
        }
        // A pickle that would run code is refused before anything is built from it.
        let evil = try folder(config: "decoder/movq/config.json", weights: "evil-global.bin", as: "diffusion_pytorch_model.bin")
        XCTAssertThrowsError(try MoVQ(directory: evil)) { XCTAssertTrue("\($0)".contains("refused"), "\($0)") }
    }

    func testMissingUnusedAndMisshapedTensorsAreNamed() throws {
        let missing = try edited("decoder/unet") { $0.removeAll { $0.name == "mid_block.attentions.0.to_q.weight" } }
        assertModelError(try UNet2DConditionModel(directory: missing), contains: ["missing tensor mid_block.attentions.0.to_q.weight"])

        let unused = try edited("decoder/unet") { $0.append(.f32("mid_block.attentions.0.extra", [1, 2], shape: [2])) }
        assertModelError(try UNet2DConditionModel(directory: unused), contains: ["unused tensor mid_block.attentions.0.extra"])

        let misshaped = try edited("decoder/unet") { entries in
            let i = entries.firstIndex { $0.name == "conv_in.bias" }!
            entries[i] = .f32("conv_in.bias", [Float](repeating: 0, count: entries[i].shape[0] + 1), shape: [entries[i].shape[0] + 1])
        }
        assertModelError(try UNet2DConditionModel(directory: misshaped), contains: ["wrong shape", "conv_in.bias has shape"])

        let ints = try edited("decoder/movq") { entries in
            let i = entries.firstIndex { $0.name == "quant_conv.bias" }!
            entries[i] = SafeTensors.Entry(name: "quant_conv.bias", dtype: .I32, shape: entries[i].shape, data: entries[i].data)
        }
        assertModelError(try MoVQ(directory: ints), contains: ["quant_conv.bias is I32"])
    }

    func testTruncatedCheckpointIsAnErrorNotACrash() throws {
        let dir = try edited("decoder/unet")
        let file = dir.appendingPathComponent("diffusion_pytorch_model.safetensors")
        let bytes = try Data(contentsOf: file)
        try bytes.prefix(bytes.count / 2).write(to: file)
        XCTAssertThrowsError(try UNet2DConditionModel(directory: dir)) { e in
            XCTAssertTrue("\(e)".contains("truncated"), "\(e)")
        }
    }

    func testConfigOptionsOutsideTheSubsetAreNamed() throws {
        let block = try edited("decoder/unet", config: { $0["down_block_types"] = ["CrossAttnDownBlock2D", "SimpleCrossAttnDownBlock2D"] })
        assertModelError(try UNet2DConditionModel(directory: block), contains: ["down block type \"CrossAttnDownBlock2D\" is not supported"])
        let mid = try edited("decoder/unet", config: { $0["mid_block_type"] = "UNetMidBlock2DCrossAttn" })
        assertModelError(try UNet2DConditionModel(directory: mid), contains: ["mid_block_type", "UNetMidBlock2DCrossAttn"])
        let classEmbed = try edited("decoder/unet", config: { $0["class_embed_type"] = "timestep" })
        assertModelError(try UNet2DConditionModel(directory: classEmbed), contains: ["class_embed_type = timestep is not supported"])
        let norm = try edited("decoder/movq", config: { $0["norm_type"] = "ada_group" })
        assertModelError(try MoVQ(directory: norm), contains: ["norm_type \"ada_group\" is not supported"])
        let groups = try edited("decoder/unet", config: { $0["norm_num_groups"] = 5 })
        assertModelError(try UNet2DConditionModel(directory: groups), contains: ["not divisible by norm_num_groups 5"])
    }

    func testSchedulersAreBuiltFromTheCheckpointsConfig() throws {
        let cfg = try DiffusersConfig.load(F.url("tiny-a", "decoder/scheduler/scheduler_config.json"))
        XCTAssertTrue(try Schedulers.make(cfg) is DDPMScheduler, "the checkpoint's own class")
        XCTAssertTrue(try Schedulers.make(cfg, kind: .ddim) is DDIMScheduler)
        XCTAssertTrue(try Schedulers.make(cfg, kind: .dpmpp) is DPMSolverMultistepScheduler)
        let euler = DiffusersConfig(values: ["_class_name": "EulerDiscreteScheduler"], name: "scheduler_config.json")
        XCTAssertThrowsError(try Schedulers.make(euler)) { XCTAssertTrue("\($0)".contains("EulerDiscreteScheduler is not supported"), "\($0)") }
        let karras = DiffusersConfig(values: cfg.values.merging(["use_karras_sigmas": true]) { $1 }, name: "scheduler_config.json")
        XCTAssertThrowsError(try Schedulers.make(karras, kind: .dpmpp)) { XCTAssertTrue("\($0)".contains("use_karras_sigmas"), "\($0)") }
        let s = try Schedulers.make(cfg)
        XCTAssertThrowsError(try s.setTimesteps(0))
        XCTAssertThrowsError(try s.setTimesteps(1001))
    }

    /// Found by fuzzing: a negative steps_offset made timestep -1, and a
    /// large one with "leading" spacing indexed past ᾱ's table.
    func testStepsOffsetMustKeepEveryTimestepInsideTheSchedule() throws {
        let cfg = try DiffusersConfig.load(F.url("tiny-a", "decoder/scheduler/scheduler_config.json"))
        func with(_ extra: [String: Any]) -> DiffusersConfig {
            DiffusersConfig(values: cfg.values.merging(extra) { $1 }, name: "scheduler_config.json")
        }
        XCTAssertThrowsError(try Schedulers.make(with(["steps_offset": -1]))) {
            XCTAssertTrue("\($0)".contains("steps_offset -1 is outside the 1000 training timesteps"), "\($0)")
        }
        let late = with(["steps_offset": 600, "timestep_spacing": "leading", "num_train_timesteps": 1000])
        for kind in [SchedulerKind.ddpm, .ddim, .dpmpp] {
            let s = try Schedulers.make(late, kind: kind)
            XCTAssertThrowsError(try s.setTimesteps(2), "\(kind)") {
                XCTAssertTrue("\($0)".contains("steps_offset 600 puts timestep"), "\($0)")
            }
            XCTAssertNoThrow(try Schedulers.make(with(["steps_offset": 1, "timestep_spacing": "leading"]), kind: kind).setTimesteps(25))
        }
    }

    func testADecoderFolderNeedsAllItsParts() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("unclip-decoder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("unet"), withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        assertModelError(try KandinskyDecoder(directory: dir), contains: ["no movq/"])
    }
}
