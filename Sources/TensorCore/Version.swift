public enum PatchBenchVersion { public static let string = "0.1.0" }
