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

/// Fixtures/tokenizer/unicode.txt records, for every Unicode scalar, the class
/// transformers' pre-tokeniser gives it and what its normaliser makes of it.
/// Swift's Unicode tables differ from Oniguruma's; this holds the tokenizer
/// to the reference over the whole code space, not only the sampled texts.
final class TokenizerUnicodeTableTests: XCTestCase {
    func testEveryScalarIsClassifiedAsTransformersDoes() throws {
        let text = try String(contentsOfFile: CLIPFixtures.path("tokenizer/unicode.txt"), encoding: .utf8)
        var covered = 0, wrong = [String]()
        for line in text.split(separator: "\n") where line.hasPrefix("R ") {
            let f = line.split(separator: " ")
            let a = UInt32(f[1], radix: 16)!, b = UInt32(f[2], radix: 16)!
            let want = try XCTUnwrap(CLIPTokenizer.ScalarClass(rawValue: String(f[3])))
            for v in a...b {
                let u = Unicode.Scalar(v)!
                covered += 1
                let got = CLIPTokenizer.scalarClass(u)
                if got != want && wrong.count < 10 {
                    wrong.append(String(format: "U+%04X: %@ expected, got %@", v, want.rawValue, got.rawValue))
                }
            }
        }
        XCTAssertEqual(covered, 0x110000 - 0x800, "the table covers every scalar")
        XCTAssertEqual(wrong, [])
    }

    func testEveryScalarIsNormalisedAsTransformersDoes() throws {
        let text = try String(contentsOfFile: CLIPFixtures.path("tokenizer/unicode.txt"), encoding: .utf8)
        var mapped = [UInt32: [UInt32]]()
        for line in text.split(separator: "\n") where line.hasPrefix("M ") {
            let f = line.split(separator: " ").dropFirst()
            mapped[UInt32(f.first!, radix: 16)!] = f.dropFirst().map { UInt32($0, radix: 16)! }
        }
        XCTAssertGreaterThan(mapped.count, 2000)
        var wrong = [String]()
        for v in UInt32(0)..<0x110000 where !(0xD800...0xDFFF).contains(v) {
            let u = Unicode.Scalar(v)!
            let want = mapped[v] ?? [v]
            let got = CLIPTokenizer.normalized(String(Character(u))).unicodeScalars.map(\.value)
            if got != want && wrong.count < 10 {
                wrong.append(String(format: "U+%04X → ", v) + got.map { String(format: "%04X", $0) }.joined(separator: " ")
                             + " expected " + want.map { String(format: "%04X", $0) }.joined(separator: " "))
            }
        }
        XCTAssertEqual(wrong, [])
    }
}
