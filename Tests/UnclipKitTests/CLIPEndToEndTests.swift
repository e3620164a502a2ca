import Foundation
import XCTest
import UnclipKit

/// From files to embeddings through the whole pipeline (PNG decoder,
/// CLIPImagePreprocessor, CLIPTokenizer, both towers) against transformers'
/// CLIPImageProcessor + CLIPTokenizer + CLIPModel on the same files.
final class CLIPEndToEndTests: XCTestCase {
    func testImageFilesMatchTransformers() throws {
        for name in CLIPModelFixtures.clipModels {
            let model = try CLIPModel(directory: CLIPModelFixtures.url("clip/\(name)"))
            let ref = try CLIPModelFixtures.reference(name)
            let files = try ref.list("images")
            XCTAssertEqual(files.count, 3)
            let images = try files.map { try ImageCodec.read(CLIPModelFixtures.url("clip-images/\($0)").path) }
            CLIPModelFixtures.assertParity(try model.embed(images: images), try ref.rows("file_embeds"), "\(name) files \(files)")
        }
    }

    func testCaptionsMatchTransformers() throws {
        for name in CLIPModelFixtures.clipModels {
            let model = try CLIPModel(directory: CLIPModelFixtures.url("clip/\(name)"))
            let ref = try CLIPModelFixtures.reference(name)
            let captions = try ref.list("captions")
            XCTAssertEqual(captions.count, 4)
            // The tokenizer must reproduce transformers' ids before the embeddings can agree.
            XCTAssertEqual(try captions.map { try model.tokenizer().encode($0) },
                           try ref.ids("caption_ids", lengthsKey: "caption_lengths"))
            CLIPModelFixtures.assertParity(try model.embed(texts: captions), try ref.rows("caption_embeds"), "\(name) captions \(captions)")
        }
    }

    func testEncoderRecordsCarryProvenanceAndExemplar() throws {
        let model = try CLIPModel(directory: CLIPModelFixtures.url("clip/tiny-gelu"))
        let path = CLIPModelFixtures.url("clip-images/kodim03-96x64.png").path
        let bytes = try IO.read(path)
        let enc = EmbeddingEncoder(model: model, exemplarSize: 48, provenance: ["command": "unclip encode x"])
        let rec = try enc.encode(images: [.init(name: path, bytes: bytes)])[0]
        XCTAssertEqual(rec.kind, .image)
        XCTAssertEqual(rec.source, "kodim03-96x64.png")
        XCTAssertEqual(rec.sourceHash, SHA256.hex(bytes))
        XCTAssertEqual(rec.modelHash, model.modelHash)
        XCTAssertEqual(rec.model, "tiny-gelu")
        XCTAssertEqual(rec.resolution, 32)
        XCTAssertEqual(rec.extra["command"], "unclip encode x")
        XCTAssertEqual(rec.extra["source_size"], "96x64")
        XCTAssertEqual(rec.exemplar.map { [$0.width, $0.height] }, [48, 32])
        // Round trip through the file format keeps the vector bit for bit.
        XCTAssertEqual(try EmbeddingFile.parse(rec.serialize(), name: "x").embedding, rec.embedding)

        let text = try enc.encode(texts: ["red"])[0]
        XCTAssertEqual(text.kind, .text)
        XCTAssertNil(text.exemplar)
        XCTAssertEqual(text.source, "red")
    }
}
