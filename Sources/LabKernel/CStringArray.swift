import Glibc

/// A NULL-terminated `char *[]` (argv, envp) that owns its strings; built before fork, since
/// the child may not allocate.
final class CStringArray {
    private(set) var pointers: [UnsafeMutablePointer<CChar>?]

    init(_ strings: [String]) {
        pointers = strings.map { strdup($0) }
        pointers.append(nil)
    }

    deinit { pointers.forEach { free($0) } }
}
