import Foundation

/// A seedable pseudo-random generator (xoshiro256**, seeded through SplitMix64) with our own
/// integer, float, normal and shuffle routines, so that no number ever depends on the Swift
/// standard library's unspecified algorithms (`shuffled(using:)`, `Float.random(in:using:)`).
///
/// It is a value type: a copy continues the same sequence independently, and its whole state
/// is four words (`state`) that a checkpoint stores for exact resumption.
public struct RandomStream: RandomNumberGenerator, Sendable, Equatable {
    public private(set) var state: (UInt64, UInt64, UInt64, UInt64)

    /// Seeds from one 64-bit value by running SplitMix64 four times (the seeding the
    /// xoshiro authors recommend, which never yields the all-zero state).
    public init(seed: UInt64) {
        var s = seed
        func splitMix() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// Restores a generator from a stored `state`.
    public init(state: (UInt64, UInt64, UInt64, UInt64)) {
        precondition(state != (0, 0, 0, 0), "xoshiro256** state must not be all zero")
        self.state = state
    }

    public static func == (a: RandomStream, b: RandomStream) -> Bool { a.state == b.state }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// xoshiro256** step.
    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = Self.rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = Self.rotl(state.3, 45)
        return result
    }

    /// Uniform Float in [0, 1) from the top 24 bits.
    @inline(__always)
    public mutating func nextFloat() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Uniform Double in [0, 1) from the top 53 bits.
    @inline(__always)
    public mutating func nextDouble() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }

    /// Uniform Double in [low, high).
    public mutating func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * nextDouble() }

    /// Uniform integer in 0..<bound, unbiased (Lemire's multiply-and-reject).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive, got \(bound)")
        let b = UInt64(bound)
        var m = next().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold { m = next().multipliedFullWidth(by: b) }
        }
        return Int(m.high)
    }

    /// Uniform integer in the closed range.
    public mutating func nextInt(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + nextInt(below: range.upperBound - range.lowerBound + 1)
    }

    /// Standard normal by Box–Muller (one value per call; the pair's second value is dropped
    /// so that the stream position never depends on call history).
    public mutating func nextNormal() -> Double {
        var u1 = nextDouble()
        while u1 <= 0 { u1 = nextDouble() }
        let u2 = nextDouble()
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }

    /// Fisher–Yates shuffle in place (Durstenfeld's descending form).
    public mutating func shuffle<T>(_ a: inout [T]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            let j = nextInt(below: i + 1)
            if i != j { a.swapAt(i, j) }
        }
    }

    /// A uniformly random permutation of 0..<n.
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        shuffle(&p)
        return p
    }
}

/// The named, independent streams of one run, all derived from one seed. A stream's seed
/// mixes the run seed with a stable 64-bit FNV-1a hash of its name, so adding a stream never
/// shifts another's numbers.
public enum StreamName: String, CaseIterable, Sendable {
    case initialization = "init"
    case dataOrder = "data_order"
    case augmentation = "augmentation"
    case masks = "masks"
    case dropPath = "drop_path"
    case evaluation = "evaluation"
}

public struct RandomStreams: Sendable, Equatable {
    public let seed: UInt64
    public var initialization: RandomStream
    public var dataOrder: RandomStream
    public var augmentation: RandomStream
    public var masks: RandomStream
    public var dropPath: RandomStream
    public var evaluation: RandomStream

    public init(seed: UInt64) {
        self.seed = seed
        initialization = RandomStreams.stream(seed: seed, name: .initialization)
        dataOrder = RandomStreams.stream(seed: seed, name: .dataOrder)
        augmentation = RandomStreams.stream(seed: seed, name: .augmentation)
        masks = RandomStreams.stream(seed: seed, name: .masks)
        dropPath = RandomStreams.stream(seed: seed, name: .dropPath)
        evaluation = RandomStreams.stream(seed: seed, name: .evaluation)
    }

    /// The generator of one named stream for `seed`.
    public static func stream(seed: UInt64, name: StreamName) -> RandomStream {
        RandomStream(seed: seed ^ fnv1a64(name.rawValue))
    }

    /// Every stream in a fixed order, with its name, for checkpointing.
    public var all: [(StreamName, RandomStream)] {
        [(.initialization, initialization), (.dataOrder, dataOrder), (.augmentation, augmentation),
         (.masks, masks), (.dropPath, dropPath), (.evaluation, evaluation)]
    }

    public mutating func set(_ name: StreamName, _ stream: RandomStream) {
        switch name {
        case .initialization: initialization = stream
        case .dataOrder: dataOrder = stream
        case .augmentation: augmentation = stream
        case .masks: masks = stream
        case .dropPath: dropPath = stream
        case .evaluation: evaluation = stream
        }
    }
}

/// 64-bit FNV-1a over UTF-8 bytes: a stable hash (Swift's `Hasher` is seeded per process).
public func fnv1a64(_ s: String) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in s.utf8 {
        h ^= UInt64(byte)
        h = h &* 0x0000_0100_0000_01B3
    }
    return h
}
