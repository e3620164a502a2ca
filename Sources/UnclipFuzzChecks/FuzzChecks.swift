import Foundation
import UnclipKit

/// What each fuzz target does with one input (fuzz/README.md): feed it to
/// a parser the way unclip does, and check what comes back. A parser may
/// refuse any input with an error; it must never crash, hang, leak or
/// allocate without bound, and what it accepts must be consistent. The
/// libFuzzer binary (fuzz/) and the regression tests of the normal suite
/// (every finding's input, and the seed corpora) run these same functions.
public enum FuzzChecks {
    public static let targets = ["png", "jpeg", "safetensors", "emb", "config", "tokenizer", "mask", "pickle"]

    /// Runs target `name` on `bytes`; a broken invariant aborts.
    public static func run(_ name: String, _ bytes: [UInt8]) {
        switch name {
        case "png": image(bytes, name: "fuzz.png")
        case "jpeg": image(bytes, name: "fuzz.jpg")
        case "safetensors": safetensors(bytes)
        case "emb": emb(bytes)
        case "config": config(bytes)
        case "tokenizer": tokenizer(bytes)
        case "mask": mask(bytes)
        case "pickle": pickle(bytes)
        default: fail("no fuzz target \"\(name)\" (\(targets.joined(separator: ", ")))")
        }
    }

    /// Pixel limit of the image targets (512 × 512): the code path of the
    /// real limit, scaled down so that a valid, highly compressed large
    /// image cannot spend the time budget legitimately, and executions stay fast.
    public static let maxPixels = 1 << 18

    /// A broken invariant: abort, so that libFuzzer records the input.
    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("fuzz invariant: \(message)\n".utf8))
        abort()
    }

    /// PNG and JPEG through the libpng and libjpeg wrappers: every colour
    /// type and depth, progressive and CMYK JPEG, EXIF orientation and the
    /// pixel limit.
    static func image(_ bytes: [UInt8], name: String) {
        guard let (image, info) = try? ImageCodec.decode(bytes, name: name, maxPixels: maxPixels) else { return }
        guard image.width > 0, image.height > 0, image.width * image.height <= maxPixels,
              image.pixels.count == image.width * image.height * image.channels else {
            fail("decoded \(image.width)x\(image.height)x\(image.channels) with \(image.pixels.count) bytes (\(info))")
        }
    }

    /// The safetensors container: header length, header JSON, dtypes,
    /// shapes and data offsets, then every tensor it lists read back.
    static func safetensors(_ bytes: [UInt8]) {
        guard let st = try? SafeTensors(bytes: bytes, name: "fuzz.safetensors") else { return }
        guard st.byteCount <= bytes.count else { fail("container of \(st.byteCount) bytes in \(bytes.count)") }
        for name in st.names {
            guard let info = try? st.info(name), let raw = try? st.raw(name) else { fail("listed tensor \(name) unreadable") }
            guard raw.count == info.count * info.dtype.size else { fail("\(name): \(raw.count) bytes for \(info.shape)") }
            if [.F32, .F16, .BF16, .F64].contains(info.dtype) {
                guard let v = try? st.floats(name), v.count == info.count else { fail("\(name): widening failed") }
            }
        }
    }

    /// `.emb` records and streams of them, with exemplars and latents: a
    /// record that reads writes back to bytes that read to the same bytes.
    static func emb(_ bytes: [UInt8]) {
        guard let records = try? EmbeddingFile.parseStream(bytes, name: "fuzz.emb") else { return }
        for r in records {
            let once = r.serialize()
            guard let back = try? EmbeddingFile.parse(once, name: "fuzz re-read") else { fail("a written record does not read") }
            guard back.serialize() == once else { fail("a record changes when written and read again") }
        }
    }

    /// Every JSON config on the same bytes: CLIP's config.json and
    /// preprocessor_config.json, and the diffusers ones (UNet, MoVQ, the
    /// prior, every scheduler with a few runs of set_timesteps).
    static func config(_ bytes: [UInt8]) {
        let d = Data(bytes)
        _ = try? CLIPConfig.parse(d, name: "config.json")
        _ = try? CLIPImagePreprocessor(configData: d, name: "preprocessor_config.json")
        guard let c = try? DiffusersConfig.parse(d, name: "config.json") else { return }
        _ = try? UNetConfig.parse(c)
        _ = try? MoVQConfig.parse(c)
        _ = try? PriorTransformer.Config.parse(c)
        for kind in [nil] + SchedulerKind.allCases.map(Optional.some) {
            guard let s = try? Schedulers.make(c, kind: kind) else { continue }
            for n in [1, 2, 25] {
                guard (try? s.setTimesteps(n)) != nil else { continue }
                guard s.timesteps.count == n, s.timesteps.allSatisfy({ $0 >= 0 && $0 < s.schedule.trainSteps }) else {
                    fail("\(type(of: s)) made timesteps \(s.timesteps.prefix(8)) for \(n) steps of \(s.schedule.trainSteps)")
                }
            }
        }
    }

    /// The repository's real CLIP vocabulary ($UNCLIP_FUZZ_ROOT, else the
    /// working directory, is the repository root).
    static let vocabulary: CLIPTokenizer = {
        let root = ProcessInfo.processInfo.environment["UNCLIP_FUZZ_ROOT"] ?? FileManager.default.currentDirectoryPath
        let dir = URL(fileURLWithPath: root).appendingPathComponent("Fixtures/clip-vocab")
        guard let t = try? CLIPTokenizer(vocabPath: dir.appendingPathComponent("vocab.json").path,
                                         mergesPath: dir.appendingPathComponent("merges.txt").path) else {
            fail("no vocabulary at \(dir.path): run from the repository root or set UNCLIP_FUZZ_ROOT")
        }
        return t
    }()

    /// The tokenizer on arbitrary bytes; invalid UTF-8 becomes U+FFFD, as a
    /// caption read from the command line does.
    static func tokenizer(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self), tok = vocabulary
        let (ids, truncated) = tok.encodeNoting(text)
        guard ids.count >= 2, ids.count <= tok.contextLength, ids.first == tok.bosID, ids.last == tok.eosID,
              !truncated || ids.count == tok.contextLength, ids.allSatisfy({ $0 >= 0 && $0 < tok.vocabularySize }) else {
            fail("bad ids \(ids) for \(text.debugDescription)")
        }
    }

    /// Mask handling as `unclip inpaint` does it (`InpaintMask.prepare`).
    /// Input: 11 bytes of options, then an image.
    ///   byte 0: bit 0 invert, bit 1 a separate mask (else the image's
    ///           alpha), bit 2 extend, bit 3 a mask one pixel narrower than
    ///           the image, bits 4, 5 grow, feather × 64
    ///   bytes 1, 2: grow, feather
    ///   bytes 3-10: extend left, top, right, bottom, 16 bits little-endian
    static func mask(_ bytes: [UInt8]) {
        guard bytes.count > 11,
              let decoded = try? ImageCodec.decode(Array(bytes[11...]), name: "mask.png", maxPixels: maxPixels).image else { return }
        let flags = bytes[0]
        let grow = Int(bytes[1]) * (flags & 16 != 0 ? 64 : 1), feather = Int(bytes[2]) * (flags & 32 != 0 ? 64 : 1)
        func u16(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 }
        let extend = flags & 4 != 0 ? (u16(3), u16(5), u16(7), u16(9)) : nil
        let separate = flags & 2 != 0
        let image = separate
            ? Image(width: decoded.width + (flags & 8 != 0 ? 1 : 0), height: decoded.height, channels: 3, fill: 128) : decoded
        guard let (out, hole) = try? InpaintMask.prepare(image: image, name: "image.png", mask: separate ? decoded : nil,
                                                        maskName: separate ? "mask.png" : nil, invert: flags & 1 != 0,
                                                        extend: extend, grow: grow, feather: feather, maxPixels: maxPixels) else { return }
        guard hole.count == out.width * out.height, out.pixels.count == out.width * out.height * out.channels,
              hole.allSatisfy({ $0 >= 0 && $0 <= 1 }), hole.contains(where: { $0 > 0 }), hole.contains(where: { $0 < 1 }) else {
            fail("a hole of \(hole.count) values for \(out.width)x\(out.height)")
        }
    }

    /// The restricted unpickler for PyTorch `.bin` checkpoints, zip and
    /// legacy layouts: a state dict of tensors reads, anything else is refused.
    static func pickle(_ bytes: [UInt8]) {
        guard let p = try? TorchPickle(bytes: bytes, name: "fuzz.bin") else { return }
        for name in p.names {
            guard let info = p.info(name), let raw = try? p.raw(name) else { fail("listed tensor \(name) unreadable") }
            guard info.begin >= 0, info.end <= bytes.count, raw.count == info.end - info.begin else { fail("\(name) outside the file") }
            _ = try? p.floats(name)
        }
    }
}
