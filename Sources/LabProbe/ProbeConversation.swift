import Glibc

/// One try of a probe as a state machine the probe loop drives: it starts, asks to be woken
/// when its descriptor is ready or at a time, and finishes with an observation. Nothing in it
/// blocks, so one thread runs hundreds of tries at once.
protocol ProbeConversation: AnyObject {
    /// The descriptor to poll, or -1 when only time can wake it.
    var fd: Int32 { get }
    /// Sends the first packet (or starts the connection, or the command).
    func start(now: ProbeInstant) -> ProbeStep
    /// Called when `fd` reported `revents`, or with 0 when the time asked for has come.
    func advance(revents: Int16, now: ProbeInstant) -> ProbeStep
}

enum ProbeStep {
    /// Wake me when `fd` has `events` (0: none) or at `until`, whichever is first.
    case wait(events: Int16, until: ProbeInstant)
    case finished(ProbeObservation)
}

/// The poll events as the `Int16` of `pollfd`.
enum PollEvent {
    static let readable = Int16(POLLIN)
    static let writable = Int16(POLLOUT)
    /// Reported whether asked for or not: errors and hang-ups also wake a waiting reader.
    static let failure = Int16(POLLERR | POLLHUP)
}
