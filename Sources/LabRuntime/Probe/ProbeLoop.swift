import LabPlan
import Glibc
import LabKernel

/// The scheduler behind `ProbeEngine`: at most `parallel` probes in flight, each running its
/// tries one after another (`repeat`), attempts again while failing (`retries`), all driven
/// by one `poll(2)` loop on the calling thread.
///
/// Per iteration: admit probes up to the limit; open the sockets of every try that is due —
/// one thread hop per source namespace, not per socket; start them; poll every descriptor
/// until the earliest deadline; advance whoever was woken.
final class ProbeLoop {
    /// A probe between admission and its result.
    private final class Flight {
        let index: Int
        let task: ProbeTask
        let started: ProbeInstant
        var attempt = 0
        var tries: [ProbeObservation] = []
        /// With no conversation: when the next try may start.
        var due: ProbeInstant
        var conversation: ProbeConversation?
        /// With a conversation: what it waits for, and until when.
        var events: Int16 = 0
        var until: ProbeInstant
        /// Its entry in this iteration's poll array, or -1.
        var slot = -1
        var done = false

        init(index: Int, task: ProbeTask, now: ProbeInstant) {
            self.index = index
            self.task = task
            started = now
            due = now
            until = now
        }
    }

    private let tasks: [ProbeTask]
    private let options: ProbeEngine.Options
    private var results: [ProbeResult?]
    private var nextTask = 0
    private var flights: [Flight] = []
    private var descriptors: [pollfd] = []
    /// Ping identifiers, unique among this loop's pings in flight (at most 64 of 65,536).
    private var nextIdentifier = UInt16.random(in: .min ... .max)
    /// Marks our echoes apart from those of another process using the same identifier.
    private let token = UInt64.random(in: .min ... .max)

    init(tasks: [ProbeTask], options: ProbeEngine.Options) {
        self.tasks = tasks
        self.options = options
        results = Array(repeating: nil, count: tasks.count)
    }

    func run(onResult: (ProbeResult) -> Void) -> [ProbeResult] {
        while nextTask < tasks.count || !flights.isEmpty {
            admit(ProbeInstant.now())
            startDueTries(ProbeInstant.now(), onResult)
            flights.removeAll { $0.done }
            guard !flights.isEmpty else { continue }
            wait()
            let now = ProbeInstant.now()
            for flight in flights {
                guard let conversation = flight.conversation else { continue }
                let revents = flight.slot >= 0 ? descriptors[flight.slot].revents : 0
                if revents != 0 || now >= flight.until {
                    apply(conversation.advance(revents: revents, now: now), to: flight, now, onResult)
                }
            }
            flights.removeAll { $0.done }
        }
        return results.map { $0! }
    }

    private func admit(_ now: ProbeInstant) {
        while flights.count < options.parallel, nextTask < tasks.count {
            flights.append(Flight(index: nextTask, task: tasks[nextTask], now: now))
            nextTask += 1
        }
    }

    /// Starts the next try of every idle probe whose time has come.
    private func startDueTries(_ now: ProbeInstant, _ onResult: (ProbeResult) -> Void) {
        let due = flights.filter { !$0.done && $0.conversation == nil && $0.due <= now }
        guard !due.isEmpty else { return }
        var groups: [(namespace: NetworkNamespace?, flights: [Flight], kinds: [ProbeSocket.Kind])] = []
        var groupOf: [ObjectIdentifier?: Int] = [:]
        for flight in due {
            if case .exec(let argv) = flight.task.action {
                let conversation = ExecConversation(argv: argv, namespace: flight.task.namespace, timeout: timeout(of: flight.task))
                begin(flight, conversation, now, onResult)
                continue
            }
            guard flight.task.endpoint != nil, let kind = Self.socketKind(flight.task.action) else {
                finishTry(flight, ProbeObservation(outcome: .error, detail: "the probe has no target address", elapsedMilliseconds: 0), now, onResult)
                continue
            }
            let key = flight.task.namespace.map(ObjectIdentifier.init)
            if groupOf[key] == nil {
                groupOf[key] = groups.count
                groups.append((flight.task.namespace, [], []))
            }
            groups[groupOf[key]!].flights.append(flight)
            groups[groupOf[key]!].kinds.append(kind)
        }
        for group in groups {
            let opened = ProbeSocket.open(group.kinds, in: group.namespace)
            // The tries start now, not before the hop into the namespace: timeouts are about
            // the network.
            let started = ProbeInstant.now()
            for (flight, socket) in zip(group.flights, opened) {
                switch socket {
                case .socket(let fd):
                    begin(flight, conversation(for: flight.task, socket: ProbeDescriptor(fd)), started, onResult)
                case .failed(let code, let step):
                    let observation = ProbeObservation(outcome: .error, errno: ProbeErrno.name(code), detail: step,
                                                       elapsedMilliseconds: started.milliseconds(since: now))
                    finishTry(flight, observation, started, onResult)
                }
            }
        }
    }

    /// The socket a try of `action` needs; nil for exec, which runs a command instead.
    private static func socketKind(_ action: ProbeAction) -> ProbeSocket.Kind? {
        switch action {
        case .ping: .icmp
        case .http, .tcp: .tcp
        case .udp: .udp
        case .exec: nil
        }
    }

    private func conversation(for task: ProbeTask, socket: ProbeDescriptor) -> ProbeConversation {
        let endpoint = task.endpoint!
        let timeout = timeout(of: task)
        switch task.action {
        case .ping(let count):
            nextIdentifier &+= 1
            return PingConversation(socket: socket, endpoint: endpoint, count: count, interval: options.pingInterval.probeNanoseconds,
                                    timeout: timeout, identifier: nextIdentifier, token: token)
        case .http(let path, let method):
            return HTTPConversation(socket: socket, endpoint: endpoint, path: path, method: method, timeout: timeout)
        case .tcp:
            return TCPConversation(socket: socket, endpoint: endpoint, timeout: timeout, greetingWait: options.greetingWait.probeNanoseconds)
        case .udp(let payload):
            return UDPConversation(socket: socket, endpoint: endpoint, payload: payload, timeout: timeout)
        case .exec:
            preconditionFailure("exec probes open no socket (socketKind is nil)")
        }
    }

    private func timeout(of task: ProbeTask) -> Int64 { max(1_000_000, task.timeout.probeNanoseconds) }

    private func begin(_ flight: Flight, _ conversation: ProbeConversation, _ now: ProbeInstant, _ onResult: (ProbeResult) -> Void) {
        flight.conversation = conversation
        apply(conversation.start(now: now), to: flight, now, onResult)
    }

    private func apply(_ step: ProbeStep, to flight: Flight, _ now: ProbeInstant, _ onResult: (ProbeResult) -> Void) {
        switch step {
        case .wait(let events, let until):
            flight.events = events
            flight.until = until
        case .finished(let observation):
            flight.conversation = nil
            finishTry(flight, observation, now, onResult)
        }
    }

    /// Records a try; then the next try, another attempt, or the result.
    private func finishTry(_ flight: Flight, _ observation: ProbeObservation, _ now: ProbeInstant, _ onResult: (ProbeResult) -> Void) {
        let task = flight.task
        flight.tries.append(observation)
        if flight.tries.count < max(1, task.repeatCount) {
            flight.due = now
            return
        }
        let verdict = ProbeVerdict.evaluate(task.expectation, action: task.action, tries: flight.tries)
        if !verdict.passed, flight.attempt < task.retries {
            flight.attempt += 1
            flight.tries = []
            flight.due = now.advanced(by: options.retryDelay.probeNanoseconds)
            return
        }
        let result = ProbeResult(task: task, tries: flight.tries, attempts: flight.attempt + 1,
                                 elapsedMilliseconds: now.milliseconds(since: flight.started))
        results[flight.index] = result
        flight.done = true
        onResult(result)
    }

    /// Polls every waiting descriptor until the earliest time a probe asked to be woken.
    private func wait() {
        descriptors.removeAll(keepingCapacity: true)
        var wake: ProbeInstant?
        for flight in flights {
            flight.slot = -1
            guard let conversation = flight.conversation else {
                wake = min(wake ?? flight.due, flight.due)
                continue
            }
            wake = min(wake ?? flight.until, flight.until)
            if flight.events != 0, conversation.fd >= 0 {
                flight.slot = descriptors.count
                descriptors.append(pollfd(fd: conversation.fd, events: flight.events, revents: 0))
            }
        }
        // Rounded up to whole milliseconds, so a deadline never wakes the loop just before it.
        let remaining = (wake ?? ProbeInstant.now().advanced(by: 1_000_000_000)).nanoseconds - ProbeInstant.now().nanoseconds
        let timeout = Int32(max(0, min(1000, (remaining + 999_999) / 1_000_000)))
        // EINTR: the loop simply goes round again.
        _ = poll(&descriptors, nfds_t(descriptors.count), timeout)
    }
}
