import Dispatch
import Foundation
import TensorCore

/// Batches of augmented multi-crop views from a pack split.
///
/// Determinism: epoch e visits the images in `RandomStream(seed: orderSeed ^ mix(e)).permutation(N)`,
/// and sample s of epoch e is augmented with its own stream seeded from (augmentationSeed, e, s).
/// Nothing depends on thread scheduling, so threads and prefetching never change a batch, and
/// any epoch can be produced directly (resumption needs only the two seeds and the epoch).
public final class Loader: @unchecked Sendable {
    public let split: PackSplit
    public let batchSize: Int
    public let recipe: MultiCropRecipe
    public let dropLast: Bool
    public let threads: Int
    let orderSeed: UInt64
    let augmentationSeed: UInt64

    /// `dataOrder` and `augmentation` are the run's named streams; each is read once here
    /// (through a copy) to derive the seeds, so callers' streams are not advanced.
    public init(split: PackSplit, batchSize: Int, recipe: MultiCropRecipe, dataOrder: RandomStream,
                augmentation: RandomStream, dropLast: Bool = true, threads: Int = 1) {
        precondition(batchSize > 0 && threads > 0 && !recipe.views.isEmpty)
        self.split = split
        self.batchSize = batchSize
        self.recipe = recipe
        self.dropLast = dropLast
        self.threads = threads
        var order = dataOrder
        var augment = augmentation
        orderSeed = order.next()
        augmentationSeed = augment.next()
    }

    public var batchesPerEpoch: Int {
        dropLast ? split.count / batchSize : (split.count + batchSize - 1) / batchSize
    }

    static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var z = a &+ 0x9E37_79B9_7F4A_7C15 &* (b &+ 1)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The visiting order of an epoch.
    public func order(epoch: Int) -> [Int] {
        var rng = RandomStream(seed: Loader.mix(orderSeed, UInt64(epoch)))
        return rng.permutation(split.count)
    }

    /// The augmentation stream of sample position `position` (in epoch order) of `epoch`.
    func sampleStream(epoch: Int, position: Int) -> RandomStream {
        RandomStream(seed: Loader.mix(Loader.mix(augmentationSeed, UInt64(epoch)), UInt64(position)))
    }

    /// Builds batch `index` of `epoch` given that epoch's order.
    public func batch(epoch: Int, index: Int, order: [Int]) -> Batch {
        let start = index * batchSize
        let positions = Array(start..<min(start + batchSize, order.count))
        let samples = positions.map { order[$0] }
        let count = samples.count
        var views = recipe.views.map { view in
            ViewBatch(size: view.size, channels: 3, pixels: [Float](repeating: 0, count: count * 3 * view.size * view.size),
                      geometry: [CropGeometry](repeating: CropGeometry(box: CropBox(top: 0, left: 0, height: 0, width: 0),
                                                                       flipped: false, outputSize: view.size), count: count))
        }
        // Each worker writes disjoint sample slots; results are gathered after the loop.
        let results = UnsafeMutableBufferPointer<[(AugmentImage, CropGeometry)]>.allocate(capacity: count)
        results.initialize(repeating: [])
        // Deinitialise before freeing: deallocate alone leaked every sample's augmented pixels
        // (0.75 MiB per batch of 64 at 32 px, 2.9 GiB over a tiny run).
        defer {
            _ = results.deinitialize()
            results.deallocate()
        }
        let work = { (b: Int) in
            var rng = self.sampleStream(epoch: epoch, position: positions[b])
            let source = AugmentImage(hwc: self.split.image(samples[b]), height: self.split.height,
                                      width: self.split.width, channels: self.split.channels)
            results[b] = self.recipe.views.map { $0.apply(source, rng: &rng) }
        }
        if threads == 1 || count < 2 {
            for b in 0..<count { work(b) }
        } else {
            let chunks = min(threads, count)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                for b in stride(from: chunk, to: count, by: chunks) { work(b) }
            }
        }
        for b in 0..<count {
            for (v, (image, geometry)) in results[b].enumerated() {
                let stride = image.pixels.count
                views[v].pixels.replaceSubrange((b * stride)..<((b + 1) * stride), with: image.pixels)
                views[v].geometry[b] = geometry
            }
        }
        let labels = split.labels.map { all in samples.map { all[$0] } } ?? []
        return Batch(epoch: epoch, index: index, sampleIndices: samples, labels: labels, views: views)
    }

    /// All batches of an epoch in order. With `prefetch`, a background thread builds up to two
    /// batches ahead (a bounded queue); the batches are identical either way.
    public func batches(epoch: Int, prefetch: Bool = true) -> AnySequence<Batch> {
        let order = self.order(epoch: epoch)
        let total = batchesPerEpoch
        if !prefetch {
            return AnySequence((0..<total).lazy.map { self.batch(epoch: epoch, index: $0, order: order) })
        }
        let queue = PrefetchQueue<Batch>(capacity: 2)
        let thread = Thread { [self] in
            for index in 0..<total {
                if !queue.put(self.batch(epoch: epoch, index: index, order: order)) { return }
            }
            queue.finish()
        }
        thread.stackSize = 8 << 20
        thread.start()
        let consumer = PrefetchConsumer(queue)
        return AnySequence(AnyIterator { consumer.queue.take() })
    }
}
