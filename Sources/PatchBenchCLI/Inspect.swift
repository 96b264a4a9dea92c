import ArgumentParser
import Datasets
import Foundation

/// `patchbench inspect PACK`: summary of a dataset pack and a check of its content digest.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Summarise a dataset pack and verify its SHA-256 content digest.",
        discussion: """
            Prints the pack's manifest (format version, source format and files, converter options, \
            notes), each split's image shape, labels, masks and boxes, and the class names. Then it \
            recomputes the content digest over every dataset (Documentation/pack-format.md) and \
            compares it with the stored one; a mismatch exits with an error. \
            Example: patchbench inspect datasets/fashion-mnist.h5
            """)

    @Argument(help: "The pack to inspect (an .h5 file written by `patchbench convert`).")
    var pack: String

    @Flag(help: "Skip the digest verification (it reads every byte of the pack).")
    var noVerify = false

    func run() throws {
        let opened = try Pack(openingAt: pack)
        print("pack            \(pack)")
        print("format_version  \(opened.formatVersion)")
        print("source_format   \(opened.sourceFormat)")
        print("source_files    \(opened.sourceFiles.joined(separator: ", "))")
        print("options         \(opened.converterOptions)")
        if !opened.notes.isEmpty { print("notes           \(opened.notes)") }
        let preview = opened.classNames.prefix(10).joined(separator: ", ")
        print("classes         \(opened.numClasses): \(preview)\(opened.numClasses > 10 ? ", …" : "")")
        if let coarse = opened.coarseClassNames { print("coarse classes  \(coarse.count)") }
        if let ids = opened.categoryIds { print("category ids    \(ids.map(String.init).joined(separator: ","))") }
        for name in opened.splitNames {
            let split = try opened.split(name)
            var parts = ["images [\(split.count), \(split.height), \(split.width), \(split.channels)] uint8"]
            if let labels = split.labels {
                var histogram = [Int](repeating: 0, count: opened.numClasses)
                for label in labels { histogram[Int(label)] += 1 }
                parts.append("labels (per class min \(histogram.min() ?? 0), max \(histogram.max() ?? 0))")
            }
            if split.coarseLabels != nil { parts.append("coarse labels") }
            if let masks = split.masks {
                let ignored = masks.reduce(0) { $0 + ($1 == 255 ? 1 : 0) }
                parts.append(String(format: "masks (%.1f%% ignore)", 100 * Double(ignored) / Double(max(masks.count, 1))))
            }
            if let boxes = split.boxes {
                let crowd = boxes.crowd.reduce(0) { $0 + Int($1) }
                parts.append("boxes \(boxes.boxCount) (\(crowd) crowd)")
            }
            print("split \(name.padding(toLength: 9, withPad: " ", startingAt: 0)) \(parts.joined(separator: "; "))")
        }
        print("content_digest  \(opened.storedDigest)")
        if noVerify { return }
        let computed = try opened.computeDigest()
        guard computed == opened.storedDigest else {
            throw CommandFailure("\(pack): content digest mismatch: stored \(opened.storedDigest), computed \(computed)")
        }
        print("digest          verified")
    }
}
