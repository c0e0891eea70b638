import Testing
@testable import LabPlan

extension ServiceRulesTests {
    /// RFC 4648 §10's vectors for the standard alphabet with padding (Go's StdEncoding).
    @Suite struct Base32Tests {
        @Test(arguments: [
            ("", ""), ("f", "MY======"), ("fo", "MZXQ===="), ("foo", "MZXW6==="),
            ("foob", "MZXW6YQ="), ("fooba", "MZXW6YTB"), ("foobar", "MZXW6YTBOI======"),
        ])
        func rfc4648Vectors(_ input: String, _ expected: String) {
            #expect(Base32.encode(Array(input.utf8)) == expected)
        }

        /// What `echo -n ns1/svc1:p80tcp | base32` prints: a longer input and every symbol class.
        @Test func matchesCoreutils() {
            #expect(Base32.encode(Array("ns1/svc1:p80tcp".utf8)) == "NZZTCL3TOZRTCOTQHAYHIY3Q")
        }

        /// A SHA-256 digest (32 bytes) is 52 symbols and 4 `=`; kube-proxy keeps the first 16.
        @Test func digestLength() {
            let encoded = Base32.encode([UInt8](repeating: 0x5a, count: 32))
            #expect(encoded.count == 56)
            #expect(encoded.hasSuffix("====") && !encoded.hasSuffix("====="))
        }
    }
}
