import Foundation

/// ILSVRC-2012 train/val layout (or a class subset of it) → pack.
///
/// train/<wnid>/*.JPEG; val either sorted into val/<wnid>/ ("valprep") or flat
/// val/ILSVRC2012_val_*.JPEG with labels from LOC_val_solution.csv (class = first token of
/// PredictionString; rows keyed by ImageId). Labels are each WNID's rank in the *sorted* class
/// list (as ImageFolder / solo-learn). Images: JPEG (TurboJPEG; gray and CMYK handled) or PNG,
/// sniffed by magic; shorter side resized to `size` (Pillow bilinear) and centre-cropped.
/// Not supported: the devkit's ILSVRC2012_validation_ground_truth.txt (needs meta.mat IDs).
public enum ImageNetConverter {
    public static let formatName = "imagenet"

    /// ImageNet-100 as listed by CMC / solo-learn (list order; labels use sorted order).
    public static let imageNet100 = """
        n02869837 n01749939 n02488291 n02107142 n13037406 n02091831 n04517823 n04589890 n03062245 n01773797 \
        n01735189 n07831146 n07753275 n03085013 n04485082 n02105505 n01983481 n02788148 n03530642 n04435653 \
        n02086910 n02859443 n13040303 n03594734 n02085620 n02099849 n01558993 n04493381 n02109047 n04111531 \
        n02877765 n04429376 n02009229 n01978455 n02106550 n01820546 n01692333 n07714571 n02974003 n02114855 \
        n03785016 n03764736 n03775546 n02087046 n07836838 n04099969 n04592741 n03891251 n02701002 n03379051 \
        n02259212 n07715103 n03947888 n04026417 n02326432 n03637318 n01980166 n02113799 n02086240 n03903868 \
        n02483362 n04127249 n02089973 n03017168 n02093428 n02804414 n02396427 n04418357 n02172182 n01729322 \
        n02113978 n03787032 n02089867 n02119022 n03777754 n04238763 n02231487 n03032252 n02138441 n02104029 \
        n03837869 n03494278 n04136333 n03794056 n03492542 n02018207 n04067472 n03930630 n03584829 n02123045 \
        n04229816 n02100583 n03642806 n04336792 n03259280 n02116738 n02108089 n03424325 n01855672 n02090622
        """.split(separator: " ").map(String.init)
    public static let imagenette = ["n01440764", "n02102040", "n02979186", "n03000684", "n03028079",
                                    "n03394916", "n03417042", "n03425413", "n03445777", "n03888257"]
    public static let imagewoof = ["n02086240", "n02087394", "n02088364", "n02089973", "n02093754",
                                   "n02096294", "n02099601", "n02105641", "n02111889", "n02115641"]

    public struct Options {
        public var size: Int = 64
        /// WNIDs to keep (nil: every folder under train/). Labels are ranks in sorted order.
        public var classes: [String]? = nil
        /// LOC_val_solution.csv for a flat val/ folder.
        public var valLabels: String? = nil
        public init() {}
    }

    /// Resolves "imagenet100", "imagenette", "imagewoof", "all" or a file of WNIDs (whitespace separated).
    public static func classList(_ name: String) throws -> [String]? {
        switch name {
        case "all": return nil
        case "imagenet100": return imageNet100
        case "imagenette": return imagenette
        case "imagewoof": return imagewoof
        default:
            guard let text = try? String(contentsOfFile: name, encoding: .utf8) else { throw DatasetError(name, "cannot read class list") }
            let wnids = text.split(whereSeparator: { $0.isWhitespace }).map(String.init)
            if let bad = wnids.first(where: { !($0.hasPrefix("n") && $0.count == 9 && $0.dropFirst().allSatisfy(\.isNumber)) }) {
                throw DatasetError(name, "'\(bad)' is not a WNID (n followed by 8 digits)")
            }
            return wnids
        }
    }

    /// A folder's visible entries, sorted; an unreadable folder is an error naming it, never empty.
    static func listing(_ directory: String) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: directory).filter { !$0.hasPrefix(".") }.sorted()
        } catch {
            throw DatasetError(directory, "cannot list the folder (\(error.localizedDescription))")
        }
    }

    static func isDirectory(_ path: String) -> Bool {
        var flag: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &flag) && flag.boolValue
    }

    public static func convert(root: String, options: Options = Options()) throws -> PackContents {
        try CropSize.validate(options.size, input: root)
        let train = (root as NSString).appendingPathComponent("train")
        guard isDirectory(train) else { throw DatasetError(root, "no train/ folder (expected train/<wnid>/*.JPEG)") }
        let available = try listing(train).filter { isDirectory((train as NSString).appendingPathComponent($0)) }
        let classes = (options.classes ?? available).sorted()
        guard Set(classes).count == classes.count else { throw DatasetError(root, "class list has duplicates") }
        if let missing = classes.first(where: { !available.contains($0) }) {
            throw DatasetError(train, "class folder '\(missing)' is missing")
        }
        let label = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, Int32($0)) })
        var contents = PackContents(
            sourceFormat: formatName, sourceFiles: ["train"],
            options: ["size": String(options.size), "crop": "shorter_side_resize_bilinear_center_crop",
                      "classes": String(classes.count)],
            classNames: classes, notes: "labels are ranks of WNIDs in sorted order")
        var trainFiles: [(String, Int32)] = []
        for wnid in classes {
            let folder = (train as NSString).appendingPathComponent(wnid)
            let files = try listing(folder)
            guard !files.isEmpty else { throw DatasetError(folder, "class folder has no images") }
            trainFiles += files.map { ((folder as NSString).appendingPathComponent($0), label[wnid]!) }
        }
        contents.add(try makeSplit("train", trainFiles, size: options.size))
        let val = (root as NSString).appendingPathComponent("val")
        if isDirectory(val) {
            var valFiles: [(String, Int32)] = []
            let entries = try listing(val)
            if entries.contains(where: { isDirectory((val as NSString).appendingPathComponent($0)) }) {
                // Sorted into class folders: every class of the list has one (a missing one would
                // silently leave that class out of the scored split).
                for wnid in classes {
                    let folder = (val as NSString).appendingPathComponent(wnid)
                    guard isDirectory(folder) else {
                        throw DatasetError(folder, "missing: val/ is sorted into class folders, but class \(wnid) has none")
                    }
                    valFiles += try listing(folder).map { ((folder as NSString).appendingPathComponent($0), label[wnid]!) }
                }
            } else {
                let csv = options.valLabels ?? (root as NSString).appendingPathComponent("LOC_val_solution.csv")
                let solution = try readSolution(csv)
                for file in entries {
                    let id = (file as NSString).deletingPathExtension
                    guard let wnid = solution[id] else { throw DatasetError(csv, "no row for validation image '\(id)'") }
                    if let index = label[wnid] { valFiles.append(((val as NSString).appendingPathComponent(file), index)) }
                }
                contents.sourceFiles.append((csv as NSString).lastPathComponent)
            }
            contents.sourceFiles.append("val")
            contents.add(try makeSplit("val", valFiles, size: options.size))
        }
        return contents
    }

    /// ImageId → WNID (first token of PredictionString).
    static func readSolution(_ path: String) throws -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw DatasetError(path, "cannot read LOC_val_solution.csv (needed for a flat val/ folder)")
        }
        var lines = text.split(whereSeparator: \.isNewline).map(String.init)
        guard lines.first?.hasPrefix("ImageId,PredictionString") == true else {
            throw DatasetError(path, "header must be 'ImageId,PredictionString'")
        }
        lines.removeFirst()
        var solution: [String: String] = [:]
        for (number, line) in lines.enumerated() where !line.isEmpty {
            let parts = line.split(separator: ",", maxSplits: 1).map(String.init)
            guard parts.count == 2, let wnid = parts[1].split(separator: " ").first else {
                throw DatasetError(path, "line \(number + 2): expected ImageId,wnid x1 y1 x2 y2 ...")
            }
            if let earlier = solution[parts[0]], earlier != String(wnid) {
                throw DatasetError(path, "line \(number + 2): image '\(parts[0])' listed again with class \(wnid) (earlier \(earlier))")
            }
            solution[parts[0]] = String(wnid)
        }
        return solution
    }

    static func makeSplit(_ name: String, _ files: [(String, Int32)], size: Int) throws -> PackSplit {
        var pixels: [UInt8] = []
        pixels.reserveCapacity(files.count * size * size * 3)
        for (path, _) in files {
            pixels += try ImageResize.resizeAndCenterCrop(try ImageCodec.decodeRGB(file: path), size: size, file: path).image.pixels
        }
        var split = PackSplit(name: name, count: files.count, height: size, width: size, channels: 3, images: pixels)
        split.labels = files.map(\.1)
        return split
    }
}
