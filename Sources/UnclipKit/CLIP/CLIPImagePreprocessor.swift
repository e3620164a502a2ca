import Foundation

/// CLIP's image preprocessing, matching Hugging Face `CLIPImageProcessor`
/// (transformers 5.23 on Pillow 13; without torchvision installed
/// `CLIPImageProcessor.from_pretrained` gives the Pillow backend,
/// `CLIPImageProcessorPil`):
///
///  1. to RGB; an alpha channel is composited over white, as
///     `transformers.image_transforms.convert_to_rgb` does with
///     `PIL.Image.alpha_composite`;
///  2. the shortest side is resized to `size` and the long side to
///     `int(size * long / short)` (`get_resize_output_image_size`,
///     `default_to_square=False`) with Pillow's bicubic resampling
///     (`PillowResample`);
///  3. a `cropSize` square is cut from the centre, padding with black when the
///     image is smaller (`center_crop`);
///  4. `x * (1/255)` in double, rounded to float, then `(x - mean) / std` in
///     float, as numpy does it there.
///
/// The result equals the Pillow backend's bit for bit (PreprocessParityTests).
/// With torchvision installed, `from_pretrained` would pick the torchvision
/// backend instead, whose float resize (rounded to uint8 once, at the end)
/// differs from Pillow's by up to a few levels on photos (max |diff| 0.015 to
/// 0.057 after normalisation on the fixtures, 0.165 on a synthetic
/// high-contrast alpha pattern); Fixtures/reference/compare_torchvision_backend.py
/// measures it. The issue asks for Pillow's resampling, which is also what
/// CLIP was trained with.
public struct CLIPImagePreprocessor: Sendable, Equatable {
    /// Target length of the shortest side after resizing.
    public let size: Int
    /// Side of the square centre crop; the output is [3, cropSize, cropSize].
    public let cropSize: Int
    public let mean: [Float]
    public let std: [Float]

    /// OpenAI CLIP's normalisation (`OPENAI_CLIP_MEAN`/`OPENAI_CLIP_STD` in transformers).
    public static let clipMean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    public static let clipStd: [Float] = [0.26862954, 0.26130258, 0.27577711]

    public init(size: Int, cropSize: Int, mean: [Float], std: [Float]) {
        precondition(size > 0 && cropSize > 0 && mean.count == 3 && std.count == 3)
        self.size = size; self.cropSize = cropSize; self.mean = mean; self.std = std
    }

    /// Reads `preprocessor_config.json` from a model directory, or uses CLIP's
    /// defaults (224, OpenAI mean/std) when the file is absent.
    public init(modelDirectory: URL) throws {
        let url = modelDirectory.appendingPathComponent("preprocessor_config.json")
        guard FileManager.default.fileExists(atPath: url.path) else {
            self.init(size: 224, cropSize: 224, mean: Self.clipMean, std: Self.clipStd)
            return
        }
        try self.init(configData: Data(IO.read(url.path)), name: url.path)
    }

    /// Parses a `preprocessor_config.json` (`name` for messages).
    public init(configData: Data, name: String) throws {
        guard let json = try? JSONSerialization.jsonObject(with: configData) as? [String: Any] else {
            throw UnclipError.model("\(name): not a JSON object")
        }
        func side(_ key: String, _ inner: [String], default d: Int) throws -> Int {
            guard let v = json[key] else { return d }
            if let n = v as? Int { return n }
            if let dict = v as? [String: Any] {
                let values = inner.compactMap { dict[$0] as? Int }
                if let first = values.first, values.allSatisfy({ $0 == first }), values.count == inner.count || inner == ["shortest_edge"] {
                    return first
                }
            }
            throw UnclipError.model("\(name): unsupported \(key) \(v) (unclip needs a shortest edge and a square crop)")
        }
        let size = try side("size", ["shortest_edge"], default: 224)
        let crop = try side("crop_size", ["height", "width"], default: 224)
        func floats(_ key: String, _ d: [Float]) throws -> [Float] {
            guard let v = json[key] else { return d }
            if let a = v as? [NSNumber], a.count == 3 { return a.map { $0.floatValue } }
            if let n = v as? NSNumber { return [Float](repeating: n.floatValue, count: 3) }
            throw UnclipError.model("\(name): \(key) must be three numbers")
        }
        let mean = try floats("image_mean", Self.clipMean)
        let std = try floats("image_std", Self.clipStd)
        if let r = json["resample"] as? Int, r != 3 {
            throw UnclipError.model("\(name): resample \(r) is not supported (unclip resizes with bicubic, 3)")
        }
        for key in ["do_resize", "do_center_crop", "do_normalize", "do_rescale"] {
            if let b = json[key] as? Bool, !b {
                throw UnclipError.model("\(name): \(key)=false is not supported")
            }
        }
        if let f = json["rescale_factor"] as? Double, abs(f - 1.0 / 255.0) > 1e-12 {
            throw UnclipError.model("\(name): rescale_factor \(f) is not supported (only 1/255)")
        }
        guard size > 0, crop > 0, std.allSatisfy({ $0 != 0 }) else {
            throw UnclipError.model("\(name): sizes must be positive and std non-zero")
        }
        self.init(size: size, cropSize: crop, mean: mean, std: std)
    }

    /// The model input for a batch: [N, 3, cropSize, cropSize]. Resizing is
    /// single-threaded per image; images are independent, so they are spread
    /// over the threads the GEMMs will use next.
    public func pixels(_ images: [Image]) -> [Float] {
        let per = 3 * cropSize * cropSize
        var out = [Float](repeating: 0, count: images.count * per)
        out.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            Parallel.rows(images.count, minRows: 1) { range in
                for i in range {
                    pixels(images[i]).withUnsafeBufferPointer { (base + i * per).update(from: $0.baseAddress!, count: per) }
                }
            }
        }
        return out
    }

    /// The model input for one image: [3, cropSize, cropSize], channel-major.
    public func pixels(_ image: Image) -> [Float] {
        let rgb = Self.rgbOverWhite(image)
        let (h, w) = resizedShape(height: rgb.height, width: rgb.width)
        let c = cropSize
        // [c, c, 3] interleaved after the crop, zeros where the crop overhangs.
        // numpy's center_crop: offset (size − crop) // 2, floor division even
        // when negative (the crop then overhangs and reads the zero padding).
        let top = Self.floorHalf(h - c), left = Self.floorHalf(w - c)
        // Only the part of the resized image that the crop keeps is computed
        // (a third of the resize, for a 3:2 photo).
        let rows = (top..<top + c).clamped(to: 0..<h), columns = (left..<left + c).clamped(to: 0..<w)
        let kept = PillowResample.bicubic(rgb, width: w, height: h, rows: rows, columns: columns)
        var out = [Float](repeating: 0, count: 3 * c * c)
        var lut = [[Float]](repeating: [], count: 3)
        for ch in 0..<3 {
            // x/255 in double then float, then float arithmetic: numpy's order.
            lut[ch] = (0..<256).map { v in (Float(Double(v) * (1.0 / 255.0)) - mean[ch]) / std[ch] }
        }
        for y in 0..<c {
            let sy = y + top
            for x in 0..<c {
                let sx = x + left
                let inside = rows.contains(sy) && columns.contains(sx)
                let i = ((sy - rows.lowerBound) * kept.width + sx - columns.lowerBound) * 3
                for ch in 0..<3 {
                    let v = inside ? Int(kept.pixels[i + ch]) : 0
                    out[(ch * c + y) * c + x] = lut[ch][v]
                }
            }
        }
        return out
    }

    static func floorHalf(_ v: Int) -> Int { v >= 0 ? v / 2 : -((-v + 1) / 2) }

    /// (height, width) after resizing the shortest side to `size`.
    public func resizedShape(height: Int, width: Int) -> (Int, Int) {
        let short = min(width, height), long = max(width, height)
        // Python's int(size * long / short): true division, then truncation.
        let newLong = Int(Double(size * long) / Double(short))
        return width <= height ? (newLong, size) : (size, newLong)
    }

    /// RGB with any alpha composited over opaque white using Pillow's
    /// `alpha_composite` fixed-point arithmetic (7 extra bits, rounded /255).
    static func rgbOverWhite(_ image: Image) -> Image {
        guard image.hasAlpha else { return image.rgb() }
        let n = image.pixelCount, ch = image.channels
        var out = [UInt8](repeating: 0, count: n * 3)
        for i in 0..<n {
            let a = UInt32(image.pixels[i * ch + ch - 1])
            for c in 0..<3 {
                let s = UInt32(image.pixels[i * ch + (ch == 2 ? 0 : c)])
                if a == 0 { out[i * 3 + c] = 255; continue }
                // With an opaque white background coef1 = a·128, coef2 = (255 − a)·128.
                let t = s * (a << 7) + 255 * ((255 - a) << 7) + (0x80 << 7)
                out[i * 3 + c] = UInt8((((t >> 8) + t) >> 8) >> 7)
            }
        }
        return Image(width: image.width, height: image.height, channels: 3, pixels: out)
    }
}
