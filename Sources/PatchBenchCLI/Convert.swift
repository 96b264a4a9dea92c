import ArgumentParser
import Datasets
import Foundation

/// `patchbench convert <format>`: turns a downloaded dataset into one HDF5 pack.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a dataset in its publisher's format into a PatchBench HDF5 pack.",
        discussion: """
            Formats: \(ConvertFormat.allCases.map(\.rawValue).joined(separator: ", ")).
              idx       MNIST-style IDX files (raw or .gz) in --input (default: Debian's Fashion-MNIST
                        at /usr/share/datasets/fashion-mnist); images padded to --pad-to, gray
                        replicated to 3 channels.
            The pack is written to a temporary file beside --output and renamed into place, so an
            interrupted or failed conversion never leaves a half-written pack. The layout is in
            Documentation/pack-format.md; `patchbench inspect` verifies the result.
            Example: patchbench convert idx --output datasets/fashion-mnist.h5
            """)

    @Argument(help: "Source format: \(ConvertFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: ConvertFormat

    @Option(help: "Input folder or file (meaning depends on the format; idx defaults to Debian's Fashion-MNIST).")
    var input: String?

    @Option(help: "Output pack path (.h5).")
    var output: String

    @Option(help: "idx: pad images (centred, zeros) to this size.")
    var padTo: Int = 32

    @Option(help: "idx: class names: 'fashion-mnist', 'digits' (0..9), or a text file with one name per line.")
    var classNames: String = "fashion-mnist"

    func run() throws {
        let start = Date()
        let contents: PackContents
        switch format {
        case .idx:
            var options = IDXConverter.Options()
            options.padTo = padTo
            options.classNames = try resolveIDXClassNames()
            contents = try IDXConverter.convert(input: input ?? IDXConverter.defaultInput, options: options)
        }
        let digest = try contents.write(to: output)
        let counts = contents.splits.map { "\($0.name) \($0.count)" }.joined(separator: ", ")
        print("wrote \(output): \(counts) images; digest \(digest) (\(String(format: "%.1f", Date().timeIntervalSince(start))) s)")
    }

    private func resolveIDXClassNames() throws -> [String] {
        switch classNames {
        case "fashion-mnist": return IDXConverter.fashionMNISTClassNames
        case "digits": return (0..<10).map(String.init)
        default:
            guard let text = try? String(contentsOfFile: classNames, encoding: .utf8) else {
                throw ValidationError("--class-names: cannot read \(classNames)")
            }
            return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }
}

enum ConvertFormat: String, CaseIterable, ExpressibleByArgument {
    case idx
}
