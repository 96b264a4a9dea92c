import Datasets
import Foundation
import TensorCore
import Testing

/// A synthetic split of `count` 32x32 RGB images whose pixels encode their index.
func syntheticSplit(count: Int, size: Int = 32) -> PackSplit {
    var images = [UInt8](repeating: 0, count: count * size * size * 3)
    for n in 0..<count {
        for i in 0..<(size * size * 3) { images[n * size * size * 3 + i] = UInt8((n * 31 + i * 7) % 251) }
    }
    var split = PackSplit(name: "train", count: count, height: size, width: size, channels: 3, images: images)
    split.labels = (0..<count).map { Int32($0 % 10) }
    return split
}

@Suite struct LoaderTests {
    let streams = RandomStreams(seed: 42)

    @Test func epochOrderIsADeterministicPermutationThatChangesPerEpoch() {
        let loader = Loader(split: syntheticSplit(count: 50), batchSize: 8, recipe: .single(size: 16),
                            dataOrder: streams.dataOrder, augmentation: streams.augmentation)
        let first = loader.order(epoch: 0)
        #expect(first.sorted() == Array(0..<50))
        #expect(first != Array(0..<50))
        #expect(loader.order(epoch: 1) != first)
        let again = Loader(split: syntheticSplit(count: 50), batchSize: 8, recipe: .single(size: 16),
                           dataOrder: streams.dataOrder, augmentation: streams.augmentation)
        #expect(again.order(epoch: 0) == first)
        #expect(loader.batchesPerEpoch == 6)
    }

    @Test func multiCropShapesLabelsAndPrefetchEquivalence() {
        let split = syntheticSplit(count: 20)
        let recipe = MultiCropRecipe.dino(globalSize: 32, localSize: 16, localCrops: 4)
        let serial = Loader(split: split, batchSize: 6, recipe: recipe, dataOrder: streams.dataOrder,
                            augmentation: streams.augmentation, dropLast: false, threads: 1)
        let threaded = Loader(split: split, batchSize: 6, recipe: recipe, dataOrder: streams.dataOrder,
                              augmentation: streams.augmentation, dropLast: false, threads: 2)
        let plain = Array(serial.batches(epoch: 3, prefetch: false))
        let prefetched = Array(threaded.batches(epoch: 3, prefetch: true))
        #expect(plain.count == 4)
        #expect(plain == prefetched)
        let batch = plain[0]
        #expect(batch.views.map(\.size) == [32, 32, 16, 16, 16, 16])
        #expect(batch.views[0].pixels.count == 6 * 3 * 32 * 32)
        #expect(batch.views[2].pixels.count == 6 * 3 * 16 * 16)
        #expect(batch.labels == batch.sampleIndices.map { Int32($0 % 10) })
        #expect(plain.last?.count == 2)
        #expect(Set(plain.flatMap(\.sampleIndices)) == Set(0..<20))
        // Different epochs give different views of the same image.
        #expect(Array(serial.batches(epoch: 4, prefetch: false))[0] != batch)
    }

    @Test func returnedGeometryIsTheCropThatWasApplied() {
        let split = syntheticSplit(count: 4)
        var view = ViewRecipe(size: 12, scale: 0.2...1.0)
        view.jitter = nil
        view.grayscaleProbability = 0
        view.mean = [0, 0, 0]
        view.std = [1, 1, 1]
        view.interpolation = .bilinear
        let loader = Loader(split: split, batchSize: 4, recipe: MultiCropRecipe(views: [view, view, view]),
                            dataOrder: streams.dataOrder, augmentation: streams.augmentation)
        let batch = Array(loader.batches(epoch: 0, prefetch: false))[0]
        var sawFlip = false
        for (v, viewBatch) in batch.views.enumerated() {
            for b in 0..<batch.count {
                let geometry = viewBatch.geometry[b]
                let source = AugmentImage(hwc: split.image(batch.sampleIndices[b]), height: 32, width: 32, channels: 3)
                var expected = Augment.resizedCrop(source, box: geometry.box, outputHeight: 12, outputWidth: 12,
                                                   interpolation: .bilinear)
                if geometry.flipped { expected = Augment.horizontalFlip(expected); sawFlip = true }
                let stride = 3 * 12 * 12
                #expect(Array(viewBatch.pixels[(b * stride)..<((b + 1) * stride)]) == expected.pixels, "view \(v) sample \(b)")
            }
        }
        #expect(sawFlip)
    }

    @Test func abandoningAPrefetchingEpochDoesNotHang() {
        let loader = Loader(split: syntheticSplit(count: 40), batchSize: 2, recipe: .single(size: 8),
                            dataOrder: streams.dataOrder, augmentation: streams.augmentation)
        for batch in loader.batches(epoch: 0) {
            #expect(batch.index == 0)
            break
        }
        let full = Array(loader.batches(epoch: 0))
        #expect(full.count == 20)
    }
}
