import Foundation
import XCTest
import UnclipKit

final class SlerpTests: XCTestCase {
    func unit(_ v: [Float]) -> [Float] { Slerp.normalized(v)! }
    func angle(_ a: [Float], _ b: [Float]) -> Double { acos(max(-1, min(1, Slerp.dot(a, b)))) }

    func testEndpointsAreExact() {
        let a = unit([1, 2, 3, 4]), b = unit([-2, 1, 0, 5])
        XCTAssertEqual(Slerp.slerp(a, b, 0), a)
        XCTAssertEqual(Slerp.slerp(a, b, 1), b)
    }

    func testMatchesRotationInThePlane() {
        // a = e0, b at 100° in the (e0, e1) plane: slerp(t) is the rotation by t·100°.
        let w = 100.0 * Double.pi / 180
        let a: [Float] = [1, 0, 0], b: [Float] = [Float(cos(w)), Float(sin(w)), 0]
        for t in [0.1, 0.25, 0.5, 0.9] {
            let p = Slerp.slerp(a, b, t)
            XCTAssertEqual(Double(p[0]), cos(t * w), accuracy: 1e-6)
            XCTAssertEqual(Double(p[1]), sin(t * w), accuracy: 1e-6)
            XCTAssertEqual(p[2], 0)
        }
    }

    func testConstantSpeedAndUnitLength() {
        let a = unit([0.3, -0.2, 0.9, 0.1, 0.5]), b = unit([0.1, 0.8, -0.3, 0.4, 0.2])
        let total = angle(a, b)
        for t in stride(from: 0.0, through: 1.0, by: 0.125) {
            let p = Slerp.slerp(a, b, t)
            XCTAssertEqual(Slerp.norm(p), 1, accuracy: 1e-6)
            XCTAssertEqual(angle(a, p), t * total, accuracy: 5e-4)  // acos near 1 amplifies Float rounding
            XCTAssertEqual(angle(p, b), (1 - t) * total, accuracy: 5e-4)
        }
    }

    func testNearlyParallelFallsBackToNormalisedLerp() {
        let a = unit([1, 2, 3])
        var b = a; b[0] += 1e-6; b = unit(b)
        XCTAssertLessThan(angle(a, b), Slerp.nearlyParallel)
        let p = Slerp.slerp(a, b, 0.5)
        XCTAssertTrue(p.allSatisfy { $0.isFinite })
        XCTAssertEqual(Slerp.norm(p), 1, accuracy: 1e-6)
        let lerp = unit(zip(a, b).map { ($0 + $1) / 2 })
        for i in 0..<3 { XCTAssertEqual(p[i], lerp[i], accuracy: 1e-7) }
        // Identical inputs: every t returns the same vector.
        assertClose(Slerp.slerp(a, a, 0.37).map { Double($0) }, a.map { Double($0) }, accuracy: 1e-6)
    }

    func testAntipodalPicksADeterministicGreatCircle() {
        let a = unit([0.6, -0.1, 0.7, 0.3]), b = a.map { -$0 }
        let mid = Slerp.slerp(a, b, 0.5)
        XCTAssertTrue(mid.allSatisfy { $0.isFinite })
        XCTAssertEqual(Slerp.norm(mid), 1, accuracy: 1e-6)
        XCTAssertEqual(Slerp.dot(mid, a), 0, accuracy: 1e-6, "halfway between opposite points is 90° from both")
        // The circle goes through the axis least aligned with a (index 1 here).
        XCTAssertGreaterThan(abs(mid[1]), 0.9)
        XCTAssertEqual(Slerp.slerp(a, b, 0.5), mid, "same inputs, same circle")
        for t in [0.2, 0.7] {
            XCTAssertEqual(angle(a, Slerp.slerp(a, b, t)), t * Double.pi, accuracy: 1e-5)
        }
        // Slightly off antipodal (inside the tolerance) takes the same branch and stays finite.
        var c = b; c[2] += 1e-9
        XCTAssertTrue(Slerp.slerp(a, c, 0.5).allSatisfy { $0.isFinite })
    }

    func testOrthogonalIsUnitAndOrthogonal() {
        let a = unit([0.5, 0.5, 0.5, 0.5])
        let u = Slerp.orthogonal(to: a)
        XCTAssertEqual(zip(a, u).reduce(0) { $0 + Double($1.0) * $1.1 }, 0, accuracy: 1e-9)
        XCTAssertEqual(u.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-9)
    }
}

func assertClose(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
