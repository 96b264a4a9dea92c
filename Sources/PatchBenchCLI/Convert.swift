import ArgumentParser
import Datasets
import Foundation

/// `patchbench convert <format>`: turns a downloaded dataset into one HDF5 pack.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a dataset in its publisher's format into a PatchBench HDF5 pack.",
        discussion: """
            Formats: \(ConvertFormat.allCases.map(\.rawValue).joined(separator: ", ")).

            idx: MNIST-style IDX files (raw or .gz) in --input (default: Debian's
            Fashion-MNIST at /usr/share/datasets/fashion-mnist); images padded to
            --pad-to, gray replicated to 3 channels.

            cifar10, cifar100: --input the unpacked folder (cifar-10-batches-bin,
            cifar-10-batches-py, cifar-100-binary, cifar-100-python) or the downloaded
            .tar.gz; binary and python releases are detected by their file names.
            CIFAR-100 keeps fine (labels) and coarse (coarse_labels) labels.

            imagenet: --input ROOT with train/<wnid>/ and val/ (sorted into <wnid>/,
            or flat with --val-labels LOC_val_solution.csv, default
            ROOT/LOC_val_solution.csv); --classes imagenet100 | imagenette |
            imagewoof | all | FILE of WNIDs; labels are ranks in sorted WNID order;
            --size shorter side + centre crop.

            coco: --input ROOT with annotations/instances_<split>.json and <split>/
            image folders; one centred --size crop per image (shorter side resized,
            Pillow bilinear), boxes clipped, dropped below --min-visible-fraction of
            their area.

            ade20k: --input ADEChallengeData2016 (images/, annotations/,
            objectInfo150.txt); one centred --size crop per image, masks by nearest
            neighbour, label 0 -> 255 (ignore), 1..150 -> 0..149.

            The pack is written to a temporary file beside --out and renamed into
            place, so an interrupted or failed conversion never leaves a half-written
            pack. The layout is in Documentation/pack-format.md; `patchbench inspect`
            verifies the result.

            Example: patchbench convert idx --out datasets/fashion-mnist.h5
            """)

    @Argument(help: "Source format: \(ConvertFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: ConvertFormat

    @Option(help: "Input folder or file (meaning depends on the format; idx defaults to Debian's Fashion-MNIST).")
    var input: String?

    @Option(name: [.customLong("out"), .customLong("output")], help: "Output pack path (.h5); its folder is created. (--output is the older spelling.)")
    var output: String

    @Option(help: "imagenet: class subset: imagenet100, imagenette, imagewoof, all, or a file of WNIDs.")
    var classes: String = "all"

    @Option(help: "imagenet: LOC_val_solution.csv for a flat val/ folder.")
    var valLabels: String?

    @Option(help: "imagenet, coco, ade20k: output image size in pixels (shorter-side resize + centre crop).")
    var size: Int = 64

    @Option(help: "coco: drop boxes whose clipped area is below this fraction of their area.")
    var minVisibleFraction: Double = 0.25

    @Option(help: "coco: comma-separated splits to convert (default: every annotations/instances_*.json).")
    var splits: String?

    @Flag(help: "cifar10, cifar100: convert the batch files present when some of a split's are missing (default: an error naming them).")
    var partial = false

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
        case .cifar10:
            contents = try CIFARConverter.convert(input: try requireInput(), variant: .cifar10, allowPartial: partial)
        case .cifar100:
            contents = try CIFARConverter.convert(input: try requireInput(), variant: .cifar100, allowPartial: partial)
        case .imagenet:
            var options = ImageNetConverter.Options()
            options.size = size
            options.classes = try ImageNetConverter.classList(classes)
            options.valLabels = valLabels
            contents = try ImageNetConverter.convert(root: try requireInput(), options: options)
            if options.classes == nil && contents.classNames.count != 1000 {
                FileHandle.standardError.write(Data(("warning: train/ holds \(contents.classNames.count) class folders, not "
                    + "ImageNet-1k's 1000: labels are ranks among these, not the standard index\n").utf8))
            }
        case .coco:
            var options = COCOConverter.Options()
            options.size = size
            options.minVisibleFraction = minVisibleFraction
            options.splits = splits?.split(separator: ",").map(String.init)
            contents = try COCOConverter.convert(root: try requireInput(), options: options)
        case .ade20k:
            var options = ADE20KConverter.Options()
            options.size = size
            contents = try ADE20KConverter.convert(root: try requireInput(), options: options)
        }
        let folder = (output as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
                throw ValidationError("\(folder): cannot create the output folder (\(error.localizedDescription))")
            }
        }
        let digest = try contents.write(to: output)
        let counts = contents.splits.map { "\($0.name) \($0.count)" }.joined(separator: ", ")
        print("wrote \(output): \(counts) images; digest \(digest) (\(String(format: "%.1f", Date().timeIntervalSince(start))) s)")
    }

    private func requireInput() throws -> String {
        guard let input else { throw ValidationError("--input is required for \(format.rawValue)") }
        return input
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
    case cifar10
    case cifar100
    case imagenet
    case coco
    case ade20k
}
