import LabSpec

/// The pods of a lab grouped by what a selector reads of them — namespace and labels — so a
/// selector is asked once per group rather than once per pod: the pods of one Deployment share
/// both, and a 1,000-pod lab has as many groups as it has kinds of pod. Working out which pods
/// a policy's selectors select was most of what a change of one policy cost at that size.
public struct PodGroups: Sendable {
    public struct Group: Hashable, Sendable {
        public var namespace: String
        public var labels: [String: String]
    }

    public let groups: [Group]
    /// Per pod, by its index in the pods grouped: the index of its group in `groups`.
    public let groupOf: [Int]

    public init(_ pods: [PodTopology]) {
        var known: [Group: Int] = [:]
        var groups: [Group] = [], groupOf: [Int] = []
        groupOf.reserveCapacity(pods.count)
        for pod in pods.indices {
            let group = Group(namespace: pods[pod].namespace, labels: pods[pod].labels)
            if let index = known[group] {
                groupOf.append(index)
            } else {
                known[group] = groups.count
                groupOf.append(groups.count)
                groups.append(group)
            }
        }
        (self.groups, self.groupOf) = (groups, groupOf)
    }

    /// The indices of the pods whose group `matches`, in order; `matches` is asked once per
    /// group.
    public func pods(where matches: (Group) -> Bool) -> [Int] {
        let selected = groups.map(matches)
        return groupOf.indices.filter { selected[groupOf[$0]] }
    }
}
