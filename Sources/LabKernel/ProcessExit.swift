/// How a process ended, from its wait status (`WIFEXITED`/`WEXITSTATUS`/`WTERMSIG` are macros
/// Swift cannot import).
public struct ProcessExit: Sendable, Hashable, CustomStringConvertible {
    /// The status `waitpid` gave.
    public let waitStatus: Int32

    public init(waitStatus: Int32) { self.waitStatus = waitStatus }

    /// The signal that killed it, or nil when it exited.
    public var signal: Int32? {
        let signal = waitStatus & 0x7f
        return signal == 0 ? nil : signal
    }

    /// As a shell reports it (`$?`): the exit code, or 128 + the signal.
    public var code: Int32 {
        if let signal { return 128 + signal }
        return (waitStatus >> 8) & 0xff
    }

    public var description: String {
        if let signal { return "killed by signal \(signal)" }
        return "exit \(code)"
    }
}
