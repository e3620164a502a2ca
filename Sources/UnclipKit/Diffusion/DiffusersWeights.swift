import Foundation

/// One diffusers component's weights (`unet/`, `movq/`), memory-mapped, and
/// checked strictly against what the model built from its config reads.
///
/// Modules are built from `config.json` and ask for each tensor by name and
/// the shape the config implies (`tensor(_:_:)`), so the model's
/// constructors are the name map. A request for a missing or misshaped
/// tensor is recorded and answered with zeros, so that `finish()` can then
/// report every problem at once, together with any stored tensor nothing
/// asked for; a model is only used after `finish()` returned.
public final class DiffusersWeights: @unchecked Sendable {
    public let directory: URL
    /// The checkpoint: a safetensors file, or a PyTorch `.bin` read by the restricted unpickler.
    let file: any TensorStore
    public let path: String
    /// Stored float types found, e.g. ["F16"].
    public private(set) var storedTypes = Set<String>()
    private var used = Set<String>()
    private var missing: [String] = [], misshaped: [String] = [], badType: [String] = []

    /// The weight files a component may have, in order of preference: full
    /// precision first, then the half-precision variant the hub also serves;
    /// a PyTorch pickle only where no safetensors file exists.
    public static let fileNames = ["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors",
                                   "diffusion_pytorch_model.bin", "diffusion_pytorch_model.fp16.bin"]

    public init(directory: URL) throws {
        self.directory = directory
        let fm = FileManager.default
        guard let name = Self.fileNames.first(where: { fm.fileExists(atPath: directory.appendingPathComponent($0).path) }) else {
            if fm.fileExists(atPath: directory.appendingPathComponent("diffusion_pytorch_model.safetensors.index.json").path) {
                throw UnclipError.model("\(directory.path): sharded checkpoints (diffusion_pytorch_model.safetensors.index.json) are not supported; merge the shards into one file")
            }
            throw UnclipError.model("\(directory.path): no weights (expected \(Self.fileNames.joined(separator: " or ")))")
        }
        path = directory.appendingPathComponent(name).path
        file = name.hasSuffix(".bin") ? try TorchPickle(path: path) : try SafeTensors(mappingFile: path)
    }

    /// The tensor `name`, which must have `shape`. F32 tensors are views into
    /// the mapping; F16 and BF16 are widened once into owned buffers.
    public func tensor(_ name: String, _ shape: [Int]) -> Tensor {
        used.insert(name)
        guard let (dtype, stored) = file.dtypeAndShape(name) else { missing.append(name); return Tensor(shape: shape) }
        guard stored == shape else {
            misshaped.append("\(name) has shape \(stored), the config implies \(shape)")
            return Tensor(shape: shape)
        }
        guard [.F32, .F16, .BF16].contains(dtype), let raw = try? file.raw(name) else {
            badType.append("\(name) is \(dtype.rawValue)")
            return Tensor(shape: shape)
        }
        storedTypes.insert(dtype.rawValue)
        if dtype == .F32, let base = raw.baseAddress, Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 {
            return Tensor(viewing: base.assumingMemoryBound(to: Float.self), shape: shape, owner: file)
        }
        return Tensor(shape: shape, values: (try? file.floats(name)) ?? [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    /// A view that prefixes every name with `prefix.`.
    public func scope(_ prefix: String) -> WeightScope { WeightScope(weights: self, prefix: prefix) }

    /// Throws one error naming every missing, misshaped, wrongly typed and unused tensor.
    public func finish() throws {
        let unused = file.names.filter { !used.contains($0) }
        func list(_ xs: [String]) -> String { xs.prefix(3).joined(separator: ", ") + (xs.count > 3 ? " and \(xs.count - 3) more" : "") }
        var problems: [String] = []
        if !missing.isEmpty { problems.append("missing tensor\(missing.count > 1 ? "s" : "") \(list(missing))") }
        if !unused.isEmpty { problems.append("unused tensor\(unused.count > 1 ? "s" : "") \(list(unused)) (not part of the model config.json describes)") }
        if !misshaped.isEmpty { problems.append("wrong shape: \(list(misshaped))") }
        if !badType.isEmpty { problems.append("unsupported type (F32, F16 or BF16 only): \(list(badType))") }
        if !problems.isEmpty { throw UnclipError.model("\(path): " + problems.joined(separator: "; ")) }
    }
}

/// Names relative to a module's prefix in the state dict.
public struct WeightScope {
    let weights: DiffusersWeights
    let prefix: String

    public func callAsFunction(_ name: String, _ shape: [Int]) -> Tensor {
        weights.tensor(prefix.isEmpty ? name : "\(prefix).\(name)", shape)
    }

    public func scope(_ name: String) -> WeightScope {
        WeightScope(weights: weights, prefix: prefix.isEmpty ? name : "\(prefix).\(name)")
    }

    public func linear(_ name: String, in i: Int, out o: Int, bias: Bool = true) -> Linear {
        Linear(weight: self("\(name).weight", [o, i]), bias: bias ? self("\(name).bias", [o]) : nil)
    }

    public func conv(_ name: String, in i: Int, out o: Int, kernel k: Int, stride: Int = 1,
                     padding: (top: Int, left: Int, bottom: Int, right: Int)? = nil, bias: Bool = true) -> Conv2d {
        let p = k / 2
        return Conv2d(weight: self("\(name).weight", [o, i, k, k]), bias: bias ? self("\(name).bias", [o]) : nil,
                      stride: stride, padding: padding ?? (p, p, p, p))
    }

    public func groupNorm(_ name: String, channels c: Int, groups: Int, eps: Float) -> GroupNorm {
        GroupNorm(weight: self("\(name).weight", [c]), bias: self("\(name).bias", [c]), groups: groups, eps: eps)
    }

    public func layerNorm(_ name: String, features d: Int, eps: Float = 1e-5) -> LayerNorm {
        LayerNorm(weight: self("\(name).weight", [d]), bias: self("\(name).bias", [d]), eps: eps)
    }
}
