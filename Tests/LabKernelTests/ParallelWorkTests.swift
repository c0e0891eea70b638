import Glibc
import LabKernel
import Synchronization
import Testing

/// `ParallelWork.map`: every item once, results in the items' order whichever thread ran them,
/// failures kept at their place, and the work really shared among threads.
struct ParallelWorkTests {
    struct Odd: Error, Equatable { var value: Int }

    @Test func resultsKeepTheItemsOrderAndFailuresTheirPlace() {
        let results = ParallelWork.map(Array(0..<200), workers: 2) { item -> Int in
            if item % 7 == 3 { throw Odd(value: item) }
            return item * 2
        }
        #expect(results.count == 200)
        for (item, result) in results.enumerated() {
            switch result {
            case .success(let value): #expect(item % 7 != 3 && value == item * 2)
            case .failure(let error): #expect(item % 7 == 3 && error as? Odd == Odd(value: item))
            }
        }
    }

    @Test func twoWorkersRunOnTwoThreads() {
        // Each item waits until both threads have taken one, so one thread alone would never
        // get past the first: finishing at all shows there were two.
        let arrived = Atomic(0)
        let results = ParallelWork.map([0, 1], workers: 2) { _ -> Int in
            arrived.add(1, ordering: .sequentiallyConsistent)
            var waited = 0
            while arrived.load(ordering: .sequentiallyConsistent) < 2 && waited < 5_000 {
                usleep(1000)
                waited += 1
            }
            return arrived.load(ordering: .sequentiallyConsistent)
        }
        #expect(results.map { try? $0.get() } == [2, 2])
    }

    @Test func noItemsNoThreads() {
        #expect(ParallelWork.map([Int](), workers: 2) { $0 }.isEmpty)
    }
}
