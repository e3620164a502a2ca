import Foundation
import XCTest
import UnclipKit

/// `unclip info` as a shell user runs it: real files, real pipes, exit codes,
/// the exact lines on stdout and stderr, and nothing written anywhere.
final class InfoCommandTests: XCTestCase {
    func image(_ name: String) -> String { Fixtures.path("images/" + name) }

    func testDescribesEveryStoredVariant() throws {
        let r = try CLI.run(["info", "png-gray1-adam7.png", "png-rgba16.png", "png-palette-trns.png", "png-exif6.png",
                             "jpeg-progressive.jpg", "jpeg-gray.jpg", "jpeg-cmyk-adobe.jpg", "jpeg-exif8.jpg"],
                            cwd: Fixtures.root.appendingPathComponent("images"))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(r.stdoutText, """
        png-gray1-adam7.png: PNG 13x9, gray, 1 channel, 1-bit, interlaced
        png-rgba16.png: PNG 13x9, RGBA, 4 channels, 16-bit
        png-palette-trns.png: PNG 13x9, palette, 1 channel, 8-bit, tRNS transparency
        png-exif6.png: PNG 13x9, RGB, 3 channels, 8-bit, EXIF orientation 6 (rotated 90 clockwise)
        jpeg-progressive.jpg: JPEG 13x9, YCbCr, 3 channels, 8-bit, progressive
        jpeg-gray.jpg: JPEG 13x9, gray, 1 channel, 8-bit
        jpeg-cmyk-adobe.jpg: JPEG 13x9, CMYK, 4 channels, 8-bit
        jpeg-exif8.jpg: JPEG 13x9, YCbCr, 3 channels, 8-bit, EXIF orientation 8 (rotated 90 counter-clockwise)

        """)
    }

    func testImageThroughARealPipe() throws {
        let dir = try CLI.tempDir(self)
        try FileManager.default.copyItem(atPath: image("png-graya16.png"), toPath: dir.appendingPathComponent("x.png").path)
        let r = try CLI.shell("cat x.png | unclip info -", cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdoutText, "stdin: PNG 13x9, gray+alpha, 2 channels, 16-bit\n")
        // No argument means stdin too.
        let j = try CLI.shell("cat \(image("jpeg-exif3.jpg")) | unclip info", cwd: dir)
        XCTAssertEqual(j.stdoutText, "stdin: JPEG 13x9, YCbCr, 3 channels, 8-bit, EXIF orientation 3 (rotated 180)\n")
    }

    func testEmbeddingStreamThroughARealPipe() throws {
        let dir = try CLI.tempDir(self)
        let emb = Fixtures.root.appendingPathComponent("embeddings")
        let r = try CLI.shell("cat python-written.emb swift-written.emb swift-written-v1.emb | unclip info -", cwd: emb)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdoutText, """
        stdin[0]: unclip embedding v1, image, model python-test, dim 16, source python.png, exemplar 5x4
        stdin[1]: unclip embedding v2, image, model swift-test, dim 16, source swift.png, exemplar 6x4, norm 18.439089, latent 2x2x3
        stdin[2]: unclip embedding v1, image, model swift-test, dim 16, source swift.png, exemplar 6x4

        """)
        let one = try CLI.run(["info", emb.appendingPathComponent("swift-written.emb").path], cwd: dir)
        XCTAssertEqual(one.stdoutText, "\(emb.path)/swift-written.emb: unclip embedding v2, image, model swift-test, dim 16, source swift.png, exemplar 6x4, norm 18.439089, latent 2x2x3\n")
    }

    /// Runs `unclip info` on bad input in an empty folder and checks the exit
    /// status, the single stderr line, an empty stdout and an empty folder.
    func expectFailure(_ args: [String], stdin: Data? = nil, status: Int32 = 1, message: String,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = try CLI.tempDir(self)
        let r = try CLI.run(["info"] + args, stdin: stdin, cwd: dir)
        XCTAssertEqual(r.status, status, r.stderr, file: file, line: line)
        XCTAssertEqual(r.stderr, "unclip info: \(message)\n", file: file, line: line)
        XCTAssertEqual(r.stdout.count, 0, file: file, line: line)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [], "info wrote a file", file: file, line: line)
    }

    func testTruncatedPNG() throws {
        let png = try Data(contentsOf: URL(fileURLWithPath: image("png-rgb8.png")))
        try expectFailure(["-"], stdin: png.prefix(png.count - 20), message: "stdin: truncated or damaged PNG (chunk IDAT declares 272 bytes, 264 follow)")
    }

    func testTruncatedJPEG() throws {
        let jpg = try Data(contentsOf: URL(fileURLWithPath: image("jpeg-photo420.jpg")))
        try expectFailure(["-"], stdin: jpg.prefix(jpg.count - 100), message: "stdin: damaged JPEG (truncated file)")
    }

    func testZeroByteStdin() throws {
        try expectFailure(["-"], stdin: Data(), message: "stdin: empty input")
    }

    func testNaNInAnEmbedding() throws {
        var e = try EmbeddingFile.read(Fixtures.path("embeddings/swift-written.emb"))
        e.embedding[3] = .nan
        try expectFailure(["-"], stdin: Data(e.serialize()),
                          message: "stdin: the embedding has a non-finite value (nan) at index 3")
    }

    func testOversizeImageRefusedWithMaxPixels() throws {
        try expectFailure(["--max-pixels", "100", image("png-rgb8.png")],
                          message: "\(image("png-rgb8.png")): 13x9 is 117 pixels, over the limit of 100 (raise it with --max-pixels)")
        let ok = try CLI.run(["info", "--max-pixels", "117", image("png-rgb8.png")])
        XCTAssertEqual(ok.status, 0, ok.stderr)
    }

    func testDecompressionBombRefused() throws {
        try expectFailure(["-"], stdin: try Data(contentsOf: URL(fileURLWithPath: image("bomb.png"))),
                          message: "stdin: 100000x100000 is 10000000000 pixels, over the limit of 64000000 (raise it with --max-pixels)")
    }

    func testUnsupportedFormat() throws {
        try expectFailure(["-"], stdin: Data("GIF89a".utf8), message: "stdin: not an image or embedding file (GIF image)")
    }

    /// With no file and stdin a terminal, `info` says so instead of waiting
    /// for binary data to be typed. script(1) gives the command a real tty.
    func testRefusesToReadATerminal() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else {
            throw XCTSkip("script(1) is not installed")
        }
        let r = try CLI.shell("script -qec 'unclip info' /dev/null", cwd: try CLI.tempDir(self))
        XCTAssertEqual(r.status, 64, r.stdoutText + r.stderr)
        // script(1) copies the terminal's output, stderr included, to its stdout.
        XCTAssertTrue(r.stdoutText.contains("unclip info: refusing to read binary data from a terminal: give a file or pipe one in"),
                      r.stdoutText)
    }

    /// identify(1)-style: the readable files are still described.
    func testOneBadFileAmongGoodOnes() throws {
        let r = try CLI.run(["info", image("png-gray8.png"), "/no/such.png", image("jpeg-gray.jpg")])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "unclip info: /no/such.png: no such file\n")
        XCTAssertEqual(r.stdoutText.split(separator: "\n").count, 2)
    }
}
