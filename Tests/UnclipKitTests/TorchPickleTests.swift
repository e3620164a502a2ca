import Foundation
import XCTest
import UnclipKit

/// The restricted `.bin` reader: the tiny UNet saved by `torch.save` in both
/// layouts must read back exactly as its safetensors twin, and checkpoints
/// that would run code, or are damaged, must be refused without running
/// anything (Fixtures/diffusion/pickle, written by
/// Fixtures/reference/make_diffusion_fixtures.py).
final class TorchPickleTests: XCTestCase {
    var pickles: URL { KitFixtures.root.appendingPathComponent("diffusion/pickle") }
    var reference: String {
        KitFixtures.root.appendingPathComponent("diffusion/tiny-a/decoder/unet/diffusion_pytorch_model.safetensors").path
    }

    func tempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("unclip-pickle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    func write(_ bytes: [UInt8], _ name: String, in dir: URL) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// Throws `UnclipError.badInput` whose message names the file and contains every part.
    func assertBadInput(_ path: String, mentioning parts: [String] = [], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try TorchPickle(path: path), file: file, line: line) { error in
            let msg = "\(error)"
            XCTAssertEqual(error as? UnclipError, .badInput(msg), "should be a bad-input error: \(msg)", file: file, line: line)
            XCTAssertTrue(msg.contains(path), "\"\(msg)\" should name the file", file: file, line: line)
            for p in parts { XCTAssertTrue(msg.contains(p), "\"\(msg)\" should mention \(p)", file: file, line: line) }
        }
    }

    // MARK: Reading

    func assertMatchesReference(_ name: String) throws {
        let path = pickles.appendingPathComponent(name).path
        let t = try TorchPickle(path: path)
        let st = try SafeTensors(mappingFile: reference)
        XCTAssertEqual(t.names.count, st.names.count, "\(name): tensor count")
        XCTAssertEqual(Set(t.names), Set(st.names), "\(name): tensor names")
        for n in st.names {
            guard let info = t.info(n) else { XCTFail("\(name) lacks \(n)"); continue }
            let ref = try st.info(n)
            XCTAssertEqual(info.shape, ref.shape, "\(name): shape of \(n)")
            XCTAssertEqual(info.dtype, ref.dtype, "\(name): type of \(n)")
            let got = try t.floats(n), want = try st.floats(n)
            XCTAssertTrue(got == want, "\(name): values of \(n) differ from the safetensors file")
        }
    }

    func testZipCheckpointMatchesSafetensors() throws {
        try assertMatchesReference("unet.bin")
        XCTAssertEqual(try TorchPickle(path: pickles.appendingPathComponent("unet.bin").path).format, .zip)
    }

    func testLegacyCheckpointMatchesSafetensors() throws {
        try assertMatchesReference("unet-legacy.bin")
        XCTAssertEqual(try TorchPickle(path: pickles.appendingPathComponent("unet-legacy.bin").path).format, .legacy)
    }

    func testUnknownNameIsAnError() throws {
        let t = try TorchPickle(path: pickles.appendingPathComponent("unet.bin").path)
        XCTAssertNil(t.info("no.such.weight"))
        XCTAssertThrowsError(try t.floats("no.such.weight"))
    }

    // MARK: Refusing code

    func testZipPickleCallingOsSystemIsRefused() {
        // data.pkl is {"encoder.conv_in.weight": os.system("echo ...")}: GLOBAL then REDUCE.
        // Refused at the GLOBAL, so the REDUCE that would call it is never reached.
        assertBadInput(pickles.appendingPathComponent("evil-global.bin").path, mentioning: ["refused", "os.system"])
    }

    func testLegacyPickleCallingEvalIsRefused() {
        // The main pickle is {"weight": builtins.eval("'...'")}.
        assertBadInput(pickles.appendingPathComponent("evil-legacy.bin").path, mentioning: ["refused", "builtins.eval"])
    }

    // Hand-built pickles, opcode by opcode (names as `pickletools.dis` prints them).

    func binunicode(_ s: String) -> [UInt8] {
        let b = Array(s.utf8)
        let length: [UInt8] = withUnsafeBytes(of: UInt32(b.count).littleEndian) { Array($0) }
        return [0x58] + length + b
    }

    func short(_ s: String) -> [UInt8] {   // SHORT_BINUNICODE
        let b = Array(s.utf8)
        return [0x8C, UInt8(b.count)] + b
    }

    func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array("\(module)\n\(name)\n".utf8) }

    /// A legacy-layout checkpoint: magic number, protocol 1001, an empty
    /// system-info dict, `main`, then the storages (key, raw bytes) in order.
    func legacyFile(main: [UInt8], storages: [(key: String, count: Int, bytes: [UInt8])] = []) -> [UInt8] {
        var f: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
        f += [0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E]          // 1001
        f += [0x80, 0x02, 0x7D, 0x2E]                      // {}
        f += main
        f += [0x80, 0x02, 0x5D, 0x28]                      // EMPTY_LIST, MARK
        for s in storages { f += binunicode(s.key) }
        f += [0x65, 0x2E]                                  // APPENDS, STOP
        for s in storages {
            let count: [UInt8] = withUnsafeBytes(of: UInt64(s.count).littleEndian) { Array($0) }
            f += count
            f += s.bytes
        }
        return f
    }

    /// {"weight": module.name(argument)} in protocol 2, or 4 with STACK_GLOBAL.
    func callPickle(_ module: String, _ name: String, _ argument: String, stackGlobal: Bool = false) -> [UInt8] {
        var p: [UInt8] = [0x80, stackGlobal ? 0x04 : 0x02, 0x7D]   // PROTO, EMPTY_DICT
        p += binunicode("weight")
        if stackGlobal {
            p += short(module)
            p += short(name)
            p += [0x93]                                             // STACK_GLOBAL
        } else {
            p += global(module, name)
        }
        p += binunicode(argument)
        p += [0x85, 0x52, 0x73, 0x2E]                              // TUPLE1, REDUCE, SETITEM, STOP
        return p
    }

    func testPicklesThatWouldTouchAFileAreRefusedAndNothingRuns() throws {
        let dir = try tempDir()
        let marker = dir.appendingPathComponent("UNCLIP_EVIL_PICKLE_EXECUTED")
        let calls: [(String, String, String, Bool)] = [
            ("os", "system", "touch \(marker.path)", false),
            ("posix", "system", "touch \(marker.path)", true),
            ("builtins", "exec", "open('\(marker.path)', 'w').close()", false),
            ("__builtin__", "eval", "open('\(marker.path)', 'w')", false),
            ("subprocess", "call", "touch \(marker.path)", true),
            // A torch global that is not among the few a state dict needs.
            ("torch", "load", marker.path, false),
        ]
        for (i, c) in calls.enumerated() {
            let path = try write(legacyFile(main: callPickle(c.0, c.1, c.2, stackGlobal: c.3)), "evil\(i).bin", in: dir)
            assertBadInput(path, mentioning: ["refused", "\(c.0).\(c.1)"])
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker.path), "a refused pickle ran its payload")
    }

    func testOpcodesOutsideTheStateDictSubsetAreRefused() throws {
        let dir = try tempDir()
        // INST: the protocol-0 way to call a global.
        var inst: [UInt8] = [0x80, 0x02, 0x7D]
        inst += binunicode("weight")
        inst += [0x28]                                      // MARK
        inst += binunicode("echo hi")
        inst += [0x69] + Array("os\nsystem\n".utf8)          // INST os system
        inst += [0x73, 0x2E]
        assertBadInput(try write(legacyFile(main: inst), "inst.bin", in: dir), mentioning: ["refused", "INST"])
        // NEWOBJ on an allowed global is still refused.
        var newobj: [UInt8] = [0x80, 0x02]
        newobj += global("collections", "OrderedDict")
        newobj += [0x29, 0x81, 0x2E]
        assertBadInput(try write(legacyFile(main: newobj), "newobj.bin", in: dir), mentioning: ["refused", "NEWOBJ"])
    }

    // MARK: Layout checks

    /// {"w": a 2×2 float tensor with the given strides over storage "0"}.
    func tensorPickle(strides: (UInt8, UInt8), numel: UInt8 = 4) -> [UInt8] {
        var p: [UInt8] = [0x80, 0x02, 0x7D]                        // PROTO 2, EMPTY_DICT
        p += binunicode("w")
        p += global("torch._utils", "_rebuild_tensor_v2")
        p += [0x28, 0x28]                                          // MARK (arguments), MARK (persistent id)
        p += binunicode("storage")
        p += global("torch", "FloatStorage")
        p += binunicode("0")
        p += binunicode("cpu")
        p += [0x4B, numel, 0x4E, 0x74, 0x51]                       // numel, NONE (view), TUPLE, BINPERSID
        p += [0x4B, 0]                                             // storage offset
        p += [0x4B, 2, 0x4B, 2, 0x86]                              // size (2, 2)
        p += [0x4B, strides.0, 0x4B, strides.1, 0x86]              // stride
        p += [0x89]                                                // requires_grad False
        p += global("collections", "OrderedDict")
        p += [0x29, 0x52]                                          // (), REDUCE: the backward hooks
        p += [0x74, 0x52, 0x73, 0x2E]                              // TUPLE, REDUCE, SETITEM, STOP
        return p
    }

    let fourFloats: [UInt8] = [Float(1), 2, 3, 4].withUnsafeBytes { Array($0) }

    func testHandBuiltContiguousTensorReads() throws {
        let dir = try tempDir()
        let path = try write(legacyFile(main: tensorPickle(strides: (2, 1)), storages: [("0", 4, fourFloats)]), "ok.bin", in: dir)
        let t = try TorchPickle(path: path)
        XCTAssertEqual(t.names, ["w"])
        XCTAssertEqual(t.info("w")?.shape, [2, 2])
        XCTAssertEqual(try t.floats("w"), [1, 2, 3, 4])
    }

    func testNonContiguousTensorIsRefused() throws {
        let dir = try tempDir()
        let path = try write(legacyFile(main: tensorPickle(strides: (1, 2)), storages: [("0", 4, fourFloats)]), "t.bin", in: dir)
        assertBadInput(path, mentioning: ["w", "contiguous"])
    }

    func testTensorPastItsStorageIsRefused() throws {
        let dir = try tempDir()
        // The persistent id says 3 elements; a 2×2 tensor needs 4.
        let three = Array(fourFloats.prefix(12))
        let path = try write(legacyFile(main: tensorPickle(strides: (2, 1), numel: 3), storages: [("0", 3, three)]), "t.bin", in: dir)
        assertBadInput(path, mentioning: ["w", "past the end of its storage"])
    }

    // MARK: Damage

    func testTruncatedCheckpointsAreRefused() throws {
        let dir = try tempDir()
        for name in ["unet.bin", "unet-legacy.bin"] {
            let bytes = Array(try Data(contentsOf: pickles.appendingPathComponent(name)))
            let n = bytes.count
            for cut in [20, 100, 1000, n / 40, n / 2, n - 200, n - 1] {
                let path = try write(Array(bytes.prefix(cut)), "cut-\(cut)-\(name)", in: dir)
                assertBadInput(path)
            }
        }
    }

    func testGarbageIsRefused() throws {
        let dir = try tempDir()
        var rng = SystemRandomNumberGenerator()
        for i in 0..<20 {
            var bytes = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }
            // Garbage that starts like either layout gets past the first check.
            if i % 3 == 1 { bytes.replaceSubrange(0..<4, with: [0x50, 0x4B, 0x03, 0x04]) }
            if i % 3 == 2 { bytes.replaceSubrange(0..<2, with: [0x80, 0x02]) }
            assertBadInput(try write(bytes, "garbage\(i).bin", in: dir))
        }
        assertBadInput(try write([0x80, 0x02, 0x2E], "tiny.bin", in: dir))
    }
}
