import Foundation
import UnclipKit
import XCTest

/// SHA-256 (libcrypto's) against the FIPS 180-4 example digests, fed whole
/// and in pieces of every awkward size.
final class SHA256Tests: XCTestCase {
    private func digest(_ bytes: [UInt8], chunk: Int? = nil) -> String {
        var h = SHA256()
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
        for (text, expected) in cases {
            XCTAssertEqual(digest(Array(text.utf8)), expected, "\"\(text)\"")
        }
        XCTAssertEqual(digest([UInt8](repeating: 0x61, count: 1_000_000), chunk: 1000),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "a million a's")
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(Array("abc".utf8).withUnsafeBytes { SHA256.hex($0) },
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    func testEverySplitGivesTheSameDigest() {
        var rng = SplitMix64(seed: 11)
        let data = (0..<700).map { _ in UInt8(rng.below(256)) }
        for n in [0, 1, 55, 56, 63, 64, 65, 119, 127, 128, 129, 200, 511, 700] {
            let bytes = Array(data[0..<n])
            let whole = digest(bytes)
            for chunk in [1, 37, 64] { XCTAssertEqual(digest(bytes, chunk: chunk), whole, "length \(n) in \(chunk)-byte pieces") }
        }
        // A pinned digest of that data, so a broken library cannot agree with itself.
        XCTAssertEqual(digest(data), SHA256Tests.pinned700)
    }

    static let pinned700 = "457d937f0dc014d51527ce10f45f6ca297058cf0d89118ebf84c0a99c556aa67"   // Python hashlib
}
