import Foundation
import LabKernel
import LabPlan

/// Removes a lab's kernel objects. Deleting a namespace takes every interface, address, route
/// and rule inside it along (the kernel batches that), so teardown is one unmount+unlink per
/// namespace — never link by link.
public enum Teardown {
    /// The lab's namespaces: what its journal recorded plus whatever carries its name prefix
    /// (so a lost or corrupt state directory still finds everything), in `/run/netns` or as a
    /// pod resolver directory under `/etc/netns` that outlived its namespace.
    public static func namespaces(of lab: String, journal: Journal?) -> [String] {
        let prefix = Naming.namespacePrefix(lab: lab)
        var names = journal?.namespaces() ?? []
        var seen = Set(names)
        for name in NetworkNamespace.list() + ResolverFiles.leftovers(of: lab) where name.hasPrefix(prefix) && seen.insert(name).inserted {
            names.append(name)
        }
        return names
    }

    /// Deletes the namespaces (pods first, the fabric last) and their `/etc/netns` directories,
    /// and returns how many namespaces existed.
    /// Errors other than "already gone" are collected and thrown after trying every namespace.
    ///
    /// Each unmount waits for an RCU grace period (`namespace_unlock`), a few hundred
    /// microseconds of waiting and almost no work: one after another, 1,000 pods took a second.
    /// Unmounts on several threads share their grace periods, so the namespaces go
    /// `removalThreads` at a time, in the same order.
    @discardableResult
    public static func remove(namespaces: [String]) throws -> Int {
        let progress = UpDownProgress.shared
        progress.begin("removing namespaces", total: namespaces.count)
        let results = ParallelWork.map(Array(namespaces.reversed()), workers: removalThreads) { name -> Bool in
            defer { progress.advance() }
            do {
                try NetworkNamespace.delete(name)
                return true
            } catch let error as KernelError where error.errno == ENOENT {
                return false
            }
        }
        var removed = 0
        var failures: [any Error] = []
        for result in results {
            switch result {
            case .success(let existed): removed += existed ? 1 : 0
            case .failure(let error): failures.append(error)
            }
        }
        if let first = failures.first { throw first }
        // Their `ip netns exec` files go with them (a pod's resolv.conf).
        ResolverFiles.remove(netns: namespaces)
        return removed
    }

    /// Threads unmounting at once: they mostly wait, so more than the cores; beyond 16 the
    /// grace periods are already shared.
    static let removalThreads = 16
}
