import Glibc
@testable import LabKernel
import Testing

@Suite struct KernelErrorTests {
    @Test func describesTheOperationTheObjectTheNamespaceAndTheErrno() {
        let error = KernelError(operation: "add veth", object: #""vethab12cd34" (peer "eth0" in lab.demo.pod.web-1)"#,
                                namespace: "lab.demo.node.node-1", errno: EEXIST)
        #expect(error.description
            == #"add veth "vethab12cd34" (peer "eth0" in lab.demo.pod.web-1) in lab.demo.node.node-1: File exists (EEXIST)"#)
        #expect(error.errnoName == "EEXIST")
    }

    @Test func withoutANamespace() {
        let error = KernelError(operation: "delete namespace", object: #""lab.demo.fabric""#, errno: ENOENT)
        #expect(error.description == #"delete namespace "lab.demo.fabric": No such file or directory (ENOENT)"#)
    }

    @Test func theKernelsOwnWordsComeLast() {
        let error = KernelError(operation: "add route", object: "10.244.2.0/24 via 10.0.9.9", namespace: "ns",
                                errno: ENETUNREACH, kernelMessage: "Nexthop has invalid gateway")
        #expect(error.description
            == "add route 10.244.2.0/24 via 10.0.9.9 in ns: Network is unreachable (ENETUNREACH); kernel says: Nexthop has invalid gateway")
    }

    @Test func anEmptyObjectLeavesNoGap() {
        let error = KernelError(operation: "list links", object: "", namespace: "ns", errno: ENOBUFS)
        #expect(error.description == "list links in ns: No buffer space available (ENOBUFS)")
    }

    @Test(arguments: [
        (EEXIST, "EEXIST"), (ENOENT, "ENOENT"), (ENODEV, "ENODEV"), (EINVAL, "EINVAL"), (EPERM, "EPERM"),
        (EACCES, "EACCES"), (EBUSY, "EBUSY"), (ENETUNREACH, "ENETUNREACH"), (EADDRNOTAVAIL, "EADDRNOTAVAIL"),
        (EOPNOTSUPP, "EOPNOTSUPP"), (ENOBUFS, "ENOBUFS"),
    ])
    func errnoNames(errno: Int32, name: String) {
        #expect(KernelError(operation: "x", object: "y", errno: errno).errnoName == name)
    }

    @Test func anErrnoOutsideTheTableKeepsItsNumberAndMessage() {
        let error = KernelError(operation: "x", object: "y", errno: EHWPOISON)
        #expect(error.errnoName == "errno \(EHWPOISON)")
        #expect(error.description == "x y: Memory page has hardware error (errno \(EHWPOISON))")
    }
}
