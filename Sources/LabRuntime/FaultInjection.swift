import Foundation
import LabKernel

/// A kernel error on demand, for the tests that an interrupted `up` leaves nothing `down`
/// cannot find (docs/architecture.md, "Invariants"): with
/// `LAB_INJECT_FAULT=N` in the environment, the applier sends the kernel a request it refuses
/// (a link whose name is longer than IFNAMSIZ) just before operation N of the plan (0-based).
/// The error is real — it comes back from the kernel through the same path as any other — so a
/// test sees exactly what a user would: the message, the exit code and the rollback.
///
/// The fault fires once per process: when a change of a running lab fails and `up` falls back
/// to rebuilding it, the rebuild runs clean, which is what the fallback test needs.
///
/// Not a user feature: it is read only from the environment and never documented in `--help`.
enum FaultInjection {
    static let variable = "LAB_INJECT_FAULT"
    nonisolated(unsafe) private static var fired = false

    /// The operation index to fail before, if the environment asks for one and the fault has
    /// not fired yet in this process.
    static var index: Int? {
        fired ? nil : ProcessInfo.processInfo.environment[variable].flatMap { Int($0) }
    }

    /// Equivalent to: `ip link add lab-injected-fault-name type bridge` — refused with EINVAL.
    /// `submit` is the applier's one way to the kernel (it may fail before sending: at
    /// operation 0 the plan's first namespace does not exist yet, which is a real kernel error
    /// too).
    static func fail(in namespace: String, submit: (RouteChange) throws -> Void) throws {
        fired = true
        try submit(.addBridge(name: "lab-injected-fault-name", mtu: nil, mac: nil))
        // A kernel that accepted the name would make the test meaningless: say so loudly.
        throw KernelError(operation: "inject fault", object: "\"lab-injected-fault-name\"",
                          namespace: namespace, errno: EINVAL,
                          kernelMessage: "the kernel accepted an over-long link name")
    }
}
