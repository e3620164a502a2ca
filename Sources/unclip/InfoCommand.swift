import ArgumentParser
import Foundation
import UnclipKit

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Identify an image or an embedding file, like pnmfile or identify.",
        discussion: """
        Prints one line per image to stdout: format, stored size, colour type, \
        channels, bit depth, interlacing and EXIF orientation. The whole image is \
        decoded, so a damaged file is reported as such. For an embedding file it \
        prints one line per record: kind, model, dimension, source image and \
        exemplar size.

        With no FILE, or FILE `-`, it reads stdin:

          unclip encode a.jpg | unclip info -

        A file that cannot be read is reported on stderr and the others are still \
        described; the exit status is then 1.
        """
    )

    @Argument(help: ArgumentHelp("Images (PNG, JPEG) or embedding files to describe; - reads stdin.", valueName: "file"))
    var files: [String] = ["-"]

    @OptionGroup var common: CommonOptions

    func run() throws {
        // Like identify(1): describe every readable file, then fail if any was not.
        var status: Int32 = 0
        for f in files {
            do {
                print(try FileDescription.describe(path: f, maxPixels: common.maxPixels))
            } catch let e as UnclipError {
                fflush(stdout)
                IO.note("unclip info: \(e.description)")
                status = max(status, e.isUsage ? 64 : 1)
            }
        }
        if status != 0 { throw ExitCode(status) }
    }
}
