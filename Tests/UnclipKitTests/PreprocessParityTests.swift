import Foundation
import XCTest
import UnclipKit

/// CLIPImagePreprocessor against transformers' CLIPImageProcessor (Pillow
/// backend): Fixtures/preprocess/reference.safetensors holds its output for
/// each committed image, written by Fixtures/reference/make_preprocess_fixtures.py.
/// The resize reproduces Pillow's fixed-point arithmetic, so the tensors agree
/// bit for bit; the bound of 1e-6 leaves no room for a single resized pixel
/// to be off by one (one level is 1/255/std ≈ 0.015).
final class PreprocessParityTests: XCTestCase {
    static let reference: SafeTensors = {
        try! SafeTensors(mappingFile: CLIPFixtures.path("preprocess/reference.safetensors"))
    }()

    func check(config: String, image name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let pre = try CLIPImagePreprocessor(modelDirectory: URL(fileURLWithPath: CLIPFixtures.path("preprocess/\(config)")))
        let image = try ImageCodec.read(CLIPFixtures.path("preprocess/\(name)"))
        let got = pre.pixels(image)
        let key = "\(config)/\(name)"
        let info = try Self.reference.info(key)
        XCTAssertEqual(info.shape, [3, pre.cropSize, pre.cropSize], key, file: file, line: line)
        let want = try Self.reference.floats(key)
        XCTAssertEqual(got.count, want.count, key, file: file, line: line)
        var maxDiff: Float = 0, worst = 0
        for i in 0..<min(got.count, want.count) where abs(got[i] - want[i]) > maxDiff {
            maxDiff = abs(got[i] - want[i]); worst = i
        }
        let c = pre.cropSize
        XCTAssertLessThanOrEqual(maxDiff, 1e-6,
            "\(key): max |diff| \(maxDiff) at channel \(worst / (c * c)), y \(worst / c % c), x \(worst % c)",
            file: file, line: line)
    }

    func testUpscaledLandscapeOddSize() throws { try check(config: "config-64", image: "kodim23-37x29.png") }
    func testMildDownscale() throws { try check(config: "config-64", image: "kodim03-101x67.png") }
    func testStrongDownscaleWidensTheKernel() throws { try check(config: "config-64", image: "kodim05-179x181.png") }
    func testPortrait() throws { try check(config: "config-64", image: "kodim19-portrait-45x130.png") }
    func testGrayIsReplicated() throws { try check(config: "config-64", image: "kodim08-gray-83x61.png") }
    func testRGBAIsCompositedOverWhite() throws { try check(config: "config-64", image: "kodim15-rgba-70x90.png") }
    func testGrayAlphaIsCompositedOverWhite() throws { try check(config: "config-64", image: "kodim01-la-40x50.png") }
    func testFlatGray() throws { try check(config: "config-64", image: "flat-gray-33x47.png") }
    func testStandard224FromOpenAIConfig() throws { try check(config: "config-224", image: "kodim23-300x260.png") }

    func testConfigIsRead() throws {
        let p = try CLIPImagePreprocessor(modelDirectory: URL(fileURLWithPath: CLIPFixtures.path("preprocess/config-64")))
        XCTAssertEqual(p.size, 64)
        XCTAssertEqual(p.cropSize, 56)
        let openai = try CLIPImagePreprocessor(modelDirectory: URL(fileURLWithPath: CLIPFixtures.path("preprocess/config-224")))
        XCTAssertEqual(openai, CLIPImagePreprocessor(size: 224, cropSize: 224, mean: CLIPImagePreprocessor.clipMean, std: CLIPImagePreprocessor.clipStd))
    }

    func testMissingConfigGivesCLIPDefaults() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("unclip-pre-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let p = try CLIPImagePreprocessor(modelDirectory: empty)
        XCTAssertEqual(p, CLIPImagePreprocessor(size: 224, cropSize: 224, mean: CLIPImagePreprocessor.clipMean, std: CLIPImagePreprocessor.clipStd))
        // An unsupported resampling filter is refused rather than silently ignored.
        try Data(#"{"resample": 2}"#.utf8).write(to: empty.appendingPathComponent("preprocessor_config.json"))
        XCTAssertThrowsError(try CLIPImagePreprocessor(modelDirectory: empty)) { e in
            XCTAssertTrue("\(e)".contains("resample 2 is not supported"), "\(e)")
        }
    }

    func testOutputSizeFollowsTransformers() {
        let p = CLIPImagePreprocessor(size: 224, cropSize: 224, mean: CLIPImagePreprocessor.clipMean, std: CLIPImagePreprocessor.clipStd)
        // int(224 * 768 / 512) = 336; int(224 * 333 / 500) truncates 149.18 → 149 on the long side only.
        XCTAssertEqual(p.resizedShape(height: 512, width: 768).0, 224)
        XCTAssertEqual(p.resizedShape(height: 512, width: 768).1, 336)
        XCTAssertEqual(p.resizedShape(height: 1000, width: 333).0, 672)
        XCTAssertEqual(p.resizedShape(height: 1000, width: 333).1, 224)
    }

    /// The preprocessor resizes only the part that the crop keeps.
    func testARegionOfAResizeIsThatRegionOfTheWholeResize() throws {
        let image = try ImageCodec.read(CLIPFixtures.path("preprocess/kodim03-101x67.png"))
        // Both passes, horizontal only, vertical only (the others crop).
        for (w, h) in [(37, 29), (60, 67), (101, 40)] {
            let whole = PillowResample.bicubic(image, width: w, height: h)
            let rows = 3..<h - 5, columns = 7..<w - 2
            let part = PillowResample.bicubic(image, width: w, height: h, rows: rows, columns: columns)
            XCTAssertEqual([part.width, part.height], [columns.count, rows.count])
            var want: [UInt8] = []
            for y in rows { want += whole.pixels[(y * w + columns.lowerBound) * 3 ..< (y * w + columns.upperBound) * 3] }
            XCTAssertEqual(part.pixels, want, "\(w)x\(h)")
        }
    }

    func testSmallImageIsPaddedWithBlackBeforeNormalising() {
        // Shortest side 8, crop 12: the crop overhangs by 2 on each side, and
        // overhang is 0 before normalisation, as numpy's center_crop pads.
        let p = CLIPImagePreprocessor(size: 8, cropSize: 12, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
        let img = Image(width: 8, height: 8, channels: 3, fill: 255)
        let px = p.pixels(img)
        XCTAssertEqual(px.count, 3 * 12 * 12)
        XCTAssertEqual(px[0], -1)           // padding: (0 − 0.5) / 0.5
        XCTAssertEqual(px[2 * 12 + 2], 1)   // image: (1 − 0.5) / 0.5
        XCTAssertEqual(px[9 * 12 + 9], 1)
        XCTAssertEqual(px[10 * 12 + 10], -1)
    }
}
