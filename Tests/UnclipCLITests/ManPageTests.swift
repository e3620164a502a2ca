import Foundation
import XCTest

/// Every option a subcommand's `--help` lists must be documented in its man
/// page `Man/unclip-<sub>.1`, so the pages cannot silently fall behind the
/// code. Subcommands are taken from `unclip --help`, so a new subcommand
/// without a page fails here by name.
final class ManPageTests: XCTestCase {
    static let manDir = Fixtures.root.deletingLastPathComponent().appendingPathComponent("Man")

    /// ArgumentParser adds these to every command; they are not the page's subject.
    static let generic: Set<String> = ["-h", "--help", "--version"]

    /// The names under a help section heading such as "SUBCOMMANDS:".
    static func section(_ help: String, _ title: String) -> [String] {
        var inside = false
        var out: [String] = []
        for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasSuffix(":") && !line.hasPrefix(" ") { inside = line == "\(title):"; continue }
            if inside { out.append(String(line)) }
        }
        return out
    }

    static func subcommands(_ help: String) -> [String] {
        section(help, "SUBCOMMANDS").compactMap { line in
            // "  encode    Encode images..." at two spaces; wrapped descriptions are indented further.
            guard line.hasPrefix("  "), !line.hasPrefix("   ") else { return nil }
            let name = line.split(separator: " ").first.map(String.init) ?? ""
            // The closing "  See 'unclip help <subcommand>'" line is prose, not a name.
            guard name != "help", name.range(of: "^[a-z][a-z0-9-]*$", options: .regularExpression) != nil else { return nil }
            return name
        }
    }

    /// Option names from the OPTIONS section: "  -n, --count <count>   How many" gives -n and --count;
    /// "--[no-]progress" gives --progress and --no-progress.
    static func options(_ help: String) -> Set<String> {
        var out = Set<String>()
        for line in section(help, "OPTIONS") {
            guard line.hasPrefix("  "), !line.hasPrefix("   "),
                  line.dropFirst(2).hasPrefix("-") else { continue }
            let names = line.dropFirst(2).components(separatedBy: "  ")[0]
            for token in names.split(whereSeparator: { $0 == "," || $0 == " " }) {
                var t = String(token)
                if t.hasPrefix("--[no-]") {
                    let base = String(t.dropFirst("--[no-]".count))
                    out.insert("--" + base); out.insert("--no-" + base)
                    continue
                }
                if let eq = t.firstIndex(of: "=") { t = String(t[..<eq]) }
                if t.range(of: #"^(-[A-Za-z0-9]|--[A-Za-z0-9][A-Za-z0-9-]*)$"#, options: .regularExpression) != nil {
                    out.insert(t)
                }
            }
        }
        return out.subtracting(generic)
    }

    /// The page as plain text: font escapes dropped, `\-` as `-`.
    static func plainText(_ troff: String) -> String {
        var s = troff.replacingOccurrences(of: #"\\f(\[[^\]]*\]|\(..|.)"#, with: "", options: .regularExpression)
        s = s.replacingOccurrences(of: "\\-", with: "-")
        s = s.replacingOccurrences(of: "\\&", with: "")
        return s
    }

    /// Whether `option` occurs as a whole word: `--seed` is not found in `--seeds`, `-n` not in `-no`.
    static func mentions(_ text: String, _ option: String) -> Bool {
        let escaped = NSRegularExpression.escapedPattern(for: option)
        return text.range(of: "(?<![A-Za-z0-9-])" + escaped + "(?![A-Za-z0-9-])", options: .regularExpression) != nil
    }

    func help(_ args: [String]) throws -> String {
        let r = try CLI.run(args + ["--help"])
        XCTAssertEqual(r.status, 0, "unclip \(args.joined(separator: " ")) --help: \(r.stderr)")
        return r.stdoutText
    }

    func testEverySubcommandHasAPageNamingEveryOption() throws {
        let subs = Self.subcommands(try help([]))
        XCTAssertTrue(subs.contains("info") && subs.count >= 5, "could not read subcommands from unclip --help: \(subs)")
        for sub in subs {
            let page = Self.manDir.appendingPathComponent("unclip-\(sub).1")
            guard let troff = try? String(contentsOf: page, encoding: .utf8) else {
                XCTFail("Man/unclip-\(sub).1 is missing (unclip \(sub) has no man page)")
                continue
            }
            let text = Self.plainText(troff)
            // Nested subcommands (`unclip model pull`) are documented on the parent's page.
            let top = try help([sub])
            var helps = [([sub], top)]
            for nested in Self.subcommands(top) { helps.append(([sub, nested], try help([sub, nested]))) }
            for (args, h) in helps {
                for opt in Self.options(h).sorted() where !Self.mentions(text, opt) {
                    XCTFail("Man/unclip-\(sub).1 does not mention \(opt) (from unclip \(args.joined(separator: " ")) --help)")
                }
            }
            XCTAssertTrue(troff.contains(".TH UNCLIP-\(sub.uppercased()) 1"), "Man/unclip-\(sub).1 lacks its .TH line")
        }
    }

    func testMainPageNamesEverySubcommand() throws {
        let text = Self.plainText(try String(contentsOf: Self.manDir.appendingPathComponent("unclip.1"), encoding: .utf8))
        for sub in Self.subcommands(try help([])) {
            XCTAssertTrue(text.contains(".B \(sub)\n"), "Man/unclip.1 has no entry for \(sub)")
            XCTAssertTrue(text.contains("unclip-\(sub) (1)"), "Man/unclip.1 does not refer to unclip-\(sub)(1)")
        }
        for topic in ["UNCLIP_MODEL", "~/.cache/unclip/models", ".SH EXIT STATUS", "64"] {
            XCTAssertTrue(text.contains(topic), "Man/unclip.1 does not mention \(topic)")
        }
    }

    /// The extraction itself, on help text in ArgumentParser's layout, so a
    /// page cannot pass because no option was found.
    func testOptionExtraction() {
        let h = """
        OVERVIEW: x

        USAGE: unclip vary [-n <n>] [--seed <seed>]

        ARGUMENTS:
          <input>                 An embedding (- for stdin).

        OPTIONS:
          -n, --count <count>     How many images. Not --fake here.
          --seed <seed>           Random seed.
          --[no-]progress         Progress.
          -o <pattern>            Output, like -x in prose.
          --max-pixels <max-pixels>
                                  Limit; see --other.
          --version               Show the version.
          -h, --help              Show help information.

        """
        XCTAssertEqual(Self.options(h), ["-n", "--count", "--seed", "--progress", "--no-progress", "-o", "--max-pixels"])
        XCTAssertTrue(Self.mentions(Self.plainText(".BR \\fB\\-\\-seed\\fR ,"), "--seed"))
        XCTAssertFalse(Self.mentions("--seeds", "--seed"))
        XCTAssertFalse(Self.mentions("--no", "-n"))
        XCTAssertEqual(Self.subcommands("SUBCOMMANDS:\n  encode     Encode.\n                 more\n  pull       Pull.\n\n  See 'x'."),
                       ["encode", "pull"])
    }
}
