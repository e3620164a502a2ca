import Foundation
import XCTest
import UnclipKit

/// Every case in Fixtures/tokenizer/cases.json (written by
/// Fixtures/reference/make_tokenizer_fixtures.py from transformers'
/// CLIPTokenizer) must give exactly the same ids.
final class TokenizerParityTests: XCTestCase {
    static let tokenizer: CLIPTokenizer = {
        try! CLIPTokenizer(vocabPath: CLIPFixtures.vocab, mergesPath: CLIPFixtures.merges)
    }()

    struct Case { var text: String; var ids: [Int] }

    func cases() throws -> [Case] {
        let data = try Data(contentsOf: URL(fileURLWithPath: CLIPFixtures.path("tokenizer/cases.json")))
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let list = try XCTUnwrap(json["cases"] as? [[String: Any]])
        return try list.map { c in
            Case(text: try XCTUnwrap(c["text"] as? String), ids: try XCTUnwrap(c["ids"] as? [Int]))
        }
    }

    static func show(_ s: String) -> String {
        s.unicodeScalars.map { $0.isASCII && $0.value >= 32 && $0.value < 127 ? String($0) : String(format: "\\u{%04X}", $0.value) }.joined()
    }

    func testEveryFixtureCaseMatchesTransformers() throws {
        let all = try cases()
        XCTAssertGreaterThanOrEqual(all.count, 300)
        var mismatches = 0
        for (n, c) in all.enumerated() {
            let got = Self.tokenizer.encode(c.text)
            if got != c.ids {
                mismatches += 1
                if mismatches <= 5 {
                    let at = (0..<min(got.count, c.ids.count)).first { got[$0] != c.ids[$0] } ?? min(got.count, c.ids.count)
                    XCTFail("case \(n) \"\(Self.show(c.text))\": first difference at token \(at)\n  expected \(c.ids)\n  got      \(got)")
                }
            }
        }
        XCTAssertEqual(mismatches, 0, "\(mismatches) of \(all.count) cases differ")
    }

    func testKnownSentenceAndSpecialIDs() throws {
        let t = Self.tokenizer
        XCTAssertEqual(t.bosID, 49406)
        XCTAssertEqual(t.eosID, 49407)
        XCTAssertEqual(t.vocabularySize, 49408)
        XCTAssertEqual(t.encode("a photo of a cat"), [49406, 320, 1125, 539, 320, 2368, 49407])
        XCTAssertEqual(t.encode(""), [49406, 49407])
    }

    func testTruncationKeepsEOSLastAndHonoursContextLength() throws {
        let long = String(repeating: "photo ", count: 200)
        let ids = Self.tokenizer.encode(long)
        XCTAssertEqual(ids.count, 77)
        XCTAssertEqual(ids.first, 49406)
        XCTAssertEqual(ids.last, 49407)
        let short = try CLIPTokenizer(vocabPath: CLIPFixtures.vocab, mergesPath: CLIPFixtures.merges, contextLength: 5)
        XCTAssertEqual(short.encode("a photo of a cat"), [49406, 320, 1125, 539, 49407])
    }

    func testRepeatedCallsGiveTheSameIDs() throws {
        // The BPE cache must not change results.
        let text = "Zürich's 3 parrots 🦜 at 10:30"
        let first = Self.tokenizer.encode(text)
        XCTAssertEqual(Self.tokenizer.encode(text), first)
    }

    func testMissingOrWrongVocabularyIsReported() throws {
        XCTAssertThrowsError(try CLIPTokenizer(vocabPath: "/no/such/vocab.json", mergesPath: CLIPFixtures.merges)) { e in
            XCTAssertEqual((e as? UnclipError)?.description, "/no/such/vocab.json: no such file")
        }
        XCTAssertThrowsError(try CLIPTokenizer(vocabPath: CLIPFixtures.merges, mergesPath: CLIPFixtures.merges)) { e in
            XCTAssertTrue("\(e)".contains("not a JSON object"), "\(e)")
        }
    }
}
