/// One image's activations, channels first: [C, H, W] in a `Tensor`.
struct FeatureMap {
    let data: Tensor
    var channels: Int { data.shape[0] }
    var height: Int { data.shape[1] }
    var width: Int { data.shape[2] }
    var pixels: Int { height * width }

    init(channels: Int, height: Int, width: Int) { data = Tensor(shape: [channels, height, width]) }
    init(_ data: Tensor) { precondition(data.shape.count == 3); self.data = data }

    /// Image `i` of a batch [B, C, H, W], copied.
    init(batch: Tensor, index i: Int) {
        let (c, h, w) = (batch.shape[1], batch.shape[2], batch.shape[3])
        self.init(channels: c, height: h, width: w)
        data.data.update(from: batch.data + i * c * h * w, count: c * h * w)
    }

    func copy() -> FeatureMap {
        let m = FeatureMap(channels: channels, height: height, width: width)
        m.data.data.update(from: data.data, count: data.count)
        return m
    }

    func upsampled2() -> FeatureMap {
        let m = FeatureMap(channels: channels, height: 2 * height, width: 2 * width)
        Resampling2D.nearest(data.data, channels: channels, height: height, width: width, into: m.data.data, height: 2 * height, width: 2 * width)
        return m
    }

    func averagePooled2() -> FeatureMap {
        let m = FeatureMap(channels: channels, height: height / 2, width: width / 2)
        Resampling2D.averagePool2(data.data, channels: channels, height: height, width: width, into: m.data.data)
        return m
    }

    /// Channels of `self` then of `other` (same size): torch.cat(dim=1) of the UNet's skip connections.
    func concatenated(_ other: FeatureMap) -> FeatureMap {
        precondition(height == other.height && width == other.width)
        let m = FeatureMap(channels: channels + other.channels, height: height, width: width)
        m.data.data.update(from: data.data, count: data.count)
        (m.data.data + data.count).update(from: other.data.data, count: other.data.count)
        return m
    }

    func apply(_ conv: Conv2d) -> FeatureMap {
        let (ho, wo) = conv.outputSize(height: height, width: width)
        let m = FeatureMap(channels: conv.outChannels, height: ho, width: wo)
        conv.forward(data.data, height: height, width: width, into: m.data.data)
        return m
    }
}
