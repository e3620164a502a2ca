import Foundation
import XCTest
import UnclipKit

/// Every stored variant in Fixtures/images decodes to the pixels that
/// Fixtures/reference/make_image_fixtures.py recorded: PNG exactly, JPEG
/// within 1 level per sample of Pillow's libjpeg-turbo decode.
final class ImageDecodeTests: XCTestCase {
    func cases(_ prefix: String) throws -> [KitFixtures.ImageCase] {
        let all = try KitFixtures.imageCases().filter { $0.name.hasPrefix(prefix) }
        XCTAssertFalse(all.isEmpty, "no fixtures named \(prefix)*")
        return all
    }

    /// Decodes `c` and compares with its expected pixels; returns the largest difference.
    @discardableResult
    func check(_ c: KitFixtures.ImageCase, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let (image, _) = try ImageCodec.decode(KitFixtures.bytes("images/" + c.file), name: c.file)
        XCTAssertEqual([image.width, image.height, image.channels], [c.width, c.height, c.channels], c.name, file: file, line: line)
        let exp = try c.expected()
        guard image.pixels.count == exp.count else {
            XCTFail("\(c.name): \(image.pixels.count) samples, expected \(exp.count)", file: file, line: line)
            return .max
        }
        let maxDiff = zip(image.pixels, exp).map { abs(Int($0) - Int($1)) }.max() ?? 0
        XCTAssertLessThanOrEqual(maxDiff, c.tolerance, "\(c.name): largest sample difference \(maxDiff)", file: file, line: line)
        return maxDiff
    }

    func testPNGEightBitColourTypesExact() throws {
        for n in ["png-gray8", "png-graya8", "png-rgb8", "png-rgba8"] { try check(try cases(n)[0]) }
    }

    func testPNGLowBitDepthGrayExact() throws {
        for n in ["png-gray1", "png-gray2", "png-gray4"] { try check(try cases(n)[0]) }
    }

    func testPNGSixteenBitScaledWithRounding() throws {
        let c = try cases("png-").filter { $0.bitDepth == 16 }
        XCTAssertEqual(c.count, 5)
        for x in c { try check(x) }
    }

    func testPNGPaletteExpanded() throws {
        for x in try cases("png-palette") { try check(x) }
    }

    func testPNGTransparencyBecomesAlpha() throws {
        for n in ["png-palette-trns", "png-gray-trns", "png-rgb-trns"] {
            let c = try cases(n)[0]
            XCTAssertTrue(c.channels == 2 || c.channels == 4)
            try check(c)
        }
    }

    func testPNGAdam7Interlaced() throws {
        let c = try cases("png-").filter(\.interlaced)
        XCTAssertEqual(c.count, 3)
        for x in c { try check(x) }
    }

    func testPNGExifOrientationAllEight() throws {
        let c = try cases("png-exif")
        XCTAssertEqual(c.compactMap(\.orientation), Array(1...8))
        for x in c { try check(x) }
    }

    func testJPEGBaselineSubsamplingsMatchPillow() throws {
        for n in ["jpeg-rgb420", "jpeg-rgb422", "jpeg-rgb444"] { try check(try cases(n)[0]) }
    }

    func testJPEGProgressiveMatchesPillow() throws {
        try check(try cases("jpeg-progressive")[0])
    }

    func testJPEGPhotoCropMatchesPillow() throws {
        for n in ["jpeg-photo420", "jpeg-photo-progressive"] { try check(try cases(n)[0]) }
    }

    func testJPEGGrayStaysOneChannel() throws {
        try check(try cases("jpeg-gray")[0])
    }

    func testJPEGCMYKAdobeInvertedMatchesPillow() throws {
        try check(try cases("jpeg-cmyk-adobe")[0])
    }

    /// No APP14 marker: the values are plain ink (Pillow would invert them anyway).
    func testJPEGCMYKWithoutAdobeMarker() throws {
        try check(try cases("jpeg-cmyk-plain")[0])
    }

    func testJPEGExifOrientationAllEight() throws {
        let c = try cases("jpeg-exif")
        XCTAssertEqual(c.compactMap(\.orientation), Array(1...8))
        for x in c { try check(x) }
    }

    /// The orientation tests above rely on the transforms composing correctly;
    /// this pins them on a 3x2 image against hand-worked results.
    func testOrientationTransformsByHand() {
        let img = Image(width: 3, height: 2, channels: 1, pixels: [1, 2, 3, 4, 5, 6])
        // 1 2 3
        // 4 5 6
        let expected: [Int: (Int, Int, [UInt8])] = [
            1: (3, 2, [1, 2, 3, 4, 5, 6]),
            2: (3, 2, [3, 2, 1, 6, 5, 4]),
            3: (3, 2, [6, 5, 4, 3, 2, 1]),
            4: (3, 2, [4, 5, 6, 1, 2, 3]),
            5: (2, 3, [1, 4, 2, 5, 3, 6]),
            6: (2, 3, [4, 1, 5, 2, 6, 3]),
            7: (2, 3, [6, 3, 5, 2, 4, 1]),
            8: (2, 3, [3, 6, 2, 5, 1, 4]),
        ]
        for (o, (w, h, px)) in expected.sorted(by: { $0.key < $1.key }) {
            let r = img.oriented(o)
            XCTAssertEqual([r.width, r.height], [w, h], "orientation \(o)")
            XCTAssertEqual(r.pixels, px, "orientation \(o)")
        }
    }

    /// `ImageInfo` describes the file as stored, not as decoded.
    func testStoredFormatIsReported() throws {
        for c in try KitFixtures.imageCases() {
            let info = try ImageCodec.decode(KitFixtures.bytes("images/" + c.file), name: c.file).info
            let swapped = (c.orientation ?? 1) >= 5
            XCTAssertEqual(info.format.rawValue, c.format, c.name)
            XCTAssertEqual(info.width, swapped ? c.height : c.width, c.name)
            XCTAssertEqual(info.height, swapped ? c.width : c.height, c.name)
            XCTAssertEqual(info.colorType, c.colorType, c.name)
            XCTAssertEqual(info.bitDepth, c.bitDepth, c.name)
            XCTAssertEqual(info.channels, c.storedChannels, c.name)
            XCTAssertEqual(info.interlaced, c.interlaced, c.name)
            XCTAssertEqual(info.orientation, c.orientation, c.name)
            XCTAssertEqual(info.transparency, c.name.hasSuffix("-trns"), c.name)
        }
    }

    func testPNGTextChunksFromAnotherWriter() throws {
        let info = try ImageCodec.decode(KitFixtures.bytes("images/png-text.png"), name: "png-text.png").info
        XCTAssertEqual(info.text["Title"], "caf\u{e9} at noon")
        XCTAssertEqual(info.text["Comment"], String(repeating: "compressed ", count: 20))
        XCTAssertEqual(info.text["Author"], "Zo\u{eb} \u{5c71}\u{7530}")
    }

    func testExifParserIgnoresGarbage() {
        XCTAssertNil(Exif.orientation(tiff: []))
        XCTAssertNil(Exif.orientation(tiff: Array("II*\0".utf8) + [0xFF, 0xFF, 0xFF, 0x7F]))
        XCTAssertNil(Exif.orientation(tiff: Array("MM\0*".utf8) + [0, 0, 0, 8, 0, 1]))
        // A well-formed big-endian block whose orientation is 9 (out of range).
        let bad: [UInt8] = Array("MM\0*".utf8) + [0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 9, 0, 0]
        XCTAssertNil(Exif.orientation(tiff: bad))
        var good = bad
        good[19] = 6
        XCTAssertEqual(Exif.orientation(tiff: good), 6)
    }
}
