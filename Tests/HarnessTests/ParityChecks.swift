import Foundation
import Objectives
import TensorCore
import Testing
import TestSupport

/// Comparisons shared by the DINO and SelfPatch parity tests (fixtures of
/// Scripts/reference/make_dino_selfpatch_fixtures.py) and the MoCo-v2 and DenseCL ones
/// (Scripts/reference/make_moco_densecl_fixtures.py).
enum ParityChecks {
    /// The largest |a − b| over the largest |b| (or 1e-3 when b is tiny).
    static func relativeError(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "sizes \(a.count) vs \(b.count)")
        let scale = max(b.map { abs(Double($0)) }.max() ?? 0, 1e-3)
        return zip(a, b).map { abs(Double($0) - Double($1)) }.max()! / scale
    }

    static func absoluteError(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).map { abs(Double($0) - Double($1)) }.max() ?? 0
    }

    /// After the backward of step `s`: every parameter's gradient against `step<s>.grad.<key>`, to
    /// 2e-4 of the tensor's largest official |g|; prints the worst.
    static func rawGradients(_ s: Int, fixture fx: Fixture, parameters params: [(String, Tensor)], label: String) throws {
        var worst = (0.0, "")
        for (key, p) in params {
            let g = try #require(p.grad, "step \(s): no gradient for \(key)")
            let error = relativeError((0..<g.count).map { Float(g[$0]) }, try fx.values("step\(s).grad.\(key)"))
            if error > worst.0 { worst = (error, key) }
            #expect(error < 2e-4, "\(label) step \(s) gradient \(key): \(error)")
        }
        print("\(label) step \(s): worst raw gradient error \(worst.0) at \(worst.1)")
    }

    /// Writes the fixture's `init.<key>` values into the parameters (official state-dict keys;
    /// the patch weight [D, C, p, p] has the same element order as PatchBench's).
    static func loadInitial(_ params: [(String, Tensor)], from fx: Fixture) throws {
        try load(params, from: fx, prefix: "init.")
    }

    /// Writes the fixture's `<prefix><key>` values into the parameters.
    static func load(_ params: [(String, Tensor)], from fx: Fixture, prefix: String) throws {
        for (key, p) in params {
            let v = try fx.values(prefix + key)
            try #require(v.count == p.count, "\(prefix)\(key): \(v.count) values, model \(p.count)")
            for i in 0..<p.count { p.storage[i] = Double(v[i]) }
        }
    }

    /// After step `s`: every student parameter against `step<s>.student.<key>` and every teacher
    /// tensor of `state` against `step<s>.teacher.<key>`, to 2e-6 absolute.
    ///
    /// Adam divides by √v: where a gradient is rounding noise (a key bias, whose true gradient is 0
    /// by the softmax's shift invariance) its update is ±lr of either sign in any two
    /// implementations. Such elements (|g| below 1e-6 of the tensor's largest gradient, or below
    /// 1e-8 of the step's largest gradient of any tensor — a whole key bias is noise — in any step
    /// so far) are left out and counted; at most 0.5 % of all elements may be. A frozen tensor's
    /// gradient is all zeros (cancelled) and it is not updated, so it adds no noise.
    /// MoCo-v2 and DenseCL name the entries `grad`, `query` and `key` (`names`); `noiseFloor` is the
    /// 1e-6 above, raised where a loss sums more cancelling terms (DenseCL's B·S² dense rows).
    ///
    /// The teacher's EMA is deterministic; it inherits noise only from the student parameters it
    /// reads. DINO's teacher after step s reads the student after step s (`teacherReadsStudentBeforeStep`
    /// false), so it is compared where the student is. MoCo's key encoder after step s reads the
    /// query encoder before step s (its update runs first): it is compared on every element whose
    /// gradient was signal in steps 1..<s, i.e. on every element after step 1.
    static func parametersAfterStep(_ s: Int, fixture fx: Fixture, parameters params: [(String, Tensor)],
                                    state: ObjectiveState, label: String,
                                    names: (gradient: String, student: String, teacher: String) = ("clipped_grad", "student", "teacher"),
                                    noiseFloor: Double = 1e-6, teacherReadsStudentBeforeStep: Bool = false)
        throws {
        let global = try (1...s).map { step in
            try params.map { try fx.values("step\(step).\(names.gradient).\($0.0)").map { abs($0) }.max() ?? 0 }.max() ?? 0
        }
        var worst = (0.0, ""), worstTeacher = (0.0, ""), noise = 0, teacherCompared = 0
        for (key, p) in params {
            let gradients = try (1...s).map { try fx.values("step\($0).\(names.gradient).\(key)") }
            let floor: [Float] = gradients.indices.map { step in
                max(Float(noiseFloor) * (gradients[step].map { abs($0) }.max() ?? 0), 1e-8 * global[step])
            }
            // Elements whose gradient was signal (or the whole tensor's gradient exactly 0) in the steps `through`.
            func clean(through steps: Range<Int>) -> [Int] {
                (0..<p.count).filter { i in
                    steps.allSatisfy { gradients[$0].allSatisfy { $0 == 0 } || abs(gradients[$0][i]) >= floor[$0] }
                }
            }
            let kept = clean(through: gradients.indices)
            let teacherKept = teacherReadsStudentBeforeStep ? clean(through: 0..<(s - 1)) : kept
            // An element left out only for an official gradient of exactly 0 (a ReLU unit dead for
            // the whole batch) is not counted as noise.
            noise += (0..<p.count).filter { i in
                gradients.indices.contains { !gradients[$0].allSatisfy { $0 == 0 } && gradients[$0][i] != 0
                    && abs(gradients[$0][i]) < floor[$0] }
            }.count
            let student = p.floats, official = try fx.values("step\(s).\(names.student).\(key)")
            let error = kept.map { abs(Double(student[$0]) - Double(official[$0])) }.max() ?? 0
            if error > worst.0 { worst = (error, key) }
            #expect(error < 2e-6, "\(label) step \(s) student \(key) after AdamW: \(error)")
            let teacher = state["\(names.teacher).\(key)"]!.floats, officialTeacher = try fx.values("step\(s).\(names.teacher).\(key)")
            let teacherError = teacherKept.map { abs(Double(teacher[$0]) - Double(officialTeacher[$0])) }.max() ?? 0
            if teacherError > worstTeacher.0 { worstTeacher = (teacherError, key) }
            teacherCompared += teacherKept.count
            #expect(teacherError < 2e-6, "\(label) step \(s) \(names.teacher) \(key) after the EMA: \(teacherError)")
        }
        let total = params.reduce(0) { $0 + $1.1.count }
        print("\(label) step \(s): worst parameter error \(worst.0) at \(worst.1); \(noise) of \(total) noise-gradient "
              + "elements left out; worst \(names.teacher) error \(worstTeacher.0) at \(worstTeacher.1) over "
              + "\(teacherCompared) elements")
        #expect(noise <= total / 200, "\(label): \(noise) of \(total) elements with noise gradients, more than 0.5 %")
    }
}
