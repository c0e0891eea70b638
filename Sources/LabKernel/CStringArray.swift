import Foundation

/// A NULL-terminated `char *[]` (argv, envp) that owns its strings; built before fork, since
/// the child may not allocate.
public final class CStringArray {
    public private(set) var pointers: [UnsafeMutablePointer<CChar>?]

    public init(_ strings: [String]) {
        pointers = strings.map { strdup($0) }
        pointers.append(nil)
    }

    deinit { pointers.forEach { free($0) } }
}
