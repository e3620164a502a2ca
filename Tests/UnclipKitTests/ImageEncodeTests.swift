import Foundation
import XCTest
import UnclipKit

final class ImageEncodeTests: XCTestCase {
    func pattern(_ w: Int, _ h: Int, _ c: Int) -> Image {
        Image(width: w, height: h, channels: c, pixels: (0..<(w * h * c)).map { UInt8(truncatingIfNeeded: $0 * 37 + $0 / 7) })
    }

    func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("unclip-kit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: d) }
        return d
    }

    func testPNGRoundTripExactForEveryChannelCount() throws {
        for c in 1...4 {
            let img = pattern(13, 9, c)
            let (back, info) = try ImageCodec.decode(ImageCodec.encodePNG(img), name: "rt.png")
            XCTAssertEqual(back, img, "\(c) channels")
            XCTAssertEqual(info.channels, c)
            XCTAssertEqual(info.bitDepth, 8)
            XCTAssertEqual(info.colorType, ["gray", "gray+alpha", "RGB", "RGBA"][c - 1])
        }
    }

    func testPNGTextChunksReadBackWithLibpng() throws {
        let text = ["command": "unclip vary -n 4 --seed 7 a.png", "seed": "7", "model": "clip-vit-b32",
                    "source": "caf\u{e9}.png", "caption": "\u{5c71} at dawn"]
        let png = try ImageCodec.encodePNG(pattern(5, 4, 3), text: text)
        XCTAssertEqual(try ImageCodec.decode(png, name: "t.png").info.text, text)
        // Latin-1 values go in tEXt, others in iTXt; count the chunk types in the file.
        let kinds = chunkTypes(png)
        XCTAssertEqual(kinds.filter { $0 == "tEXt" }.count, 4, "\(kinds)")
        XCTAssertEqual(kinds.filter { $0 == "iTXt" }.count, 1, "\(kinds)")
    }

    func chunkTypes(_ png: [UInt8]) -> [String] {
        var out: [String] = []
        var i = 8
        while i + 8 <= png.count {
            let n = Int(png[i]) << 24 | Int(png[i + 1]) << 16 | Int(png[i + 2]) << 8 | Int(png[i + 3])
            out.append(String(decoding: png[(i + 4)..<(i + 8)], as: UTF8.self))
            i += 12 + n
        }
        return out
    }

    func testPNGEncodingIsDeterministic() throws {
        let img = pattern(13, 9, 4)
        XCTAssertEqual(try ImageCodec.encodePNG(img, text: ["seed": "1"]), try ImageCodec.encodePNG(img, text: ["seed": "1"]))
    }

    func testJPEGQualityChangesSize() throws {
        let img = try ImageCodec.read(KitFixtures.path("images/jpeg-photo420.jpg"))
        let low = try ImageCodec.encodeJPEG(img, quality: 20)
        let high = try ImageCodec.encodeJPEG(img, quality: 95)
        XCTAssertLessThan(low.count * 3 / 2, high.count, "q20 \(low.count) bytes, q95 \(high.count) bytes")
        // Higher quality is also closer to the original.
        func err(_ b: [UInt8]) throws -> Int {
            let d = try ImageCodec.decode(b, name: "q.jpg").image
            return zip(d.pixels, img.pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +)
        }
        XCTAssertLessThan(try err(high), try err(low))
    }

    func testJPEGRoundTripIsClose() throws {
        let img = try ImageCodec.read(KitFixtures.path("images/jpeg-photo420.jpg"))
        let (back, info) = try ImageCodec.decode(ImageCodec.encodeJPEG(img, quality: 95), name: "rt.jpg")
        XCTAssertEqual([back.width, back.height, back.channels], [61, 47, 3])
        XCTAssertEqual(info.format, .jpeg)
        XCTAssertFalse(info.interlaced)
        let mean = Double(zip(back.pixels, img.pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +)) / Double(img.pixels.count)
        XCTAssertLessThan(mean, 3.0)
    }

    func testJPEGOfGrayStaysGrayAndAlphaIsDropped() throws {
        let g = try ImageCodec.decode(ImageCodec.encodeJPEG(pattern(8, 8, 1)), name: "g.jpg")
        XCTAssertEqual(g.info.colorType, "gray")
        XCTAssertEqual(g.image.channels, 1)
        let rgba = try ImageCodec.decode(ImageCodec.encodeJPEG(pattern(8, 8, 4)), name: "a.jpg")
        XCTAssertEqual(rgba.image.channels, 3)
    }

    func testJPEGCarriesTextInAComment() throws {
        let jpg = try ImageCodec.encodeJPEG(pattern(8, 8, 3), text: ["seed": "42", "model": "m"])
        // COM marker (FF FE), then length, then the text.
        let needle = Array("model=m\nseed=42".utf8)
        let found = (0..<(jpg.count - needle.count)).contains { i in
            jpg[i] == 0xFF && jpg[i + 1] == 0xFE && Array(jpg[(i + 4)..<(i + 4 + needle.count)]) == needle
        }
        XCTAssertTrue(found)
    }

    func testWriteChoosesFormatFromExtension() throws {
        let d = try tempDir()
        let img = pattern(9, 7, 3)
        for (name, kind) in [("a.png", FileKind.png), ("b.jpg", .jpeg), ("c.JPEG", .jpeg), ("d.out", .png), ("e", .png)] {
            let p = d.appendingPathComponent(name).path
            try ImageCodec.write(img, to: p)
            XCTAssertEqual(FileKind.sniff(Array(try Data(contentsOf: URL(fileURLWithPath: p)))), kind, name)
        }
        let forced = d.appendingPathComponent("f.png").path
        try ImageCodec.write(img, to: forced, format: .jpeg)
        XCTAssertEqual(FileKind.sniff(Array(try Data(contentsOf: URL(fileURLWithPath: forced)))), .jpeg)
        XCTAssertEqual(ImageFormat(path: "-"), .png)
        XCTAssertEqual(ImageFormat(path: "x.Jpg"), .jpeg)
    }

    func testWrittenPNGKeepsPixelsAndText() throws {
        let d = try tempDir()
        let p = d.appendingPathComponent("out.png").path
        let img = pattern(13, 9, 2)
        try ImageCodec.write(img, to: p, text: ["seed": "3"])
        let (back, info) = try ImageCodec.decode(Array(try Data(contentsOf: URL(fileURLWithPath: p))), name: p)
        XCTAssertEqual(back, img)
        XCTAssertEqual(info.text, ["seed": "3"])
    }
}
