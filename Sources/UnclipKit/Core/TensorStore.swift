/// A checkpoint's named tensors, read in place: a safetensors file or a
/// PyTorch pickle. Weight loaders look tensors up through this, whatever
/// the container.
protocol TensorStore: AnyObject {
    /// Names in storage order.
    var names: [String] { get }
    func dtypeAndShape(_ name: String) -> (SafeTensors.DType, [Int])?
    /// The tensor's bytes in place, valid while the store lives.
    func raw(_ name: String) throws -> UnsafeRawBufferPointer
    /// The tensor widened to f32.
    func floats(_ name: String) throws -> [Float]
}

extension SafeTensors: TensorStore {
    func dtypeAndShape(_ name: String) -> (SafeTensors.DType, [Int])? { tensors[name].map { ($0.dtype, $0.shape) } }
}

extension TorchPickle: TensorStore {
    func dtypeAndShape(_ name: String) -> (SafeTensors.DType, [Int])? { tensors[name].map { ($0.dtype, $0.shape) } }
}
