import Foundation

/// CLIP's byte-level BPE tokenizer, matching Hugging Face `CLIPTokenizer`
/// (transformers 5.23, which is backed by the `tokenizers` library) id for id:
///
///  1. the special tokens `<|startoftext|>` / `<|endoftext|>` are split out of
///     the raw text first, case-sensitively (they are added tokens that are not
///     normalised, so `<|ENDOFTEXT|>` is ordinary text);
///  2. each remaining segment is normalised: NFC with the reference's
///     Unicode 9.0 tables (`nfcUnicode9`), every run of white space to one
///     space, then lower-cased one scalar at a time (no final-sigma rule, as
///     Rust's `char::to_lowercase` does it);
///  3. pre-tokenised with CLIP's pattern (`CLIPTokenizer.clipPattern`), then
///     again with GPT-2's byte-level pattern, which only matters for pieces
///     such as `<|endoftext|>` typed in upper case;
///  4. each word's UTF-8 bytes go through the GPT-2 bytes→unicode table and
///     are merged by BPE (lowest merge rank first) with `</w>` on the last
///     symbol;
///  5. BOS + ids + EOS, truncated to `contextLength` keeping EOS last.
///
/// Radford et al. 2021 (CLIP), §2.4 and the `simple_tokenizer.py` that ships
/// with it; Sennrich et al. 2016 for BPE.
public final class CLIPTokenizer: @unchecked Sendable {
    public static let clipPattern =
        #"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"#

    public let contextLength: Int
    public let bosID: Int
    public let eosID: Int
    public let vocabularySize: Int

    /// (left id, right id) → (rank, merged id); ids rather than strings keep
    /// the merge loop free of string hashing.
    private let merges: [UInt64: (rank: Int32, id: Int32)]
    /// The 256 byte symbols, and the same with `</w>`, as vocabulary ids.
    private let byteIDs: [Int32]
    private let byteEndIDs: [Int32]
    /// Keyed by UTF-8 bytes, not String: String equality is canonical
    /// equivalence, and canonically equivalent words that NFC (as Unicode 9.0
    /// tables do it) left different must not share an entry.
    private var cache: [[UInt8]: [Int32]] = [:]
    private let lock = NSLock()

    public init(vocabPath: String, mergesPath: String, contextLength: Int = 77) throws {
        precondition(contextLength >= 2, "a context must hold BOS and EOS")
        self.contextLength = contextLength
        let vocabBytes = try IO.read(vocabPath)
        guard let json = try? JSONSerialization.jsonObject(with: Data(vocabBytes)) as? [String: Any] else {
            throw UnclipError.model("\(vocabPath): not a JSON object of token → id")
        }
        var vocab = [String: Int](minimumCapacity: json.count)
        for (k, v) in json {
            guard let id = (v as? NSNumber)?.intValue else { throw UnclipError.model("\(vocabPath): id of \(k) is not a number") }
            vocab[k] = id
        }
        guard let bos = vocab["<|startoftext|>"], let eos = vocab["<|endoftext|>"] else {
            throw UnclipError.model("\(vocabPath): has no <|startoftext|>/<|endoftext|> tokens; not a CLIP vocabulary")
        }
        self.bosID = bos
        self.eosID = eos
        self.vocabularySize = vocab.count

        let table = CLIPTokenizer.byteToUnicode
        var byteIDs = [Int32](), byteEndIDs = [Int32]()
        for b in 0..<256 {
            let s = String(table[b])
            guard let a = vocab[s], let e = vocab[s + "</w>"] else {
                throw UnclipError.model("\(vocabPath): byte symbol \(b) missing; not a byte-level BPE vocabulary")
            }
            byteIDs.append(Int32(a)); byteEndIDs.append(Int32(e))
        }
        self.byteIDs = byteIDs
        self.byteEndIDs = byteEndIDs

        let mergeText = String(decoding: try IO.read(mergesPath), as: UTF8.self)
        var merges = [UInt64: (rank: Int32, id: Int32)]()
        var rank: Int32 = 0
        for (lineNo, line) in mergeText.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = line.hasSuffix("\r") ? line.dropLast() : line[...]
            if line.isEmpty || (lineNo == 0 && line.hasPrefix("#version")) { continue }
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { throw UnclipError.model("\(mergesPath):\(lineNo + 1): expected two symbols") }
            guard let l = vocab[String(parts[0])], let r = vocab[String(parts[1])],
                  let m = vocab[String(parts[0]) + String(parts[1])] else {
                throw UnclipError.model("\(mergesPath):\(lineNo + 1): merge \(line) uses symbols missing from the vocabulary")
            }
            let key = UInt64(UInt32(l)) << 32 | UInt64(UInt32(r))
            // The first occurrence of a pair wins, as in `tokenizers`.
            if merges[key] == nil { merges[key] = (rank, Int32(m)) }
            rank += 1
        }
        self.merges = merges
    }

    /// Token ids for one text: BOS, the text's ids (truncated), EOS. No padding.
    public func encode(_ text: String) -> [Int] { encodeNoting(text).ids }

    /// `encode`, and whether the text had more tokens than fit.
    public func encodeNoting(_ text: String) -> (ids: [Int], truncated: Bool) {
        var ids = [Int]()
        let room = contextLength - 2
        // One token past the room is enough to know the text was cut.
        outer: for segment in CLIPTokenizer.splitSpecial(text) {
            switch segment {
            case .special(let name):
                ids.append(name == "<|startoftext|>" ? bosID : eosID)
            case .text(let t):
                for word in CLIPTokenizer.preTokenize(CLIPTokenizer.normalize(t)) {
                    for id in bpe(word) { ids.append(Int(id)) }
                    if ids.count > room { break outer }
                }
            }
            if ids.count > room { break }
        }
        let truncated = ids.count > room
        if truncated { ids.removeLast(ids.count - room) }
        return ([bosID] + ids + [eosID], truncated)
    }

    // MARK: - Normalisation and pre-tokenisation

    /// How the pre-tokeniser's regular expressions see one scalar.
    public enum ScalarClass: String, Sendable {
        case letter = "L", number = "N", space = "S", other = "O"
    }

    public static func scalarClass(_ u: Unicode.Scalar) -> ScalarClass {
        isSpace(u) ? .space : isLetter(u) ? .letter : isNumber(u) ? .number : .other
    }

    /// The normalised text BPE sees (NFC, one space per white-space run, lower case).
    public static func normalized(_ text: String) -> String {
        scalarsString(normalize(text))
    }

    enum Segment: Equatable { case special(String), text(String) }

    private static let specials = ["<|startoftext|>", "<|endoftext|>"].map { Array($0.unicodeScalars) }

    /// Splits the raw text around literal special tokens (case-sensitive, before
    /// any normalisation, as `tokenizers` does for added tokens).
    static func splitSpecial(_ text: String) -> [Segment] {
        let s = Array(text.unicodeScalars)
        var out = [Segment]()
        var start = 0, i = 0
        while i < s.count {
            var matched: [Unicode.Scalar]? = nil
            if s[i] == "<" {
                for sp in specials where i + sp.count <= s.count && Array(s[i..<(i + sp.count)]) == sp {
                    matched = sp; break
                }
            }
            if let sp = matched {
                if start < i { out.append(.text(scalarsString(s[start..<i]))) }
                out.append(.special(scalarsString(sp[...])))
                i += sp.count
                start = i
            } else {
                i += 1
            }
        }
        if start < s.count { out.append(.text(scalarsString(s[start..<s.count]))) }
        return out
    }

    /// NFC, white-space runs to one space, lower case per scalar.
    static func normalize(_ text: String) -> [Unicode.Scalar] {
        let nfc = nfcUnicode9(text)
        var out = [Unicode.Scalar]()
        out.reserveCapacity(nfc.count)
        var inSpace = false
        for u in nfc {
            if isSpace(u) {
                if !inSpace { out.append(" ") }
                inSpace = true
                continue
            }
            inSpace = false
            if u.isASCII {
                out.append(u.value >= 65 && u.value <= 90 ? Unicode.Scalar(u.value + 32)! : u)
            } else {
                out.append(contentsOf: u.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return out
    }

    /// NFC as `tokenizers` computes it: its normaliser
    /// (`unicode-normalization-alignments`) has Unicode 9.0 tables, so a
    /// scalar added later is, to it, unassigned: a starter that neither
    /// decomposes nor composes nor reorders with its neighbours (U+1ABF after
    /// U+1ABB stays put, where today's NFC swaps them). Normalising each run
    /// of Unicode ≤ 9.0 scalars on its own and passing the newer ones through
    /// reproduces that exactly, because NFC is stable for assigned characters
    /// across versions.
    static func nfcUnicode9(_ text: String) -> [Unicode.Scalar] {
        let scalars = text.unicodeScalars
        if scalars.allSatisfy({ $0.isASCII }) { return Array(scalars) }
        var out = [Unicode.Scalar]()
        out.reserveCapacity(scalars.count)
        var run = String.UnicodeScalarView()
        func flush() {
            if run.isEmpty { return }
            for u in String(run).precomposedStringWithCanonicalMapping.unicodeScalars {
                // Foundation's NFC leaves an LV syllable followed by a trailing
                // consonant uncomposed (가 + ᇁ); Unicode §3.12 composes them.
                if let last = out.last, (0x11A8...0x11C2).contains(u.value),
                   (0xAC00...0xD7A3).contains(last.value), (last.value - 0xAC00) % 28 == 0 {
                    out[out.count - 1] = Unicode.Scalar(last.value + u.value - 0x11A7)!
                } else {
                    out.append(u)
                }
            }
            run = String.UnicodeScalarView()
        }
        for u in scalars {
            if let age = u.properties.age, age.major > 9 {
                flush()
                out.append(u)
            } else {
                run.append(u)
            }
        }
        flush()
        return out
    }

    /// CLIP's pattern first, then GPT-2's byte-level pattern on each piece
    /// (the second only splits pieces like `<|endoftext|>` that were not
    /// recognised as special tokens).
    static func preTokenize(_ s: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var words = [[Unicode.Scalar]]()
        var i = 0
        while i < s.count {
            if let n = matchCLIP(s, i) {
                let piece = Array(s[i..<(i + n)])
                if literalSpecials.contains(piece) {
                    words.append(contentsOf: splitGPT2(piece))
                } else {
                    words.append(piece)
                }
                i += n
            } else {
                i += 1 // only white space matches nothing, and it is dropped
            }
        }
        return words
    }

    private static let contractions: [[Unicode.Scalar]] = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"].map { Array($0.unicodeScalars) }
    private static let literalSpecials: [[Unicode.Scalar]] = ["<|startoftext|>", "<|endoftext|>"].map { Array($0.unicodeScalars) }

    private static func hasPrefix(_ s: [Unicode.Scalar], _ i: Int, _ p: [Unicode.Scalar]) -> Bool {
        guard i + p.count <= s.count else { return false }
        for k in 0..<p.count where s[i + k] != p[k] { return false }
        return true
    }

    /// Length of the CLIP-pattern match at `i`, alternatives tried in order.
    private static func matchCLIP(_ s: [Unicode.Scalar], _ i: Int) -> Int? {
        for p in literalSpecials where hasPrefix(s, i, p) { return p.count }
        for p in contractions where hasPrefix(s, i, p) { return p.count }
        let u = s[i]
        if isLetter(u) {
            var j = i + 1
            while j < s.count && isLetter(s[j]) { j += 1 }
            return j - i
        }
        if isNumber(u) { return 1 }
        if !isSpace(u) {
            var j = i + 1
            while j < s.count && isOther(s[j]) { j += 1 }
            return j - i
        }
        return nil
    }

    /// GPT-2's pattern on a piece without white space:
    /// `'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}+|[^\s\p{L}\p{N}]+`.
    private static func splitGPT2(_ s: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var out = [[Unicode.Scalar]]()
        var i = 0
        while i < s.count {
            var n = 0
            for p in contractions where hasPrefix(s, i, p) { n = p.count; break }
            if n == 0 {
                let cls: (Unicode.Scalar) -> Bool = isLetter(s[i]) ? isLetter : isNumber(s[i]) ? isNumber : isOther
                var j = i + 1
                while j < s.count && cls(s[j]) { j += 1 }
                n = j - i
            }
            out.append(Array(s[i..<(i + n)]))
            i += n
        }
        return out
    }

    static func isLetter(_ u: Unicode.Scalar) -> Bool {
        if u.isASCII { return (u.value | 0x20) >= 97 && (u.value | 0x20) <= 122 }
        if isNewerThanOniguruma(u) { return false }
        switch u.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isNumber(_ u: Unicode.Scalar) -> Bool {
        if u.isASCII { return u.value >= 48 && u.value <= 57 }
        if isNewerThanOniguruma(u) { return false }
        switch u.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// The regular expressions of `tokenizers` 0.23 run on Oniguruma, whose
    /// property tables are Unicode 16.0; Swift 6.3's are 17.0. A scalar that
    /// Unicode 17 added (4,657 of them, such as U+18DC7 or U+1E6E4) is
    /// unassigned to Oniguruma, so it must not count as a letter or number
    /// here either (an exhaustive comparison over all scalars found no other
    /// difference). Lower-casing is Rust's and already knows Unicode 17.
    @inline(__always) static func isNewerThanOniguruma(_ u: Unicode.Scalar) -> Bool {
        guard let age = u.properties.age else { return false }
        return age.major > 16
    }

    /// Oniguruma's `\s` on UTF-8 text is Unicode White_Space.
    static func isSpace(_ u: Unicode.Scalar) -> Bool {
        if u.isASCII { return u == " " || (u.value >= 9 && u.value <= 13) }
        return u.properties.isWhitespace
    }

    private static func isOther(_ u: Unicode.Scalar) -> Bool { !isSpace(u) && !isLetter(u) && !isNumber(u) }

    private static func scalarsString<C: Collection>(_ c: C) -> String where C.Element == Unicode.Scalar {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: c)
        return String(s)
    }

    // MARK: - Byte-level BPE

    /// GPT-2's reversible bytes→unicode table: printable Latin-1 bytes map to
    /// themselves, the rest to U+0100 onwards, so every byte is a visible symbol.
    static let byteToUnicode: [Character] = {
        var keep = Set<Int>()
        for r in [0x21...0x7E, 0xA1...0xAC, 0xAE...0xFF] { for b in r { keep.insert(b) } }
        var table = [Character](repeating: " ", count: 256)
        var n = 0
        for b in 0..<256 {
            if keep.contains(b) {
                table[b] = Character(Unicode.Scalar(UInt32(b))!)
            } else {
                table[b] = Character(Unicode.Scalar(UInt32(256 + n))!)
                n += 1
            }
        }
        return table
    }()

    private func bpe(_ word: [Unicode.Scalar]) -> [Int32] {
        let bytes = Array(CLIPTokenizer.scalarsString(word).utf8)
        lock.lock()
        if let hit = cache[bytes] { lock.unlock(); return hit }
        lock.unlock()

        var symbols = [Int32]()
        symbols.reserveCapacity(bytes.count)
        for (k, b) in bytes.enumerated() {
            symbols.append(k == bytes.count - 1 ? byteEndIDs[Int(b)] : byteIDs[Int(b)])
        }
        // Merge the lowest-ranked adjacent pair, every occurrence left to right,
        // until no pair has a merge (CLIP's `simple_tokenizer.bpe`).
        while symbols.count > 1 {
            var best: Int32 = .max, bestID: Int32 = 0
            var bestL: Int32 = 0, bestR: Int32 = 0
            for k in 0..<(symbols.count - 1) {
                if let m = merges[UInt64(UInt32(bitPattern: symbols[k])) << 32 | UInt64(UInt32(bitPattern: symbols[k + 1]))],
                   m.rank < best {
                    best = m.rank; bestID = m.id; bestL = symbols[k]; bestR = symbols[k + 1]
                }
            }
            if best == .max { break }
            var merged = [Int32]()
            merged.reserveCapacity(symbols.count)
            var k = 0
            while k < symbols.count {
                if k + 1 < symbols.count && symbols[k] == bestL && symbols[k + 1] == bestR {
                    merged.append(bestID); k += 2
                } else {
                    merged.append(symbols[k]); k += 1
                }
            }
            symbols = merged
        }

        lock.lock()
        if cache.count > 50_000 { cache.removeAll(keepingCapacity: true) }
        cache[bytes] = symbols
        lock.unlock()
        return symbols
    }
}
