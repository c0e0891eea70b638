import Testing
import Yams
@testable import LabSpec

/// The lab file's resolver against Yams' default one: the same tag for every scalar tried.
struct ScalarResolverTests {
    static let samples = [
        "", "~", "null", "Null", "NULL", "nULL", "nulls", "<<", "<", "=", "==",
        "yes", "Yes", "YES", "yEs", "yess", "no", "on", "ON", "oN", "off", "Off", "true", "True", "tRue", "false", "FALSE", "y", "n",
        "0", "00", "07", "08", "0o7", "0b1", "0x1F", "+0", "-0", "1", "10", "1_000", "80", "8080", "-12", "012",
        "1:30", "1:60", "190:20:30", "1.5", ".5", "1e5", "1E-5", ".inf", "-.inf", ".nan", ".NaN", "inf", "nan", "e5", "E5",
        "2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5",
        "p0", "node-1", "n10", "agent", "10.244.0.0/16", "10.96.0.10", "TCP", "UDP", "Ingress", "svc", "s99",
        "kubernetes.io/metadata.name", "a.b", "a/b", "a_b", "a-", "x:y", "a b", "web-1", "On1", "no-", "null_", "Yes.",
        "100ms", "1s", "<5ms", "50%", "--", "-", "+", ".", "_", "_a", "é", "aé", "0.0.0.0", "A", "Z9",
    ]

    static var exhaustive: [String] {
        let alphabet = Array("aeflnNoOrsTuyY01-._:/")
        var strings = alphabet.map { String($0) }
        var level = strings
        for _ in 2...3 {
            level = level.flatMap { prefix in alphabet.map { prefix + String($0) } }
            strings += level
        }
        return strings
    }

    static func tag(_ text: String, _ resolver: Resolver) -> Yams.Tag.Name {
        resolver.resolveTag(of: Node.scalar(Node.Scalar(text)))
    }

    @Test func theSameTagsAsYamsDefaultResolver() {
        #expect(ScalarResolver.resolver.rules.count == Resolver.default.rules.count + 1, "the word rule was compiled")
        for text in Self.samples + Self.exhaustive {
            #expect(Self.tag(text, ScalarResolver.resolver) == Self.tag(text, .default), "\"\(text)\"")
        }
    }
}
