import Glibc

/// The descriptors the agent's event loop waits on, as the `pollfd` array `poll(2)` takes plus
/// who owns each entry.
///
/// `poll` rather than `epoll`: Swift's Glibc module does not export `<sys/epoll.h>`, and a C
/// shim target for it is not worth it here. `poll` costs one pass over the array per wake-up,
/// which for the few thousand descriptors of even a 1,000-pod lab is microseconds; the array is
/// kept between calls, not rebuilt.
struct PollSet {
    enum Owner {
        /// The read end of the wake-up socket pair: `stop()` was called.
        case wake
        case listener(ListeningPort)
        case connection(AgentConnection)
    }

    private(set) var descriptors: [pollfd] = []
    private(set) var owners: [Owner] = []

    var count: Int { descriptors.count }

    /// Adds an entry at the end and returns its slot.
    @discardableResult
    mutating func append(fd: Int32, events: Int16, owner: Owner) -> Int {
        descriptors.append(pollfd(fd: fd, events: events, revents: 0))
        owners.append(owner)
        return descriptors.count - 1
    }

    /// Removes the entry in `slot` by moving the last entry into it, so removal costs O(1);
    /// the moved listener or connection learns its new slot.
    mutating func remove(slot: Int) {
        descriptors.swapAt(slot, descriptors.count - 1)
        owners.swapAt(slot, owners.count - 1)
        descriptors.removeLast()
        owners.removeLast()
        guard slot < owners.count else { return }
        switch owners[slot] {
        case .wake: break
        case .listener(let moved): moved.slot = slot
        case .connection(let moved): moved.slot = slot
        }
    }

    mutating func setEvents(_ events: Int16, slot: Int) {
        descriptors[slot].events = events
    }

    func events(slot: Int) -> Int16 { descriptors[slot].events }

    /// `poll(2)`; returns the number of ready entries, or -1 with errno set.
    mutating func wait(timeoutMilliseconds: Int32) -> Int32 {
        poll(&descriptors, nfds_t(descriptors.count), timeoutMilliseconds)
    }

    /// The entries `wait` reported ready, with what was reported.
    func ready() -> [(owner: Owner, revents: Int16)] {
        var ready: [(owner: Owner, revents: Int16)] = []
        for slot in descriptors.indices where descriptors[slot].revents != 0 {
            ready.append((owners[slot], descriptors[slot].revents))
        }
        return ready
    }
}
