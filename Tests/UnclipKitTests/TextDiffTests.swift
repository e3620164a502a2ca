import Foundation
import XCTest
import UnclipKit

/// Records the captions it is asked for and returns fixed vectors.
final class TableTextEmbedder: TextEmbedder {
    let modelName = "table", modelHash = "t"
    var asked: [String] = []
    let table: [String: [Float]]
    init(_ table: [String: [Float]]) { self.table = table }
    func embed(texts: [String]) throws -> [[Float]] {
        asked += texts
        return texts.map { table[$0]! }
    }
}

final class TextDiffTests: XCTestCase {
    func testDirectionIsNormalisedDifference() throws {
        let to = Slerp.normalized([1, 1, 0])!, from = Slerp.normalized([1, 0, 0])!
        let d = try TextDiff.direction(to: to, from: from)
        let expect = Slerp.normalized(zip(to, from).map { $0 - $1 })!
        assertClose(d.map(Double.init), expect.map(Double.init), accuracy: 1e-7)
        XCTAssertEqual(Slerp.norm(d), 1, accuracy: 1e-6)
    }

    func testEmptyFromUsesAPhoto() throws {
        let t = TableTextEmbedder(["a photo at night": [0, 1, 0], "a photo": [1, 0, 0]])
        let d = try TextDiff.direction(text: t, to: "a photo at night", from: "  ")
        XCTAssertEqual(t.asked, ["a photo at night", "a photo"])
        assertClose(d.map(Double.init), [-0.5.squareRoot(), 0.5.squareRoot(), 0], accuracy: 1e-6)
    }

    func testSameCaptionsAreAUsageError() {
        let v: [Float] = [0.6, 0.8]
        XCTAssertThrowsError(try TextDiff.direction(to: v, from: v)) { e in
            XCTAssertTrue((e as! UnclipError).isUsage)
            XCTAssertTrue("\(e)".contains("same vector"), "\(e)")
        }
    }

    func testTargetIsSlerpFromImageToDirection() throws {
        let zi = Slerp.normalized([1, 0, 0, 0])!, zd = Slerp.normalized([0, 1, 0, 0])!
        XCTAssertEqual(try TextDiff.target(image: zi, direction: zd, theta: 0), zi)
        XCTAssertEqual(try TextDiff.target(image: zi, direction: zd, theta: 1), zd)
        let z = try TextDiff.target(image: zi, direction: zd, theta: 0.4)
        // 0.4 of the 90° arc.
        XCTAssertEqual(Double(z[0]), cos(0.4 * .pi / 2), accuracy: 1e-6)
        XCTAssertEqual(Double(z[1]), sin(0.4 * .pi / 2), accuracy: 1e-6)
        XCTAssertThrowsError(try TextDiff.target(image: zi, direction: [1, 0], theta: 0.5))
    }

    func testStepsScheduleRunsFromZeroToTheta() {
        assertClose(TextDiff.schedule(theta: 0.4, steps: 5), [0, 0.1, 0.2, 0.3, 0.4], accuracy: 1e-12)
        XCTAssertEqual(TextDiff.schedule(theta: 0.4, steps: 1), [0.4])
    }

    func testStatisticModelTextDiffPointsAlongItsAttribute() throws {
        let m = StatisticEmbedder()
        let bright = try TextDiff.direction(text: m, to: "a bright photo", from: "")
        let night = try TextDiff.direction(text: m, to: "a photo at night", from: "a photo")
        // Luminance block is the first 8 coordinates: bright ramps up, night down.
        XCTAssertGreaterThan(bright[7], 0.3); XCTAssertLessThan(bright[0], -0.3)
        XCTAssertLessThan(night[7], -0.3); XCTAssertGreaterThan(night[0], 0.3)
        // Opposite ramps; both also lose the same bit of the neutral vector, so not exactly −1.
        XCTAssertLessThan(Slerp.dot(bright, night), -0.8)
        XCTAssertThrowsError(try TextDiff.direction(text: m, to: "a photo of a cat", from: "a photo"), "no known word: no direction")
    }
}
