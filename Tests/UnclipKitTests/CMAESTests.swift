import Foundation
import XCTest
import UnclipKit

final class CMAESTests: XCTestCase {
    func batch(_ f: @escaping ([Double]) -> Double) -> ([[Double]]) -> [Double] { { $0.map(f) } }

    func testSphereConverges() {
        var o = CMAES.Options(); o.maxEvaluations = 6000; o.seed = 1
        let r = CMAES.minimize(start: [Double](repeating: 3, count: 10), options: o, objective: batch { x in x.reduce(0) { $0 + $1 * $1 } })
        XCTAssertLessThan(r.bestValue, 1e-10)
    }

    func testRosenbrockFindsTheValley() {
        // The classic non-separable test (Hansen 2016 uses it as "Rosenbrock").
        var o = CMAES.Options(); o.maxEvaluations = 20000; o.seed = 2; o.sigma = 0.5
        let r = CMAES.minimize(start: [0, 0, 0, 0, 0, 0], options: o, objective: batch { x in
            var f = 0.0
            for i in 0..<(x.count - 1) {
                let a = x[i + 1] - x[i] * x[i], b = 1 - x[i]
                f += 100 * a * a + b * b
            }
            return f
        })
        XCTAssertLessThan(r.bestValue, 1e-8)
        for v in r.best { XCTAssertEqual(v, 1, accuracy: 1e-3) }
    }

    func testIllConditionedRotatedEllipsoid() {
        // Condition number 1e6 in a rotated frame: needs the covariance to adapt.
        let n = 8
        let c = cos(0.7), s = sin(0.7)
        var o = CMAES.Options(); o.maxEvaluations = 20000; o.seed = 3
        let r = CMAES.minimize(start: [Double](repeating: 1, count: n), options: o, objective: batch { x in
            var f = 0.0
            for i in stride(from: 0, to: n, by: 2) {
                let u = c * x[i] - s * x[i + 1], v = s * x[i] + c * x[i + 1]
                f += pow(1e6, Double(i) / Double(n - 1)) * u * u + pow(1e6, Double(i + 1) / Double(n - 1)) * v * v
            }
            return f
        })
        XCTAssertLessThan(r.bestValue, 1e-8)
    }

    func testSameSeedSameResultDifferentSeedDifferentPath() {
        func run(_ seed: UInt64) -> CMAES.Result {
            var o = CMAES.Options(); o.maxEvaluations = 200; o.seed = seed
            return CMAES.minimize(start: [1, 2, 3], options: o, objective: batch { x in x.reduce(0) { $0 + abs($1) } })
        }
        XCTAssertEqual(run(5).best, run(5).best)
        XCTAssertNotEqual(run(5).best, run(6).best)
    }

    func testBoundsAreRespected() {
        // Unconstrained optimum at (−3, 2); the box stops x0 at −1.
        var o = CMAES.Options(); o.maxEvaluations = 3000; o.seed = 4
        o.lowerBounds = [-1, -5]; o.upperBounds = [1, 5]
        var seen: [[Double]] = []
        let r = CMAES.minimize(start: [0, 0], options: o) { xs in
            seen += xs
            return xs.map { pow($0[0] + 3, 2) + pow($0[1] - 2, 2) }
        }
        XCTAssertTrue(seen.allSatisfy { $0[0] >= -1 && $0[0] <= 1 && $0[1] >= -5 && $0[1] <= 5 })
        XCTAssertEqual(r.best[0], -1, accuracy: 1e-6)
        XCTAssertEqual(r.best[1], 2, accuracy: 1e-4)
    }

    func testPopulationIsEvaluatedAsOneBatch() {
        var o = CMAES.Options(); o.maxEvaluations = 100; o.populationSize = 10
        var sizes: [Int] = []
        _ = CMAES.minimize(start: [1, 1], options: o) { xs in sizes.append(xs.count); return xs.map { $0[0] * $0[0] + $0[1] * $0[1] } }
        XCTAssertEqual(sizes, [Int](repeating: 10, count: 10))
    }

    func testJacobiEigenOfKnownMatrix() {
        // [[2,1],[1,2]] has eigenvalues 1 and 3 with eigenvectors (1,−1)/√2, (1,1)/√2.
        let (vals, vecs) = CMAES.symmetricEigen([2, 1, 1, 2], 2)
        assertClose(vals.sorted(), [1, 3], accuracy: 1e-12)
        for j in 0..<2 {
            // A v = λ v for each column.
            let v = [vecs[j], vecs[2 + j]]
            XCTAssertEqual(2 * v[0] + v[1], vals[j] * v[0], accuracy: 1e-12)
            XCTAssertEqual(v[0] + 2 * v[1], vals[j] * v[1], accuracy: 1e-12)
        }
    }
}
