import Testing
@testable import LabPlan

extension ServiceRulesTests {
    /// `%0.10f` of 1/n as Go prints it; expected values from Python's `'%0.10f' % (1.0/n)`,
    /// which rounds the double exactly as Go's strconv does (correctly, ties to even).
    @Suite struct LoadBalancingProbabilityTests {
        @Test(arguments: [
            (1, "1.0000000000"), (2, "0.5000000000"), (3, "0.3333333333"), (4, "0.2500000000"),
        ])
        func firstFour(_ n: Int, _ expected: String) {
            #expect(LoadBalancingProbability.text(oneIn: n) == expected)
        }

        @Test(arguments: [
            (5, "0.2000000000"), (6, "0.1666666667"), (7, "0.1428571429"), (1000, "0.0010000000"),
            // Exact tie, double exact: ties to even (…812|5 → …812).
            (2048, "0.0004882812"),
            // Real 1/n is a tie but its double is slightly larger: rounds up, as Go does.
            (10240, "0.0000976563"), (51200, "0.0000195313"), (256000, "0.0000039063"),
        ])
        func roundingLikeGo(_ n: Int, _ expected: String) {
            #expect(LoadBalancingProbability.text(oneIn: n) == expected)
        }
    }
}
