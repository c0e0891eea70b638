import Foundation
import LabKernel
import LabPlan

/// Removes a lab's kernel objects. Deleting a namespace takes every interface, address, route
/// and rule inside it along (the kernel batches that), so teardown is one unmount+unlink per
/// namespace — never link by link.
public enum Teardown {
    /// The lab's namespaces: what its journal recorded plus whatever carries its name prefix
    /// (so a lost or corrupt state directory still finds everything).
    public static func namespaces(of lab: String, journal: Journal?) -> [String] {
        let prefix = Naming.namespacePrefix(lab: lab)
        var names = journal?.namespaces() ?? []
        for name in NetworkNamespace.list() where name.hasPrefix(prefix) && !names.contains(name) {
            names.append(name)
        }
        return names
    }

    /// Deletes the namespaces (pods first, the fabric last) and returns how many existed.
    /// Errors other than "already gone" are collected and thrown after trying every namespace.
    @discardableResult
    public static func remove(namespaces: [String]) throws -> Int {
        var removed = 0
        var failures: [KernelError] = []
        for name in namespaces.reversed() {
            do {
                try NetworkNamespace.delete(name)
                removed += 1
            } catch let error as KernelError where error.errno == ENOENT {
                continue
            } catch let error as KernelError {
                failures.append(error)
            }
        }
        if let first = failures.first { throw first }
        return removed
    }
}
