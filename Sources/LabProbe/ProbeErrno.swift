import Glibc
import LabKernel

/// What an errno from a probe's socket means for reachability, and its symbolic name.
enum ProbeErrno {
    /// `ECONNREFUSED`; LabKernel's table, plus the few socket errors it does not list.
    static func name(_ code: Int32) -> String {
        switch code {
        case EPIPE: "EPIPE"
        case EHOSTDOWN: "EHOSTDOWN"
        case ECONNABORTED: "ECONNABORTED"
        default: KernelError(operation: "", object: "", errno: code).errnoName
        }
    }

    /// The outcome of a try that a connect, send or receive failed with `code`. Errors of the
    /// network become blocked outcomes; anything else is an error of the probe itself.
    static func outcome(_ code: Int32) -> ProbeOutcome {
        switch code {
        case ECONNREFUSED: .refused
        // EPERM: a netfilter rule in the source namespace dropped the packet on its way out
        // (`sendmsg`/`connect` fail with it instead of the packet silently vanishing).
        case EHOSTUNREACH, ENETUNREACH, ENETDOWN, EHOSTDOWN, EPERM: .unreachable
        case ECONNRESET, EPIPE, ECONNABORTED: .reset
        case ETIMEDOUT: .timeout
        default: .error
        }
    }

    /// An observation of a try that ended with `code` after `elapsed` milliseconds.
    static func observation(_ code: Int32, during step: String, elapsed: Double) -> ProbeObservation {
        let outcome = outcome(code)
        let detail: String? = switch (outcome, code) {
        case (.unreachable, EPERM): "a firewall rule in the source namespace dropped it"
        case (.error, _): step
        default: nil
        }
        return ProbeObservation(outcome: outcome, errno: name(code), detail: detail, elapsedMilliseconds: elapsed)
    }
}
