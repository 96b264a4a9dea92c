import Foundation

/// A value decoded by the small pickle VM below.
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case list(PickleList)
    /// Tuples carry their nesting depth so the reader can bound it without recursing.
    case tuple([PickleValue], depth: Int)
    case dict(PickleDict)
    case global(String)
    case array(NumpyArray)
    case dtype(String)

    /// Dictionary lookup by key name (str keys, or Python 2 byte-string keys).
    subscript(key: String) -> PickleValue? {
        guard case .dict(let dict) = self else { return nil }
        for (k, v) in dict.items {
            switch k {
            case .string(let s) where s == key: return v
            case .bytes(let b) where b == Array(key.utf8): return v
            default: continue
            }
        }
        return nil
    }

    var text: String? {
        switch self {
        case .string(let s): return s
        case .bytes(let b): return String(decoding: b, as: UTF8.self)
        default: return nil
        }
    }

    var integers: [Int]? {
        switch self {
        case .list(let list): return list.items.map { if case .int(let v) = $0 { return v } else { return nil } }.allNonNil()
        case .array(let array): return array.integers()
        default: return nil
        }
    }
}

/// Lists and dicts are mutable (APPEND / SETITEM act on them after creation), so they are
/// classes. `depth` is their nesting depth so far; `nested` becomes true once they are put
/// inside another container, after which they may not change (their depth could then grow
/// past the limit unseen, and only self-referencing pickles need that).
final class PickleList { var items: [PickleValue] = []; var depth = 1; var nested = false }
final class PickleDict { var items: [(PickleValue, PickleValue)] = []; var depth = 1; var nested = false }

/// A numpy ndarray rebuilt from `_reconstruct` + BUILD state (version, shape, dtype, fortran, data).
final class NumpyArray {
    var shape: [Int] = []
    var dtype = ""
    var fortranOrder = false
    var data: [UInt8] = []

    /// Values of integer arrays (u1, i1, and little-endian u2/i2/u4/i4/i8/u8).
    func integers() -> [Int]? {
        let size: Int
        switch dtype {
        case "u1", "i1": size = 1
        case "u2", "i2": size = 2
        case "u4", "i4": size = 4
        case "i8", "u8": size = 8
        default: return nil
        }
        let signed = dtype.hasPrefix("i")
        guard data.count % size == 0 else { return nil }
        return stride(from: 0, to: data.count, by: size).map { start in
            var value: UInt64 = 0
            for k in 0..<size { value |= UInt64(data[start + k]) << (8 * UInt64(k)) }
            if signed && size < 8 && value & (1 << (8 * UInt64(size) - 1)) != 0 { value |= ~0 << (8 * UInt64(size)) }
            return Int(Int64(bitPattern: value))
        }
    }
}

extension Array {
    func allNonNil<T>() -> [T]? where Element == T? {
        var out: [T] = []
        for e in self { guard let e else { return nil }; out.append(e) }
        return out
    }
}

/// A pickle reader for the CIFAR python release: protocols 0–4 opcodes that `pickle` emits for
/// dicts, lists, strings, bytes, ints and numpy arrays (via numpy's `_reconstruct`, `dtype`
/// and, under Python 3 protocol 2, `_codecs.encode`). Any other global is refused, so no code
/// is ever run and unknown content fails with an error naming the file.
struct PickleReader {
    /// Deepest container nesting accepted. CIFAR pickles nest 3 deep; a crafted 50 KB pickle of
    /// nested lists would otherwise overflow the stack when the value tree is freed (recursively).
    static let maximumNesting = 100

    let bytes: [UInt8]
    let file: String
    private var position = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
    }

    static func load(_ bytes: [UInt8], file: String) throws -> PickleValue {
        var reader = PickleReader(bytes: bytes, file: file)
        return try reader.run()
    }

    private func fail(_ problem: String) -> DatasetError { DatasetError(file, "pickle: \(problem) at byte \(position)") }

    private mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, position + count <= bytes.count else { throw fail("unexpected end of data (truncated file?)") }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    private mutating func littleEndian(_ count: Int) throws -> Int {
        var value = 0
        for (k, byte) in try take(count).enumerated() { value |= Int(byte) << (8 * k) }
        return value
    }

    private mutating func line() throws -> String {
        guard let end = bytes[position...].firstIndex(of: 0x0A) else { throw fail("unterminated line") }
        defer { position = end + 1 }
        return String(decoding: bytes[position..<end], as: UTF8.self)
    }

    /// Nesting depth of a value: 0 for scalars, O(1) (stored on containers).
    private func depth(_ value: PickleValue) -> Int {
        switch value {
        case .list(let list): return list.depth
        case .dict(let dict): return dict.depth
        case .tuple(_, let depth): return depth
        default: return 0
        }
    }

    /// Marks values as nested inside a container and returns the container's depth.
    private func nest(_ values: [PickleValue], into currentDepth: Int) throws -> Int {
        var result = currentDepth
        for value in values {
            switch value {
            case .list(let list): list.nested = true
            case .dict(let dict): dict.nested = true
            default: break
            }
            result = max(result, depth(value) + 1)
        }
        guard result <= Self.maximumNesting else {
            throw fail("containers nested deeper than \(Self.maximumNesting) levels (crafted or corrupt file?)")
        }
        return result
    }

    private func tuple(_ values: [PickleValue]) throws -> PickleValue {
        .tuple(values, depth: try nest(values, into: 1))
    }

    /// The list on top of the stack, if it may still be changed.
    private func openList(_ opcode: String) throws -> PickleList {
        guard case .list(let list) = stack.last else { throw fail("\(opcode) without a list") }
        guard !list.nested else { throw fail("\(opcode) on a list already inside another container (self-referencing pickles are unsupported)") }
        return list
    }

    private func openDict(_ opcode: String) throws -> PickleDict {
        guard case .dict(let dict) = stack.last else { throw fail("\(opcode) without a dict") }
        guard !dict.nested else { throw fail("\(opcode) on a dict already inside another container (self-referencing pickles are unsupported)") }
        return dict
    }

    private mutating func pop() throws -> PickleValue {
        guard let value = stack.popLast() else { throw fail("stack underflow") }
        return value
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let mark = marks.popLast(), mark <= stack.count else { throw fail("missing MARK") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    mutating func run() throws -> PickleValue {
        while true {
            let opcode = try take(1).first!
            switch opcode {
            case 0x80: _ = try take(1)  // PROTO
            case 0x95: _ = try take(8)  // FRAME
            case UInt8(ascii: "."): return try pop()  // STOP
            case UInt8(ascii: "("): marks.append(stack.count)
            case UInt8(ascii: "}"): stack.append(.dict(PickleDict()))
            case UInt8(ascii: "]"): stack.append(.list(PickleList()))
            case UInt8(ascii: ")"): stack.append(.tuple([], depth: 1))
            case UInt8(ascii: "N"): stack.append(.none)
            case 0x88: stack.append(.bool(true))
            case 0x89: stack.append(.bool(false))
            case UInt8(ascii: "J"):
                // BININT is a signed 32-bit field: reinterpreting its 4 bytes is exact, not a narrowing.
                let raw = try littleEndian(4)
                stack.append(.int(Int(Int32(bitPattern: UInt32(raw)))))
            case UInt8(ascii: "K"): stack.append(.int(try littleEndian(1)))
            case UInt8(ascii: "M"): stack.append(.int(try littleEndian(2)))
            case 0x8A:  // LONG1
                let count = try littleEndian(1)
                guard count <= 8 else { throw fail("integer too large") }
                let slice = try take(count)
                var value: Int64 = 0
                for (k, byte) in slice.enumerated() { value |= Int64(byte) << (8 * Int64(k)) }
                if count > 0 && count < 8 && slice.last! & 0x80 != 0 { value |= ~0 << (8 * Int64(count)) }
                stack.append(.int(Int(value)))
            case UInt8(ascii: "G"):
                let slice = Array(try take(8))
                stack.append(.float(Double(bitPattern: slice.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })))
            case UInt8(ascii: "U"): stack.append(.bytes(Array(try take(try littleEndian(1)))))  // SHORT_BINSTRING
            case UInt8(ascii: "T"): stack.append(.bytes(Array(try take(try littleEndian(4)))))  // BINSTRING
            case UInt8(ascii: "C"): stack.append(.bytes(Array(try take(try littleEndian(1)))))  // SHORT_BINBYTES
            case UInt8(ascii: "B"): stack.append(.bytes(Array(try take(try littleEndian(4)))))  // BINBYTES
            case 0x8C: stack.append(.string(String(decoding: try take(try littleEndian(1)), as: UTF8.self)))
            case UInt8(ascii: "X"): stack.append(.string(String(decoding: try take(try littleEndian(4)), as: UTF8.self)))
            case UInt8(ascii: "q"): memo[try littleEndian(1)] = stack.last
            case UInt8(ascii: "r"): memo[try littleEndian(4)] = stack.last
            case 0x94: memo[memo.count] = stack.last
            case UInt8(ascii: "h"), UInt8(ascii: "j"):
                let key = try littleEndian(opcode == UInt8(ascii: "h") ? 1 : 4)
                guard let value = memo[key] else { throw fail("memo key \(key) missing") }
                stack.append(value)
            case UInt8(ascii: "a"):
                let value = try pop()
                let list = try openList("APPEND")
                list.depth = try nest([value], into: list.depth)
                list.items.append(value)
            case UInt8(ascii: "e"):
                let values = try popMark()
                let list = try openList("APPENDS")
                list.depth = try nest(values, into: list.depth)
                list.items.append(contentsOf: values)
            case UInt8(ascii: "s"):
                let value = try pop(), key = try pop()
                let dict = try openDict("SETITEM")
                dict.depth = try nest([key, value], into: dict.depth)
                dict.items.append((key, value))
            case UInt8(ascii: "u"):
                let values = try popMark()
                guard values.count % 2 == 0 else { throw fail("SETITEMS with an odd number of values") }
                let dict = try openDict("SETITEMS")
                dict.depth = try nest(values, into: dict.depth)
                for k in stride(from: 0, to: values.count, by: 2) { dict.items.append((values[k], values[k + 1])) }
            case UInt8(ascii: "t"): stack.append(try tuple(try popMark()))
            case 0x85: stack.append(try tuple([try pop()]))
            case 0x86: let b = try pop(), a = try pop(); stack.append(try tuple([a, b]))
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); stack.append(try tuple([a, b, c]))
            case UInt8(ascii: "c"): stack.append(.global("\(try line()).\(try line())"))
            case 0x93:  // STACK_GLOBAL
                let name = try pop(), module = try pop()
                stack.append(.global("\(module.text ?? "").\(name.text ?? "")"))
            case UInt8(ascii: "R"), 0x81:
                let arguments = try pop(), callable = try pop()
                stack.append(try call(callable, arguments))
            case UInt8(ascii: "b"):
                let state = try pop()
                try build(stack.last, state)
            default:
                throw fail(String(format: "unsupported opcode 0x%02x", opcode))
            }
        }
    }

    /// The only callables allowed: numpy array/dtype reconstruction and latin-1 bytes.
    private func call(_ callable: PickleValue, _ arguments: PickleValue) throws -> PickleValue {
        guard case .global(let name) = callable, case .tuple(let args, _) = arguments else { throw fail("bad REDUCE") }
        switch name {
        case "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct":
            return .array(NumpyArray())
        case "numpy.dtype":
            guard let kind = args.first?.text else { throw fail("numpy.dtype without a name") }
            return .dtype(kind)
        case "_codecs.encode":
            guard case .string(let text)? = args.first else { throw fail("_codecs.encode without a string") }
            return .bytes(text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) })
        default:
            throw fail("refusing to call '\(name)' (only numpy arrays and built-in types are supported)")
        }
    }

    private func build(_ target: PickleValue?, _ state: PickleValue) throws {
        switch target {
        case .array(let array)?:
            guard case .tuple(let fields, _) = state, fields.count == 5, case .tuple(let shape, _) = fields[1],
                  case .dtype(let dtype) = fields[2] else { throw fail("unexpected ndarray state") }
            array.shape = try shape.map { if case .int(let v) = $0, v >= 0 { return v } else { throw fail("ndarray shape must hold non-negative integers") } }
            // The element count must be representable, so callers can multiply shapes freely.
            guard checkedProduct(array.shape) != nil else { throw fail("ndarray shape \(array.shape) has more elements than Int can count") }
            array.dtype = dtype
            if case .bool(let fortran) = fields[3] { array.fortranOrder = fortran }
            guard case .bytes(let data) = fields[4] else { throw fail("ndarray data is not raw bytes") }
            array.data = data
        case .dtype?:
            // State (version, byte order, ...): only little-endian or byte-sized types are read.
            if case .tuple(let fields, _) = state, fields.count > 1, fields[1].text == ">" { throw fail("big-endian arrays unsupported") }
        default:
            throw fail("BUILD on an unsupported object")
        }
    }
}
