import Testing

/// Everything under `Sources/LabPlan/ServiceRules`, grouped so that
/// `swift test --filter ServiceRulesTests` runs exactly these suites.
@Suite struct ServiceRulesTests {}
