import Glibc
import LabKernel

/// The descriptors the agent's event loop waits on: an epoll set plus who owns each entry.
///
/// epoll rather than poll: during a model check, hundreds of pods' listeners and thousands of
/// short connections are open at once while only a few are ready at a time; a wake-up then
/// costs the ready ones, not a pass over every descriptor. Entries live in a dense array (a
/// slot each, removal by moving the last into the hole) so sweeps over every connection stay
/// simple; the slot is each registration's epoll tag.
final class AgentEventSet {
    enum Owner {
        /// The read end of the wake-up socket pair: `stop()` was called.
        case wake
        case listener(ListeningPort)
        case connection(AgentConnection)
    }

    private let poll: EventPoll
    private var descriptors: [(fd: Int32, events: Int16)] = []
    private(set) var owners: [Owner] = []
    private var readyTags: [(UInt64, UInt32)] = []

    init() throws(KernelErrno) {
        poll = try EventPoll()
    }

    var count: Int { descriptors.count }

    /// The epoll set's own descriptor.
    var pollDescriptor: Int32 { poll.fd }

    /// Adds an entry at the end and returns its slot.
    @discardableResult
    func append(fd: Int32, events: Int16, owner: Owner) -> Int {
        let slot = descriptors.count
        descriptors.append((fd, events))
        owners.append(owner)
        poll.add(fd, events: Self.epollEvents(events), tag: UInt64(slot))
        return slot
    }

    /// Removes the entry in `slot` by moving the last entry into it, so removal costs O(1);
    /// the moved listener or connection learns its new slot (and epoll its new tag). The
    /// caller closes the descriptor afterwards.
    func remove(slot: Int) {
        poll.remove(descriptors[slot].fd)
        descriptors.swapAt(slot, descriptors.count - 1)
        owners.swapAt(slot, owners.count - 1)
        descriptors.removeLast()
        owners.removeLast()
        guard slot < owners.count else { return }
        poll.modify(descriptors[slot].fd, events: Self.epollEvents(descriptors[slot].events), tag: UInt64(slot))
        switch owners[slot] {
        case .wake: break
        case .listener(let moved): moved.slot = slot
        case .connection(let moved): moved.slot = slot
        }
    }

    func setEvents(_ events: Int16, slot: Int) {
        descriptors[slot].events = events
        poll.modify(descriptors[slot].fd, events: Self.epollEvents(events), tag: UInt64(slot))
    }

    func events(slot: Int) -> Int16 { descriptors[slot].events }

    /// Waits for readiness; returns the number of ready entries, or -1 with errno set.
    func wait(timeoutMilliseconds: Int32) -> Int32 {
        readyTags.removeAll(keepingCapacity: true)
        guard poll.wait(timeoutMilliseconds: timeoutMilliseconds, { readyTags.append(($0, $1)) }) else { return -1 }
        return Int32(readyTags.count)
    }

    /// The entries `wait` reported ready, with what was reported (as poll's `revents`), taken
    /// before any of them is handled: handling one may move another to a different slot.
    func ready() -> [(owner: Owner, revents: Int16)] {
        readyTags.compactMap { tag, events in
            let slot = Int(tag)
            guard slot < owners.count else { return nil }
            return (owners[slot], Int16(truncatingIfNeeded: events & 0xffff))
        }
    }

    /// poll's event bits as epoll's: the same values for IN, OUT, ERR and HUP.
    private static func epollEvents(_ events: Int16) -> UInt32 { UInt32(UInt16(bitPattern: events)) }
}
