import CEpoll
import Glibc
import LabKernel
import LabPlan
import LabSpec

/// The scheduler behind `ProbeEngine`: up to `window` probes holding a socket at once, each
/// running its tries one after another (`repeat`), attempts again while failing (`retries`),
/// all driven by one `epoll` loop on one thread.
///
/// What keeps failures from stalling the rest:
/// - a wake-up costs the descriptors that are ready, not those in flight, so thousands of
///   probes waiting for their timeouts cost nothing until they expire;
/// - deadlines live in a heap: the loop sleeps until the earliest, whichever probe owns it;
/// - a probe waiting to be retried holds no socket and no place in the window: it is only a
///   timer, and takes a place again when it runs.
///
/// The loop's own thread enters each source namespace with `setns(2)` to open a socket there
/// (consecutive probes mostly share a source, so that is rare) — which is why `ProbeEngine`
/// runs it on a thread of its own.
final class ProbeLoop {
    /// A probe between admission and its result.
    private final class Flight {
        let index: Int
        let task: ProbeTask
        let slot: Int
        var started: ProbeInstant
        var attempt = 0
        var tries: [ProbeObservation] = []
        var conversation: ProbeConversation?
        /// The descriptor registered with epoll for `conversation`, and its events.
        var registered: Int32 = -1
        var registeredEvents: UInt32 = 0
        /// New for every conversation, so readiness of an older one is never misdelivered.
        var serial: UInt32 = 0
        /// The time asked for (a conversation's wake-up, or when a retry is due) and the stamp
        /// of its timer entry.
        var until = ProbeInstant(nanoseconds: .min)
        var stamp: UInt32 = 0

        init(index: Int, task: ProbeTask, slot: Int, now: ProbeInstant) {
            self.index = index
            self.task = task
            self.slot = slot
            started = now
        }

        var tag: UInt64 { UInt64(serial) << 32 | UInt64(slot) }
    }

    private let tasks: [ProbeTask]
    private let options: ProbeEngine.Options
    private let window: Int
    private let poll: EventPoll
    private var slots: [Flight?] = []
    private var freeSlots: [Int] = []
    private var timers = ProbeTimers()
    /// Retries that are due, waiting for a place in the window (first come, first served).
    private var ready: [Flight] = []
    private var readyHead = 0
    /// Flights holding a socket or a process.
    private var open = 0
    private var nextTask = 0
    /// Exec probes running their command, and those waiting for one of `commandLimit` places
    /// (they hold no socket meanwhile).
    private var commandsRunning = 0
    private var commandsWaiting: [Flight] = []
    static let commandLimit = 64
    private var reported = 0
    /// Serials of conversations and stamps of timers, unique across flights, so a slot reused
    /// by another probe never takes the readiness or the timer of the one before.
    private var serial: UInt32 = 0
    /// Ping identifiers, unique among this loop's pings in flight (far fewer than 65,536).
    private var nextIdentifier = UInt16.random(in: .min ... .max)
    /// Marks our echoes apart from those of another process using the same identifier.
    private let token = UInt64.random(in: .min ... .max)
    /// The namespace this thread is in: nil for the one it started in (`home`).
    private var current: NetworkNamespace?
    private let home: Int32
    private let neighbours: NeighbourWatch

    private static let stopTag = UInt64.max

    init(tasks: [ProbeTask], options: ProbeEngine.Options, window: Int) throws(KernelErrno) {
        self.tasks = tasks
        self.options = options
        self.window = max(1, window)
        poll = try EventPoll()
        home = Glibc.open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        neighbours = NeighbourWatch(options.hostNeighbours)
        stampHolder = tasks.contains { if case .ping = $0.action { true } else { false } } ? Self.holdTimestamps() : -1
    }

    /// The kernel stamps received packets only while some socket asks for it, and switches
    /// stamping on a moment after the first one does (a work item): asking before the first
    /// echo is sent means even the first replies carry the kernel's time.
    private let stampHolder: Int32

    private static func holdTimestamps() -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, ProbeSocket.timestampOption, &on, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }

    deinit {
        if stampHolder >= 0 { close(stampHolder) }
        if current != nil { _ = lab_enter_network_namespace(home) }
        if home >= 0 { close(home) }
    }

    /// Runs until every task has a result or `stop` becomes readable; calls `onResult` with
    /// each task's index as it finishes (in the order they finish) and `tick` at least every
    /// `tickInterval`. False if stopped early.
    func run(stop: Int32?, tickInterval: Duration, tick: () -> Void, onResult: (Int, ProbeResult) -> Void) -> Bool {
        if let stop { poll.add(stop, events: EventPoll.readable, tag: Self.stopTag) }
        defer { abandon() }
        var stopped = false
        let tickNanoseconds = max(1_000_000, tickInterval.probeNanoseconds)
        var nextTick = ProbeInstant.now().advanced(by: tickNanoseconds)
        while reported < tasks.count {
            admit(onResult)
            if reported == tasks.count { break }
            let now = ProbeInstant.now()
            // More to admit: only look at what is ready, then admit the next batch.
            let wake = canAdmit ? now.nanoseconds : min(timers.earliest ?? .max, nextTick.nanoseconds)
            // Rounded up to whole milliseconds, so a deadline never wakes the loop just before it.
            let timeout = Int32(clamping: max(0, (wake - now.nanoseconds + 999_999) / 1_000_000))
            var woken: [(Flight, UInt32)] = []
            guard poll.wait(timeoutMilliseconds: timeout, { tag, events in
                if tag == Self.stopTag {
                    stopped = true
                    return
                }
                let slot = Int(tag & 0xffff_ffff)
                guard slot < slots.count, let flight = slots[slot], flight.tag == tag else { return }
                woken.append((flight, events))
            }) else { return false }
            if stopped { return false }
            let after = ProbeInstant.now()
            for (flight, events) in woken {
                // Finished or moved on to another conversation earlier in this batch.
                guard flight.conversation != nil, flight.registered >= 0 else { continue }
                let revents = Int16(truncatingIfNeeded: events & (EventPoll.readable | EventPoll.writable | EventPoll.error | EventPoll.hangUp))
                advance(flight, revents: revents, after, onResult)
            }
            while let entry = timers.popDue(ProbeInstant.now().nanoseconds) {
                guard Int(entry.slot) < slots.count, let flight = slots[Int(entry.slot)], flight.stamp == entry.stamp else { continue }
                // Consumed: asking for the same time again must push a new entry.
                flight.until = ProbeInstant(nanoseconds: .min)
                if flight.conversation != nil {
                    advance(flight, revents: 0, ProbeInstant.now(), onResult)
                } else {
                    ready.append(flight)
                }
            }
            if ProbeInstant.now() >= nextTick {
                tick()
                nextTick = ProbeInstant.now().advanced(by: tickNanoseconds)
            }
        }
        return !stopped
    }

    /// Probes started per turn of the loop at most: between batches the loop reads what
    /// came back, so replies are read (and stamped, when the kernel's timestamps are not on
    /// yet) as they arrive rather than after thousands of sends.
    static let admissionBatch = 128

    private var canAdmit: Bool { open < window && (readyHead < ready.count || nextTask < tasks.count) }

    /// Fills the window, a batch at a time: due retries first, then new tasks in order.
    private func admit(_ onResult: (Int, ProbeResult) -> Void) {
        var admitted = 0
        while open < window, admitted < Self.admissionBatch {
            admitted += 1
            if readyHead < ready.count {
                let flight = ready[readyHead]
                readyHead += 1
                if readyHead > 1024, readyHead * 2 > ready.count {
                    ready.removeFirst(readyHead)
                    readyHead = 0
                }
                startTry(flight, onResult)
                continue
            }
            guard nextTask < tasks.count else { return }
            let slot = freeSlots.popLast() ?? slots.count
            let flight = Flight(index: nextTask, task: tasks[nextTask], slot: slot, now: ProbeInstant.now())
            if slot == slots.count { slots.append(flight) } else { slots[slot] = flight }
            nextTask += 1
            startTry(flight, onResult)
        }
    }

    /// Opens what the next try needs (in the source namespace) and starts it.
    private func startTry(_ flight: Flight, _ onResult: (Int, ProbeResult) -> Void) {
        let task = flight.task
        let before = ProbeInstant.now()
        if let failure = enter(task.namespace) {
            return finishTry(flight, ProbeObservation(outcome: .error, errno: ProbeErrno.name(failure.errno), detail: failure.step,
                                                      elapsedMilliseconds: 0), before, onResult)
        }
        if case .exec(let argv) = task.action {
            // A command is a process, not a socket: thousands at once would swamp the host.
            guard commandsRunning < Self.commandLimit else {
                commandsWaiting.append(flight)
                return
            }
            commandsRunning += 1
            let conversation = ExecConversation(argv: argv, namespace: task.namespace, timeout: timeout(of: task))
            return begin(flight, conversation, ProbeInstant.now(), onResult)
        }
        guard task.endpoint != nil || task.lookup != nil, let kind = Self.socketKind(task.action) else {
            return finishTry(flight, ProbeObservation(outcome: .error, detail: "the probe has no target address", elapsedMilliseconds: 0),
                             before, onResult)
        }
        if case .dns = task.action, task.lookup == nil {
            return finishTry(flight, ProbeObservation(outcome: .error, detail: "a dns probe needs the source pod's resolver (cluster DNS)",
                                                      elapsedMilliseconds: 0), before, onResult)
        }
        // A lookup first (a dns probe, or a probe by name): its queries leave from a UDP socket
        // of the source namespace, as the pod's resolver's would.
        let lookup = task.lookup
        switch ProbeSocket.open([lookup == nil ? kind : .udp])[0] {
        case .socket(let fd):
            // The try starts now, not before the hop into the namespace: timeouts are about
            // the network.
            let socket = ProbeDescriptor(fd)
            let conversation = if let lookup { lookupConversation(for: task, lookup: lookup, socket: socket, kind: kind) }
                               else { conversation(for: task, endpoint: task.endpoint!, socket: socket) }
            begin(flight, conversation, ProbeInstant.now(), onResult)
        case .failed(let code, let step):
            let now = ProbeInstant.now()
            finishTry(flight, ProbeObservation(outcome: .error, errno: ProbeErrno.name(code), detail: step,
                                               elapsedMilliseconds: now.milliseconds(since: before)), now, onResult)
        }
    }

    /// A socket of `kind` in `namespace`, for a conversation that needs another one midway (the
    /// thread may be in another probe's namespace by then).
    private func openSocket(_ kind: ProbeSocket.Kind, in namespace: NetworkNamespace?) -> ProbeSocket.Opened {
        if let failure = enter(namespace) { return .failed(errno: failure.errno, step: failure.step) }
        return ProbeSocket.open([kind])[0]
    }

    /// The lookup of a dns probe, or the lookup and then the probe of a probe by name.
    private func lookupConversation(for task: ProbeTask, lookup: NameLookup, socket: ProbeDescriptor,
                                    kind: ProbeSocket.Kind) -> ProbeConversation {
        let namespace = task.namespace
        let open: (ProbeSocket.Kind) -> ProbeSocket.Opened = { [unowned self] kind in openSocket(kind, in: namespace) }
        let type: DNSProbeType = if case .dns(_, let type) = task.action { type } else { .a }
        let dns = DNSLookupConversation(socket: socket, lookup: lookup, type: type, timeout: timeout(of: task), openSocket: open)
        if case .dns = task.action { return dns }
        return ByNameConversation(lookup: dns) { [unowned self] endpoint in
            switch open(kind) {
            case .socket(let fd):
                return .conversation(conversation(for: task, endpoint: endpoint, socket: ProbeDescriptor(fd)))
            case .failed(let code, let step):
                return .failed(ProbeObservation(outcome: .error, errno: ProbeErrno.name(code), detail: step, elapsedMilliseconds: 0))
            }
        }
    }

    /// Moves this thread into `namespace` (nil: back where it started); the failure if it
    /// could not.
    private func enter(_ namespace: NetworkNamespace?) -> (errno: Int32, step: String)? {
        if namespace === current { return nil }
        let target = namespace?.fd ?? home
        guard target >= 0, lab_enter_network_namespace(target) == 0 else {
            let code = target >= 0 ? errno : EBADF
            return (code, "enter namespace \(namespace?.name ?? "of lab verify")")
        }
        current = namespace
        return nil
    }

    /// The socket a try of `action` needs; nil for exec, which runs a command instead.
    private static func socketKind(_ action: ProbeAction) -> ProbeSocket.Kind? {
        switch action {
        case .ping: .icmp
        case .http, .tcp: .tcp
        case .udp, .dns: .udp
        case .exec: nil
        }
    }

    private func conversation(for task: ProbeTask, endpoint: ProbeEndpoint, socket: ProbeDescriptor) -> ProbeConversation {
        let timeout = timeout(of: task)
        switch task.action {
        case .ping(let count):
            nextIdentifier &+= 1
            return PingConversation(socket: socket, endpoint: endpoint, count: count, interval: options.pingInterval.probeNanoseconds,
                                    timeout: timeout, identifier: nextIdentifier, token: token)
        case .http(let path, let method):
            return HTTPConversation(socket: socket, endpoint: endpoint, path: path, method: method, timeout: timeout,
                                    host: task.lookup?.name)
        case .tcp:
            return TCPConversation(socket: socket, endpoint: endpoint, timeout: timeout, greetingWait: options.greetingWait.probeNanoseconds)
        case .udp(let payload):
            return UDPConversation(socket: socket, endpoint: endpoint, payload: payload, timeout: timeout)
        case .exec:
            preconditionFailure("exec probes open no socket (socketKind is nil)")
        case .dns:
            preconditionFailure("dns probes are lookups (lookupConversation)")
        }
    }

    private func timeout(of task: ProbeTask) -> Int64 { max(1_000_000, task.timeout.probeNanoseconds) }

    private func begin(_ flight: Flight, _ conversation: ProbeConversation, _ now: ProbeInstant, _ onResult: (Int, ProbeResult) -> Void) {
        flight.conversation = conversation
        serial &+= 1
        flight.serial = serial
        open += 1
        apply(conversation.start(now: now), to: flight, now, onResult)
    }

    private func advance(_ flight: Flight, revents: Int16, _ now: ProbeInstant, _ onResult: (Int, ProbeResult) -> Void) {
        guard let conversation = flight.conversation else { return }
        apply(conversation.advance(revents: revents, now: now), to: flight, now, onResult)
    }

    private func apply(_ step: ProbeStep, to flight: Flight, _ now: ProbeInstant, _ onResult: (Int, ProbeResult) -> Void) {
        switch step {
        case .wait(let events, let until):
            watch(flight, events: UInt32(UInt16(bitPattern: events)))
            schedule(flight, at: until)
        case .finished(let observation):
            unwatch(flight)
            flight.conversation = nil
            open -= 1
            finishTry(flight, observation, now, onResult)
            if case .exec = flight.task.action {
                commandsRunning -= 1
                if !commandsWaiting.isEmpty { startTry(commandsWaiting.removeFirst(), onResult) }
            }
        }
    }

    /// Registers the conversation's descriptor for `events`, or takes it out of the set when
    /// it waits only for time (as poll did, so a hang-up does not wake a timer-only wait).
    private func watch(_ flight: Flight, events: UInt32) {
        let fd = flight.conversation?.fd ?? -1
        if fd < 0 || events == 0 {
            unwatch(flight)
            return
        }
        if flight.registered != fd {
            unwatch(flight)
            if poll.add(fd, events: events, tag: flight.tag) == 0 {
                flight.registered = fd
                flight.registeredEvents = events
            }
        } else if flight.registeredEvents != events {
            poll.modify(fd, events: events, tag: flight.tag)
            flight.registeredEvents = events
        }
    }

    private func unwatch(_ flight: Flight) {
        guard flight.registered >= 0 else { return }
        poll.remove(flight.registered)
        flight.registered = -1
        flight.registeredEvents = 0
    }

    private func schedule(_ flight: Flight, at until: ProbeInstant) {
        guard until != flight.until else { return }
        flight.until = until
        serial &+= 1
        flight.stamp = serial
        timers.push(.init(when: until.nanoseconds, slot: Int32(flight.slot), stamp: flight.stamp))
    }

    /// Records a try; then the next try, another attempt (after the retry delay, holding
    /// nothing), or the result.
    private func finishTry(_ flight: Flight, _ observation: ProbeObservation, _ now: ProbeInstant, _ onResult: (Int, ProbeResult) -> Void) {
        let task = flight.task
        flight.tries.append(observation)
        if flight.tries.count < max(1, task.repeatCount) {
            return startTry(flight, onResult)
        }
        let verdict = ProbeVerdict.evaluate(task.expectation, action: task.action, tries: flight.tries)
        if !verdict.passed, flight.attempt < task.retries {
            flight.attempt += 1
            flight.tries = []
            schedule(flight, at: now.advanced(by: options.retryDelay.probeNanoseconds))
            return
        }
        var result = ProbeResult(task: task, tries: flight.tries, attempts: flight.attempt + 1,
                                 elapsedMilliseconds: now.milliseconds(since: flight.started))
        if !result.passed { neighbours.blame(&result) }
        slots[flight.slot] = nil
        freeSlots.append(flight.slot)
        reported += 1
        onResult(flight.index, result)
    }

    /// Ends every try still running (closing its socket, killing its command).
    private func abandon() {
        for case let flight? in slots {
            unwatch(flight)
            flight.conversation = nil
        }
        slots.removeAll()
        if current != nil, home >= 0, lab_enter_network_namespace(home) == 0 { current = nil }
    }
}

/// Watches the host's neighbour table during a run: a probe that fails after the table
/// refused entries (its `table_fulls` moved since the run began) says so first, since the
/// host dropped its packets whatever the lab does.
final class NeighbourWatch {
    private let source: ProbeEngine.HostNeighbours
    private let baseline: NeighbourTableCounters?
    private var lastRead: ProbeInstant?
    private var overflowed = false

    init(_ source: ProbeEngine.HostNeighbours) {
        self.source = source
        baseline = source.counters()
    }

    /// Adds the overflow reason to a failed result's explanation if the table overflowed and
    /// the probe saw what a dropped packet looks like (a timeout, an unreachable): an answer
    /// that came back (a refusal, a wrong status) was not lost to the table.
    func blame(_ result: inout ProbeResult) {
        guard let baseline, result.tries.contains(where: { $0.outcome == .timeout || $0.outcome == .unreachable }) else { return }
        // Read at most every 20 ms: a run where everything fails must not read /proc per probe.
        let now = ProbeInstant.now()
        if !overflowed, lastRead.map({ now.nanoseconds - $0.nanoseconds >= 20_000_000 }) ?? true {
            lastRead = now
            if let counters = source.counters(), counters.tableFulls > baseline.tableFulls { overflowed = true }
        }
        guard overflowed else { return }
        let reason = NeighbourTableCounters.overflowReason(hardLimit: source.hardLimit)
        result.explanation = result.explanation.map { "\(reason); \($0)" } ?? reason
    }
}
