import Foundation
import UnclipKit
import XCTest

/// SHA-256 against the FIPS 180-4 example digests, and the CPU's SHA
/// instructions (where it has them) against the portable rounds.
final class SHA256Tests: XCTestCase {
    private func digest(_ bytes: [UInt8], hardware: Bool, chunk: Int? = nil) -> String {
        var h = SHA256(hardware: hardware)
        if let chunk {
            var i = 0
            while i < bytes.count { h.update(Array(bytes[i..<min(bytes.count, i + chunk)])); i += chunk }
        } else {
            h.update(bytes)
        }
        return h.finalize().map { String(format: "%02x", $0) }.joined()
    }

    func testKnownDigests() {
        let cases: [(String, String)] = [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
             "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ]
        for hardware in [true, false] {
            for (text, expected) in cases {
                XCTAssertEqual(digest(Array(text.utf8), hardware: hardware), expected, "\"\(text)\", hardware \(hardware)")
            }
            XCTAssertEqual(digest([UInt8](repeating: 0x61, count: 1_000_000), hardware: hardware, chunk: 1000),
                           "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "a million a's, hardware \(hardware)")
        }
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    func testBothPathsAgreeAtEveryLengthAndSplit() {
        var rng = SplitMix64(seed: 11)
        let data = (0..<700).map { _ in UInt8(rng.below(256)) }
        for n in [0, 1, 55, 56, 63, 64, 65, 119, 127, 128, 129, 200, 511, 700] {
            let bytes = Array(data[0..<n])
            let portable = digest(bytes, hardware: false)
            XCTAssertEqual(digest(bytes, hardware: true), portable, "length \(n)")
            XCTAssertEqual(digest(bytes, hardware: true, chunk: 37), portable, "length \(n) in 37-byte pieces")
        }
    }
}
