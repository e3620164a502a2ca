import Foundation
import XCTest

final class ExitCodeTests: XCTestCase {
    func testUsageErrorExits64() throws {
        let r = try CLI.run(["info", "--max-pixels", "0", "x.png"])
        XCTAssertEqual(r.status, 64)
        XCTAssertTrue(r.stderr.contains("--max-pixels must be positive"), r.stderr)
        XCTAssertTrue(r.stdout.isEmpty)
    }

    func testUnknownSubcommandExits64() throws {
        let r = try CLI.run(["frobnicate"])
        XCTAssertEqual(r.status, 64)
    }

    func testMissingFileExits1WithOneLine() throws {
        let r = try CLI.run(["info", "/no/such/file.png"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "unclip info: /no/such/file.png: no such file\n")
    }

    func testEmptyStdinIsReported() throws {
        let r = try CLI.run(["info", "-"], stdin: Data())
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("stdin: empty input"), r.stderr)
    }
}
