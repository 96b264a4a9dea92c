import Foundation

/// Memory figures of this process, recorded with runs and benchmarks.
public enum ProcessMemory {
    /// Peak resident set size so far, MiB (getrusage ru_maxrss, which Linux gives in KiB).
    public static func peakResidentMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}
