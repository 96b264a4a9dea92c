import CHDF5

/// The element types HDF5Kit reads and writes, with the HDF5 native type each maps to and the
/// class/size/sign triple used to check a stored type before reading (so a Float32 dataset is
/// never silently converted to Double by the library).
public protocol HDF5Element {
    /// The in-memory HDF5 type (a library-owned id; never closed).
    static var hdf5NativeType: hid_t { get }
    /// Short name used in error messages and in `HDF5File.dtypeName(of:)`: "uint8", "float32", ...
    static var hdf5TypeName: String { get }
    /// Zero value used to allocate read buffers.
    static var hdf5Zero: Self { get }
}

extension UInt8: HDF5Element {
    public static var hdf5NativeType: hid_t { h5_native_uint8() }
    public static var hdf5TypeName: String { "uint8" }
    public static var hdf5Zero: UInt8 { 0 }
}

extension Int32: HDF5Element {
    public static var hdf5NativeType: hid_t { h5_native_int32() }
    public static var hdf5TypeName: String { "int32" }
    public static var hdf5Zero: Int32 { 0 }
}

extension Int64: HDF5Element {
    public static var hdf5NativeType: hid_t { h5_native_int64() }
    public static var hdf5TypeName: String { "int64" }
    public static var hdf5Zero: Int64 { 0 }
}

extension UInt64: HDF5Element {
    public static var hdf5NativeType: hid_t { h5_native_uint64() }
    public static var hdf5TypeName: String { "uint64" }
    public static var hdf5Zero: UInt64 { 0 }
}

extension Float: HDF5Element {
    public static var hdf5NativeType: hid_t { h5_native_float() }
    public static var hdf5TypeName: String { "float32" }
    public static var hdf5Zero: Float { 0 }
}

extension Double: HDF5Element {
    public static var hdf5NativeType: hid_t { h5_native_double() }
    public static var hdf5TypeName: String { "float64" }
    public static var hdf5Zero: Double { 0 }
}

/// A readable name ("int16", "float32", "string", ...) for any stored HDF5 datatype.
func hdf5TypeName(of type: hid_t) -> String {
    let size = H5Tget_size(type) * 8
    switch H5Tget_class(type) {
    case H5T_INTEGER:
        return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + "\(size)"
    case H5T_FLOAT:
        return "float\(size)"
    case H5T_STRING:
        return "string"
    case H5T_COMPOUND:
        return "compound"
    default:
        return "other(\(size) bits)"
    }
}
