import XCTest
import UnclipKit

final class ExemplarTests: XCTestCase {
    func testNeverUpscalesAndKeepsAspect() {
        let img = Image(width: 30, height: 20, channels: 4, fill: 7)
        let small = Exemplar.make(img, maxSide: 512)
        XCTAssertEqual([small.width, small.height, small.channels], [30, 20, 3])
        let big = Image(width: 1000, height: 333, channels: 3, fill: 9)
        let ex = Exemplar.make(big, maxSide: 512)
        XCTAssertEqual([ex.width, ex.height], [512, 170])
        XCTAssertTrue(ex.pixels.allSatisfy { $0 == 9 }, "a flat image stays flat")
    }

    func testIntegerFactorIsTheBlockMean() {
        // 4×2 → 2×1: each output pixel is the mean of a 2×2 block.
        let px: [UInt8] = [0, 10, 20, 31, 100, 200, 255, 255]
        let rgb = Image(width: 4, height: 2, channels: 1, pixels: px).rgb()
        let out = Exemplar.areaResize(rgb, width: 2, height: 1)
        XCTAssertEqual(out.pixels, [78, 78, 78, 140, 140, 140])   // (0+10+100+200)/4 = 77.5, (20+31+255+255)/4 = 140.25
    }

    func testFractionalFactorWeighsPartialPixels() {
        // 3 → 2 columns: output 0 covers source 0 and half of 1, output 1 the other half of 1 and 2.
        let rgb = Image(width: 3, height: 1, channels: 1, pixels: [0, 90, 180]).rgb()
        let out = Exemplar.areaResize(rgb, width: 2, height: 1)
        XCTAssertEqual(out.pixels, [30, 30, 30, 150, 150, 150])
    }
}
