/// The probe loop's timers: a binary min-heap of (when, flight slot, stamp). A flight that
/// asks for a new time pushes a new entry and bumps its stamp; entries whose stamp no longer
/// matches are dropped when they come due, so nothing is ever searched for or removed early.
struct ProbeTimers {
    struct Entry {
        var when: Int64
        var slot: Int32
        var stamp: UInt32
    }

    private var heap: [Entry] = []

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    var earliest: Int64? { heap.first?.when }

    mutating func push(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].when < heap[parent].when else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// The earliest entry if it is due at `now`.
    mutating func popDue(_ now: Int64) -> Entry? {
        guard let first = heap.first, first.when <= now else { return nil }
        let last = heap.removeLast()
        guard !heap.isEmpty else { return first }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].when < heap[smallest].when { smallest = left }
            if right < heap.count, heap[right].when < heap[smallest].when { smallest = right }
            guard smallest != parent else { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }
}
