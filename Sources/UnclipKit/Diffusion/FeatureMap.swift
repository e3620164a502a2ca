/// A batch of images' activations, channels first: [B, C, H, W] in a
/// `Tensor`. The UNet runs guidance's two images as one batch, so that each
/// convolution transforms and packs its weights once for both.
struct FeatureMap {
    let data: Tensor
    var batch: Int { data.shape[0] }
    var channels: Int { data.shape[1] }
    var height: Int { data.shape[2] }
    var width: Int { data.shape[3] }
    var pixels: Int { height * width }
    /// Floats per image.
    var stride: Int { channels * pixels }

    init(batch: Int = 1, channels: Int, height: Int, width: Int) { data = Tensor(shape: [batch, channels, height, width]) }
    init(_ data: Tensor) { precondition(data.shape.count == 4); self.data = data }

    /// Image i's [C, H, W].
    func image(_ i: Int) -> UnsafeMutablePointer<Float> { data.data + i * stride }

    func copy() -> FeatureMap {
        let m = FeatureMap(batch: batch, channels: channels, height: height, width: width)
        m.data.data.update(from: data.data, count: data.count)
        return m
    }

    // The resampling ops work plane by plane, and a batch's planes are contiguous.
    func upsampled2() -> FeatureMap {
        let m = FeatureMap(batch: batch, channels: channels, height: 2 * height, width: 2 * width)
        Resampling2D.nearest(data.data, channels: batch * channels, height: height, width: width,
                             into: m.data.data, height: 2 * height, width: 2 * width)
        return m
    }

    func averagePooled2() -> FeatureMap {
        let m = FeatureMap(batch: batch, channels: channels, height: height / 2, width: width / 2)
        Resampling2D.averagePool2(data.data, channels: batch * channels, height: height, width: width, into: m.data.data)
        return m
    }

    /// Each image's channels of `self` then of `other` (same size): torch.cat(dim=1) of the UNet's skip connections.
    func concatenated(_ other: FeatureMap) -> FeatureMap {
        precondition(height == other.height && width == other.width && batch == other.batch)
        let m = FeatureMap(batch: batch, channels: channels + other.channels, height: height, width: width)
        for i in 0..<batch {
            m.image(i).update(from: image(i), count: stride)
            (m.image(i) + stride).update(from: other.image(i), count: other.stride)
        }
        return m
    }

    func apply(_ conv: Conv2d) -> FeatureMap {
        let (ho, wo) = conv.outputSize(height: height, width: width)
        let m = FeatureMap(batch: batch, channels: conv.outChannels, height: ho, width: wo)
        conv.forward(data.data, batch: batch, height: height, width: width, into: m.data.data)
        return m
    }
}
