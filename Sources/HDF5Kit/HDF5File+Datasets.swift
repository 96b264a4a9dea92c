import CHDF5
import Foundation
import SafeIO

extension HDF5File {
    /// Writes `values` (row-major, `shape.reduce(1, *)` elements; shape [] is a scalar) as a new
    /// dataset at `name`, creating intermediate groups for every "/" in it. `chunks` (same rank
    /// as `shape`) turns on chunked storage; `deflate` (0...9) adds shuffle+deflate and needs
    /// chunks (a default of one chunk per leading-axis row group is chosen when omitted).
    public func write<T: HDF5Element>(
        _ values: [T], shape: [Int], to name: String, chunks: [Int]? = nil, deflate: Int? = nil
    ) throws {
        try requireWritable(name)
        let count = shape.reduce(1, *)
        guard shape.allSatisfy({ $0 >= 0 }), values.count == count else {
            throw HDF5Error.shapeMismatch(
                file: path, key: name, detail: "\(values.count) values for shape \(shape) (\(count) elements)")
        }
        if let chunks {
            guard chunks.count == shape.count, zip(chunks, shape).allSatisfy({ $0 > 0 && $0 <= max($1, 1) }) else {
                throw HDF5Error.shapeMismatch(file: path, key: name, detail: "chunks \(chunks) do not fit shape \(shape)")
            }
        }
        if let deflate, !(0...9).contains(deflate) {
            throw HDF5Error.operationFailed(file: path, key: name, operation: "deflate level \(deflate) (must be 0...9)")
        }
        let space = try makeDataspace(shape: shape, key: name)
        defer { H5Sclose(space) }
        let creation = H5Pcreate(h5p_dataset_create())
        defer { H5Pclose(creation) }
        var chunkShape = chunks
        if chunkShape == nil, deflate != nil, !shape.isEmpty, count > 0 {
            chunkShape = Self.defaultChunks(for: shape, elementSize: MemoryLayout<T>.stride)
        }
        if let chunkShape, !shape.isEmpty, count > 0 {
            var dims = chunkShape.map { hsize_t($0) }
            H5Pset_chunk(creation, Int32(dims.count), &dims)
            if let deflate {
                H5Pset_shuffle(creation)
                H5Pset_deflate(creation, UInt32(deflate))
            }
        }
        let linkCreation = H5Pcreate(h5p_link_create())
        defer { H5Pclose(linkCreation) }
        H5Pset_create_intermediate_group(linkCreation, 1)
        let dataset = H5Dcreate2(fileId, name, T.hdf5NativeType, space, linkCreation, creation, h5p_default())
        guard dataset >= 0 else {
            throw HDF5Error.operationFailed(file: path, key: name, operation: "create dataset (does it already exist?)")
        }
        errno = 0
        var status: herr_t = 0
        if count > 0 {
            status = values.withUnsafeBytes {
                H5Dwrite(dataset, T.hdf5NativeType, h5s_all(), h5s_all(), h5p_default(), $0.baseAddress)
            }
        }
        let writeErrno = errno
        // Closing writes the dataset's cached chunks: on a full disk it is often this that fails.
        let closed = H5Dclose(dataset)
        guard status >= 0, closed >= 0 else {
            throw HDF5Error.writeFailed(file: path, key: name, reason: Self.writeFailureReason(writeErrno != 0 ? writeErrno : errno))
        }
    }

    /// The system's reason for a failed write, or a guess when HDF5 left errno unset.
    static func writeFailureReason(_ code: Int32) -> String {
        code != 0 ? SafeIOError.reason(code, path: "") : "the library could not write (is the disk full?)"
    }

    /// Chunks of about 256 KiB along the leading axis, full extent on the others.
    static func defaultChunks(for shape: [Int], elementSize: Int) -> [Int] {
        let rowBytes = max(1, shape.dropFirst().reduce(1, *) * elementSize)
        let rows = max(1, min(shape[0], (256 * 1024) / rowBytes))
        return [rows] + shape.dropFirst().map { max($0, 1) }
    }

    func makeDataspace(shape: [Int], key: String) throws -> hid_t {
        let space: hid_t
        if shape.isEmpty {
            space = H5Screate(H5S_SCALAR)
        } else {
            var dims = shape.map { hsize_t($0) }
            space = H5Screate_simple(Int32(dims.count), &dims, nil)
        }
        guard space >= 0 else { throw HDF5Error.operationFailed(file: path, key: key, operation: "create dataspace") }
        return space
    }

    /// True when a dataset, group or other object exists at `name`.
    public func contains(_ name: String) -> Bool {
        guard fileId >= 0, !name.isEmpty else { return false }
        if name == "/" { return true }
        // H5Lexists must be asked for every prefix: asking for "a/b" when "a" is missing is an error.
        var prefix = ""
        for component in name.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += (prefix.isEmpty ? "" : "/") + component
            guard H5Lexists(fileId, prefix, h5p_default()) > 0 else { return false }
        }
        return true
    }

    /// Opens a dataset, or throws `missingKey`. The caller closes the returned id.
    func openDataset(_ name: String) throws -> hid_t {
        guard contains(name) else { throw HDF5Error.missingKey(file: path, key: name) }
        let dataset = H5Dopen2(fileId, name, h5p_default())
        guard dataset >= 0 else { throw HDF5Error.missingKey(file: path, key: name) }
        return dataset
    }

    /// The shape of a dataset ([] for a scalar).
    public func shape(of name: String) throws -> [Int] {
        let dataset = try openDataset(name)
        defer { H5Dclose(dataset) }
        return try datasetShape(dataset, key: name)
    }

    func datasetShape(_ dataset: hid_t, key: String) throws -> [Int] {
        let space = H5Dget_space(dataset)
        guard space >= 0 else { throw HDF5Error.operationFailed(file: path, key: key, operation: "get dataspace") }
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        guard rank >= 0 else { throw HDF5Error.operationFailed(file: path, key: key, operation: "get rank") }
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        H5Sget_simple_extent_dims(space, &dims, nil)
        return dims.prefix(rank).map { Int($0) }
    }

    /// The stored element type's name ("uint8", "float32", "int16", "string", ...).
    public func dtypeName(of name: String) throws -> String {
        let dataset = try openDataset(name)
        defer { H5Dclose(dataset) }
        let type = H5Dget_type(dataset)
        defer { H5Tclose(type) }
        return hdf5TypeName(of: type)
    }

    /// Throws `dtypeMismatch` unless the dataset's stored type is exactly `T`'s (class, size, sign).
    func checkType<T: HDF5Element>(_ dataset: hid_t, as: T.Type, key: String) throws {
        let type = H5Dget_type(dataset)
        defer { H5Tclose(type) }
        let stored = hdf5TypeName(of: type)
        guard stored == T.hdf5TypeName else {
            throw HDF5Error.dtypeMismatch(file: path, key: key, stored: stored, requested: T.hdf5TypeName)
        }
    }

    /// Reads a whole dataset as `T` (the stored type must be `T`) and its shape.
    public func read<T: HDF5Element>(_ name: String, as type: T.Type) throws -> (values: [T], shape: [Int]) {
        let dataset = try openDataset(name)
        defer { H5Dclose(dataset) }
        try checkType(dataset, as: T.self, key: name)
        let shape = try datasetShape(dataset, key: name)
        let count = shape.reduce(1, *)
        var values = [T](repeating: T.hdf5Zero, count: count)
        if count > 0 {
            let status = values.withUnsafeMutableBytes {
                H5Dread(dataset, T.hdf5NativeType, h5s_all(), h5s_all(), h5p_default(), $0.baseAddress)
            }
            guard status >= 0 else {
                throw HDF5Error.corrupt(file: path, detail: "reading '\(name)' failed")
            }
        }
        return (values, shape)
    }

    /// Reads a dataset and checks its shape equals `expectedShape`.
    public func read<T: HDF5Element>(_ name: String, as type: T.Type, shape expectedShape: [Int]) throws -> [T] {
        let (values, shape) = try read(name, as: type)
        guard shape == expectedShape else {
            throw HDF5Error.shapeMismatch(file: path, key: name, detail: "stored \(shape), expected \(expectedShape)")
        }
        return values
    }

    /// Reads rows `range` of the first axis (a hyperslab): values for shape
    /// [range.count] + shape.dropFirst().
    public func readRows<T: HDF5Element>(
        _ name: String, range: Range<Int>, as type: T.Type
    ) throws -> (values: [T], shape: [Int]) {
        let dataset = try openDataset(name)
        defer { H5Dclose(dataset) }
        try checkType(dataset, as: T.self, key: name)
        let shape = try datasetShape(dataset, key: name)
        guard let rows = shape.first, range.lowerBound >= 0, range.upperBound <= rows else {
            throw HDF5Error.shapeMismatch(
                file: path, key: name, detail: "rows \(range) outside stored shape \(shape)")
        }
        let outShape = [range.count] + shape.dropFirst()
        let count = outShape.reduce(1, *)
        var values = [T](repeating: T.hdf5Zero, count: count)
        guard count > 0 else { return (values, outShape) }
        let fileSpace = H5Dget_space(dataset)
        defer { H5Sclose(fileSpace) }
        var start = [hsize_t](repeating: 0, count: shape.count)
        start[0] = hsize_t(range.lowerBound)
        var extent = outShape.map { hsize_t($0) }
        H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &start, nil, &extent, nil)
        let memorySpace = H5Screate_simple(Int32(extent.count), &extent, nil)
        defer { H5Sclose(memorySpace) }
        let status = values.withUnsafeMutableBytes {
            H5Dread(dataset, T.hdf5NativeType, memorySpace, fileSpace, h5p_default(), $0.baseAddress)
        }
        guard status >= 0 else { throw HDF5Error.corrupt(file: path, detail: "reading rows of '\(name)' failed") }
        return (values, outShape)
    }

    /// Every dataset path in the file, recursively, sorted (byte order of UTF-8).
    public func datasetNames() -> [String] {
        final class Collector { var names: [String] = [] }
        let collector = Collector()
        let box = Unmanaged.passRetained(collector)
        defer { box.release() }
        H5Lvisit(fileId, H5_INDEX_NAME, H5_ITER_INC, { _, name, _, data in
            guard let name, let data else { return 0 }
            Unmanaged<Collector>.fromOpaque(data).takeUnretainedValue().names.append(String(cString: name))
            return 0
        }, box.toOpaque())
        let datasets = collector.names.filter { name in
            let object = H5Oopen(fileId, name, h5p_default())
            guard object >= 0 else { return false }
            defer { H5Oclose(object) }
            return H5Iget_type(object) == H5I_DATASET
        }
        return datasets.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }
}
