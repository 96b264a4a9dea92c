import ArgumentParser
import Datasets
import Foundation

/// `patchbench make-default`: builds the embedded default packs from Debian's Fashion-MNIST.
struct MakeDefault: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-default",
        abstract: "Build the embedded default datasets: Fashion-MNIST and the dense Fashion-MNIST scenes.",
        discussion: """
            Writes, under --out:
              fashion-mnist.h5       `convert idx` of /usr/share/datasets/fashion-mnist
                                     (70,000 images, padded to 32x32, gray replicated
                                     to 3 channels)
              coco/, ade20k/         scenes composed from Fashion-MNIST items, in the
                                     COCO and ADE20K layouts (--scenes: mosaic, grey
                                     items on black in four 32 px cells of a 64 px
                                     scene, as the encoders see them in pretraining;
                                     textured, the earlier default: tinted,
                                     overlapping items on coloured gratings)
              fmnist-scenes-coco.h5  `convert coco` of coco/ (boxes, crowd flags)
              fmnist-scenes-ade.h5   `convert ade20k` of ade20k/ (masks)

            The real converters pack the scenes, so every default reproduction
            exercises them. Deterministic from --seed. Every file is written to a
            temporary name and renamed.

            Example: patchbench make-default --out datasets/default
            """)

    @Option(help: "Output folder.")
    var out: String = "datasets/default"

    @Option(help: "Folder with the Fashion-MNIST IDX files.")
    var fashionMnist: String = IDXConverter.defaultInput

    @Option(help: "Seed of the scene composition.")
    var seed: UInt64 = 0

    @Option(help: "Scene design: mosaic (default) or textured (the earlier, harder scenes).")
    var scenes: String = DenseDefault.Scenes.mosaic.rawValue

    @Option(help: "Number of training scenes.")
    var trainScenes: Int = DenseDefault.Options().trainScenes

    @Option(help: "Number of validation scenes.")
    var valScenes: Int = DenseDefault.Options().valScenes

    @Option(help: "Crop size of the scene packs (pixels).")
    var size: Int = 64

    func validate() throws {
        guard DenseDefault.Scenes(rawValue: scenes) != nil else {
            throw ValidationError("unknown --scenes '\(scenes)'; choose \(DenseDefault.Scenes.allCases.map(\.rawValue).joined(separator: " or "))")
        }
        if trainScenes < 1 || valScenes < 1 { throw ValidationError("--train-scenes and --val-scenes must be at least 1") }
    }

    func run() throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        func path(_ name: String) -> String { (out as NSString).appendingPathComponent(name) }
        func timed(_ label: String, _ body: () throws -> String) rethrows {
            let start = Date()
            let detail = try body()
            print("\(label): \(detail) (\(String(format: "%.1f", Date().timeIntervalSince(start))) s)")
        }
        try timed("fashion-mnist.h5") {
            let digest = try IDXConverter.convert(input: fashionMnist).write(to: path("fashion-mnist.h5"))
            return "digest \(digest)"
        }
        try timed("scenes") {
            var options = DenseDefault.Options()
            options.seed = seed
            options.scenes = DenseDefault.Scenes(rawValue: scenes)!
            options.trainScenes = trainScenes
            options.valScenes = valScenes
            try DenseDefault.writeScenes(fashionMNIST: fashionMnist, to: out, options: options)
            return "\(trainScenes) train + \(valScenes) val \(scenes) scenes in coco/ and ade20k/"
        }
        try timed("fmnist-scenes-coco.h5") {
            var options = COCOConverter.Options()
            options.size = size
            return "digest " + (try COCOConverter.convert(root: path("coco"), options: options).write(to: path("fmnist-scenes-coco.h5")))
        }
        try timed("fmnist-scenes-ade.h5") {
            var options = ADE20KConverter.Options()
            options.size = size
            return "digest " + (try ADE20KConverter.convert(root: path("ade20k"), options: options).write(to: path("fmnist-scenes-ade.h5")))
        }
    }
}
