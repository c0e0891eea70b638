import LabAddress
import Testing
@testable import LabSpec

/// `cluster.dns`: on by default, `false` turns it off, its ClusterIP is a ClusterIP like any
/// other, and nothing of the file may already have the DNS's names or address.
@Suite struct ClusterDNSValidationTests {
    @Test func onByDefaultWithKubeadmsAddressAndDomain() throws {
        let lab = try LabFileLoader.parse(Lab.minimal, file: "lab.yaml").lab
        let dns = try #require(lab.cluster.dns)
        #expect(dns.domain == "cluster.local")
        #expect(dns.clusterIP(in: lab.cluster.serviceCIDR) == IPv4Address("10.96.0.10"))
    }

    @Test func falseTurnsItOffAndTrueOrAMappingTurnsItOn() throws {
        #expect(try LabFileLoader.parse(Lab.minimal + "cluster: {dns: false}\n", file: "lab.yaml").lab.cluster.dns == nil)
        #expect(try LabFileLoader.parse(Lab.minimal + "cluster: {dns: true}\n", file: "lab.yaml").lab.cluster.dns == ClusterDNSSpec())
        let custom = try LabFileLoader.parse(Lab.minimal + "cluster: {serviceCIDR: 10.100.0.0/16, dns: {domain: lab.internal, clusterIP: 10.100.0.53}}\n",
                                             file: "lab.yaml").lab.cluster
        #expect(custom.dns == ClusterDNSSpec(domain: "lab.internal", clusterIP: IPv4Address("10.100.0.53")))
        // The default follows the serviceCIDR: its tenth address.
        let moved = try LabFileLoader.parse(Lab.minimal + "cluster: {serviceCIDR: 10.100.0.0/16}\n", file: "lab.yaml").lab.cluster
        #expect(moved.dns?.clusterIP(in: moved.serviceCIDR) == IPv4Address("10.100.0.10"))
    }

    @Test func theClusterIPIsValidatedLikeAnyClusterIP() {
        #expect(Lab.error(Lab.minimal + "cluster: {dns: {clusterIP: 10.97.0.10}}\n")?.description
                == "lab.yaml:4:28: cluster.dns.clusterIP: cluster.dns.clusterIP 10.97.0.10 is outside cluster.serviceCIDR 10.96.0.0/16")
        #expect(Lab.error(Lab.minimal + "cluster: {dns: {clusterIP: 10.96.255.255}}\n")?.message
                == "cluster.dns.clusterIP 10.96.255.255 is the broadcast address of cluster.serviceCIDR 10.96.0.0/16")
        #expect(Lab.error(Lab.minimal + "cluster: {dns: {clusterIP: 10.96.0.300}}\n")?.message == "\"10.96.0.300\" is not an IPv4 address")
        // A serviceCIDR without a tenth address: say how to get one.
        #expect(Lab.error(Lab.minimal + "cluster: {serviceCIDR: 10.96.0.0/29}\n")?.description
                == "lab.yaml:4:24: cluster.serviceCIDR: the cluster DNS's default ClusterIP 10.96.0.10 (the tenth address of cluster.serviceCIDR) is outside cluster.serviceCIDR 10.96.0.0/29; set cluster.dns.clusterIP, or a larger serviceCIDR")
        #expect(throws: Never.self) { try Lab.load(Lab.minimal + "cluster: {serviceCIDR: 10.96.0.0/29, dns: {clusterIP: 10.96.0.5}}\n") }
        #expect(throws: Never.self) { try Lab.load(Lab.minimal + "cluster: {serviceCIDR: 10.96.0.0/29, dns: false}\n") }
    }

    @Test func theDomainIsADNSName() {
        #expect(Lab.error(Lab.minimal + "cluster: {dns: {domain: Cluster.Local}}\n")?.message
                == "the cluster domain \"Cluster.Local\" has a label \"Cluster\" that may only contain lowercase letters, digits and \"-\" (found \"C\"); did you mean \"cluster\"?")
        #expect(Lab.error(Lab.minimal + "cluster: {dns: {domain: a..b}}\n")?.message
                == "the cluster domain \"a..b\" has a label \"\" that must not be empty")
        #expect(Lab.error(Lab.minimal + "cluster: {dns: {ttl: 5}}\n")?.message
                == "unknown key \"ttl\" (allowed keys: domain, clusterIP)")
    }

    /// Each clash names both sides: the object of the file and where the DNS comes from.
    @Test func theDNSNamesAndAddressAreNeverTakenSilently() {
        let errors = Lab.errors(Lab.minimal + """
        pods:
          - {name: coredns, namespace: default, node: node-1}
        services:
          - {name: kube-dns, namespace: kube-system, ports: [{port: 53}]}
          - {name: other, clusterIP: 10.96.0.10, ports: [{port: 80}]}
          - {name: kube-dns, namespace: default, ports: [{port: 53}]}
        """).map(\.description)
        #expect(errors == [
            "lab.yaml:5:12: pods[0].name: the pod name \"coredns\" is the cluster DNS pod's (kube-system/coredns, the cluster DNS is on by default: tenth address of cluster.serviceCIDR); rename the pod, or set \"cluster.dns: false\"",
            "lab.yaml:7:12: services[0].name: service kube-system/kube-dns is the cluster DNS service (the cluster DNS is on by default: tenth address of cluster.serviceCIDR); rename the service, or set \"cluster.dns: false\"",
            "lab.yaml:8:30: services[1].clusterIP: 10.96.0.10 is the ClusterIP of the cluster DNS service kube-system/kube-dns (the cluster DNS is on by default: tenth address of cluster.serviceCIDR); pick another address, or move the DNS with cluster.dns.clusterIP",
        ])
        let written = Lab.errors(Lab.minimal + """
        cluster:
          dns: {clusterIP: 10.96.0.53}
        hosts: [{name: coredns}]
        services:
          - {name: other, clusterIP: 10.96.0.53, ports: [{port: 80}]}
        """).map(\.description)
        #expect(written.contains("lab.yaml:8:30: services[0].clusterIP: 10.96.0.53 is the ClusterIP of the cluster DNS service kube-system/kube-dns (cluster.dns.clusterIP, line 5); pick another address, or move the DNS with cluster.dns.clusterIP"))
        #expect(written.contains { $0.contains("the host name \"coredns\" is the cluster DNS pod's") })
        // Off: the names and the address are the file's to use.
        #expect(throws: Never.self) {
            try Lab.load(Lab.minimal + """
            cluster: {dns: false}
            pods: [{name: coredns, namespace: kube-system, node: node-1}]
            services: [{name: kube-dns, namespace: kube-system, clusterIP: 10.96.0.10, ports: [{port: 53}]}]
            """)
        }
    }
}
