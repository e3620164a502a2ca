import Foundation
import XCTest
import UnclipKit

/// Damaged, unsupported and oversized inputs: one clear error, never a crash.
final class ImageErrorTests: XCTestCase {
    func message(_ bytes: [UInt8], name: String, maxPixels: Int = ImageCodec.defaultMaxPixels) -> String? {
        do {
            _ = try ImageCodec.decode(bytes, name: name, maxPixels: maxPixels)
            return nil
        } catch let e as UnclipError {
            XCTAssertFalse(e.isUsage)
            XCTAssertFalse(e.description.contains("\n"), "one line: \(e)")
            return e.description
        } catch {
            XCTFail("unexpected error type \(error)")
            return nil
        }
    }

    func testTruncatedPNGAtEveryStage() throws {
        let png = try KitFixtures.bytes("images/png-rgba16-adam7.png")
        // Inside the signature/IHDR, inside IDAT, and just before IEND.
        for cut in [12, 30, png.count / 2, png.count - 13] {
            let m = message(Array(png.prefix(cut)), name: "t.png")
            XCTAssertNotNil(m, "cut at \(cut) decoded")
            XCTAssertTrue(m?.hasPrefix("t.png: ") ?? false, m ?? "")
            XCTAssertTrue(m?.contains("truncated") ?? false, m ?? "")
        }
    }

    func testTruncatedJPEG() throws {
        for f in ["jpeg-photo420.jpg", "jpeg-photo-progressive.jpg"] {
            let jpg = try KitFixtures.bytes("images/" + f)
            for cut in [3, 100, jpg.count / 2, jpg.count - 2] {
                let m = message(Array(jpg.prefix(cut)), name: "t.jpg")
                XCTAssertNotNil(m, "\(f) cut at \(cut) decoded")
                XCTAssertTrue(m?.hasPrefix("t.jpg: ") ?? false, m ?? "")
            }
        }
    }

    func testCorruptPNGChecksum() throws {
        var png = try KitFixtures.bytes("images/png-rgb8.png")
        png[50] ^= 0xFF  // inside the first IDAT's data
        let m = message(png, name: "c.png")
        XCTAssertNotNil(m)
        XCTAssertTrue(m?.hasPrefix("c.png: damaged PNG (IDAT: ") ?? false, m ?? "")
    }

    func testCorruptJPEGHeader() throws {
        var jpg = try KitFixtures.bytes("images/jpeg-rgb444.jpg")
        // Turn the quantisation table marker into an undefined one.
        let i = (2..<jpg.count - 1).first { jpg[$0] == 0xFF && jpg[$0 + 1] == 0xDB }!
        jpg[i + 1] = 0x02
        XCTAssertNotNil(message(jpg, name: "c.jpg"))
    }

    func testUnsupportedFormatsAreNamed() {
        XCTAssertEqual(message(Array("GIF89a\u{1}\u{0}".utf8), name: "a.gif"), "a.gif: this is a GIF image; unclip reads PNG and JPEG images")
        XCTAssertEqual(message(Array("P6\n1 1\n255\n".utf8) + [0, 0, 0], name: "a.ppm"),
                       "a.ppm: this is a netpbm image; unclip reads PNG and JPEG images")
        XCTAssertEqual(message([], name: "stdin"), "stdin: empty input, expected a PNG or JPEG image")
        XCTAssertEqual(message(Array("hello".utf8), name: "x"), "x: this is a file of unknown type; unclip reads PNG and JPEG images")
    }

    func testEmbeddingGivenAsImage() throws {
        let m = message(try KitFixtures.bytes("embeddings/python-written.emb"), name: "p.emb")
        XCTAssertEqual(m, "p.emb: this is an embedding file, not an image: decode it with `unclip decode` or `unclip vary`")
    }

    /// The bomb files claim 10^10 and 3.6x10^9 pixels in their headers and
    /// hold almost no data: refusing them must not depend on decoding.
    func testDecompressionBombsRefusedFromHeader() throws {
        XCTAssertEqual(message(try KitFixtures.bytes("images/bomb.png"), name: "bomb.png"),
                       "bomb.png: 100000x100000 is 10000000000 pixels, over the limit of 64000000 (raise it with --max-pixels)")
        XCTAssertEqual(message(try KitFixtures.bytes("images/bomb.jpg"), name: "bomb.jpg"),
                       "bomb.jpg: 60000x60000 is 3600000000 pixels, over the limit of 64000000 (raise it with --max-pixels)")
    }

    func testMaxPixelsIsInclusive() throws {
        let png = try KitFixtures.bytes("images/png-rgb8.png")  // 13x9 = 117 pixels
        XCTAssertNil(message(png, name: "a.png", maxPixels: 117))
        XCTAssertEqual(message(png, name: "a.png", maxPixels: 116),
                       "a.png: 13x9 is 117 pixels, over the limit of 116 (raise it with --max-pixels)")
        XCTAssertNotNil(message(try KitFixtures.bytes("images/jpeg-rgb420.jpg"), name: "a.jpg", maxPixels: 116))
    }

    /// Damage anywhere in any fixture gives an image or an UnclipError, never
    /// a crash: libpng's and libjpeg's longjmps must all land in the C shims.
    func testCorruptedBytesNeverCrash() throws {
        var state: UInt64 = 0x9E3779B97F4A7C15
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        var failures = 0, decoded = 0
        for c in try KitFixtures.imageCases() {
            let original = try KitFixtures.bytes("images/" + c.file)
            for trial in 0..<24 {
                var b = original
                // Keep the signature so the decoder, not the sniffer, meets the damage.
                for _ in 0..<(1 + trial % 4) { b[8 + next(b.count - 8)] = UInt8(next(256)) }
                if trial % 3 == 0 { b = Array(b.prefix(8 + next(b.count - 8))) }
                do {
                    let (img, _) = try ImageCodec.decode(b, name: "fuzz")
                    XCTAssertEqual(img.pixels.count, img.width * img.height * img.channels)
                    decoded += 1
                } catch is UnclipError {
                    failures += 1
                }
            }
        }
        // Both outcomes must actually happen, or the damage was not exercising anything.
        XCTAssertGreaterThan(failures, 100)
        XCTAssertGreaterThan(decoded, 10)
    }

    func testPNGGivenWhereEmbeddingExpected() throws {
        XCTAssertThrowsError(try EmbeddingFile.read(KitFixtures.path("images/png-rgb8.png"))) { e in
            XCTAssertEqual("\(e)", "\(KitFixtures.path("images/png-rgb8.png")): this is a PNG image, not an embedding file: run `unclip encode` first")
        }
    }

    // MARK: The atomic writer

    func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("unclip-kit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        addTeardownBlock {
            try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: d.path)
            try? FileManager.default.removeItem(at: d)
        }
        return d
    }

    func testFailedWriteLeavesNoFileAndNoTemporary() throws {
        let d = try tempDir()
        let img = Image(width: 4, height: 4, channels: 3, fill: 9)
        // The target name is taken by a folder: the rename fails after the data was written.
        let blocked = d.appendingPathComponent("out.png")
        try FileManager.default.createDirectory(at: blocked, withIntermediateDirectories: false)
        XCTAssertThrowsError(try ImageCodec.write(img, to: blocked.path)) { e in
            XCTAssertTrue("\(e)".contains("cannot write \(blocked.path)"), "\(e)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: d.path), ["out.png"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: blocked.path), [])
        // A folder that does not exist.
        XCTAssertThrowsError(try ImageCodec.write(img, to: d.appendingPathComponent("no/such/x.jpg").path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: d.path), ["out.png"])
    }

    func testWriteReplacesAtomically() throws {
        let d = try tempDir()
        let p = d.appendingPathComponent("x.png").path
        try ImageCodec.write(Image(width: 2, height: 2, channels: 1, fill: 1), to: p)
        try ImageCodec.write(Image(width: 3, height: 3, channels: 1, fill: 2), to: p)
        XCTAssertEqual(try ImageCodec.read(p), Image(width: 3, height: 3, channels: 1, fill: 2))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: d.path), ["x.png"])
    }
}
