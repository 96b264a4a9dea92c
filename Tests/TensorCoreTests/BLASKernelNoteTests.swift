import Testing
import TensorCore

/// The warning for OpenBLAS's fallback to a kernel without the CPU's AVX2 (0.3.21 picks Prescott
/// on Sapphire Rapids): given only where OpenBLAS chose the kernel itself on a CPU that has AVX2.
struct BLASKernelNoteTests {
    @Test(arguments: ["Prescott", "Nehalem", "Sandybridge", "Core2"])
    func aFallbackKernelOnAnAVX2CPUIsNamed(core: String) throws {
        let note = try #require(BLAS.slowKernelNote(core: core, coreTypeSet: false, cpuHasAVX2FMA: true))
        #expect(note.contains("runs its \(core) kernel") && note.contains("OPENBLAS_CORETYPE=Haswell"), "\(note)")
    }

    @Test(arguments: ["Haswell", "SkylakeX", "Zen", "SapphireRapids", "COOPERLAKE"])
    func anAVX2KernelIsNotNamed(core: String) {
        #expect(BLAS.slowKernelNote(core: core, coreTypeSet: false, cpuHasAVX2FMA: true) == nil)
    }

    /// An empty OPENBLAS_CORETYPE is no request (OpenBLAS picks the kernel as when it is unset), so
    /// a golden written with it unset and a check run with it empty record the same environment.
    @Test func anEmptyCoreTypeRequestsNothing() {
        #expect(BLAS.requestedCoreType(in: [:]) == nil)
        #expect(BLAS.requestedCoreType(in: ["OPENBLAS_CORETYPE": ""]) == nil)
        #expect(BLAS.requestedCoreType(in: ["OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "1048576"]) == "Haswell")
    }

    @Test func aChosenKernelOrACPUWithoutAVX2IsNotNamed() {
        #expect(BLAS.slowKernelNote(core: "Prescott", coreTypeSet: true, cpuHasAVX2FMA: true) == nil)
        #expect(BLAS.slowKernelNote(core: "Prescott", coreTypeSet: false, cpuHasAVX2FMA: false) == nil)
    }
}
