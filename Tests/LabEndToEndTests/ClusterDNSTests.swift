import Foundation
import Testing

/// The cluster DNS of a lab, checked with the clients a person would use: `dig` (bind9-dnsutils)
/// through `ip netns exec`, glibc's resolver through `lab exec … getent hosts`, `curl` by name.
/// Every query goes to the kube-dns ClusterIP, so it crosses kube-proxy's DNAT to the coredns
/// pod as on a real node.
@Suite(.serialized, .enabled(if: isRoot, "builds real namespaces; needs root"),
       .enabled(if: digPath != nil, "dig is missing: apt-get install bind9-dnsutils (scripts/install-deps)"))
struct ClusterDNSTests {
    static func labFile(_ name: String, proxy: String = "iptables", extra: String = "") -> String {
        """
        name: \(name)
        cluster: {proxy: \(proxy)}
        nodes: [{name: node-1}, {name: node-2}]
        pods:
          - {name: pod-a, node: node-1, containers: [{name: c, agent: {http: [80]}}]}
          - {name: web-1, node: node-2, labels: {app: web}, containers: [{name: c, agent: {http: [8080]}}]}
          - {name: api-1, namespace: store, node: node-2, labels: {app: api}, containers: [{name: c, agent: {http: [8080]}}, {name: sleeper, command: [sleep, "600"]}]}
        services:
          - {name: web, selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
          - {name: api, namespace: store, selector: {app: api}, ports: [{name: http, port: 80, targetPort: 8080}]}
          - {name: api-headless, namespace: store, clusterIP: None, selector: {app: api}, ports: [{name: http, port: 8080}]}
        \(extra)
        """
    }

    /// `dig` in a namespace: the answer section's data (`+short`) and the status line.
    struct Dig {
        var status: String
        var answers: [String]
        var flags: String
    }

    static func dig(_ netns: String, _ arguments: [String]) throws -> Dig {
        let result = try run(["ip", "netns", "exec", netns, "dig", "+time=2", "+tries=1", "+nocookie"] + arguments)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let header = lines.first { $0.contains("->>HEADER<<-") } ?? ""
        let status = header.components(separatedBy: "status: ").dropFirst().first?.components(separatedBy: ",").first ?? "no answer: \(result.stdout)"
        let flags = lines.first { $0.hasPrefix(";; flags:") } ?? ""
        var answers: [String] = []
        var inAnswer = false
        for line in lines {
            if line.hasPrefix(";; ANSWER SECTION:") { inAnswer = true; continue }
            if inAnswer {
                // The section ends at the next comment (the empty line between is not in `lines`).
                if line.hasPrefix(";") { break }
                answers.append(line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst(4).joined(separator: " "))
            }
        }
        return Dig(status: status, answers: answers, flags: flags)
    }

    @Test func everyRecordKindOverUDPAndTCPFromTwoNamespaces() throws {
        let name = uniqueLabName("dns")
        let before = try rootNamespaceSnapshot()
        let hostResolver = try String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)
        try withLab(Self.labFile(name), name: name) { _ in
            let podA = "lab.\(name).pod.pod-a", api = "lab.\(name).pod.api-1"
            let webIP = "10.96.0.1", apiIP = "10.96.0.2", apiPod = "10.244.2.3"
            for netns in [podA, api] {
                for transport in ["+notcp", "+tcp"] {
                    func ask(_ arguments: String...) throws -> Dig { try Self.dig(netns, [transport] + arguments) }
                    let a = try ask("web.default.svc.cluster.local")
                    #expect(a.status == "NOERROR" && a.answers == [webIP], "\(netns) \(transport): \(a)")
                    #expect(a.flags.contains(" aa"), "authoritative: \(a.flags)")
                    #expect(try ask("API.Store.svc.cluster.local").answers == [apiIP], "case-insensitive")
                    #expect(try ask("api-headless.store.svc.cluster.local").answers == [apiPod], "headless: the endpoint")
                    #expect(try ask("SRV", "_http._tcp.web.default.svc.cluster.local").answers == ["0 100 80 web.default.svc.cluster.local."])
                    #expect(try ask("-x", webIP).answers == ["web.default.svc.cluster.local."])
                    #expect(try ask("-x", apiPod).answers == ["10-244-2-3.api.store.svc.cluster.local."], "an endpoint: its service name")
                    #expect(try ask("-x", "10.244.1.2").answers == ["10-244-1-2.default.pod.cluster.local."], "a pod behind no service")
                    #expect(try ask("10-244-2-3.store.pod.cluster.local").answers == [apiPod], "pod A record")
                    #expect(try ask("kube-dns.kube-system.svc.cluster.local").answers == ["10.96.0.10"])
                    let missing = try ask("nothing.default.svc.cluster.local")
                    #expect(missing.status == "NXDOMAIN" && missing.answers.isEmpty)
                    let nodata = try ask("AAAA", "web.default.svc.cluster.local")
                    #expect(nodata.status == "NOERROR" && nodata.answers.isEmpty, "an existing name of another type")
                    let outside = try ask("example.com")
                    #expect(outside.status == "REFUSED", "no upstream: refused at once, never a timeout")
                }
            }
            // The files kubelet would write, where `ip netns exec` binds them from.
            let podResolver = try String(contentsOfFile: "/etc/netns/\(api)/resolv.conf", encoding: .utf8)
            #expect(podResolver == "nameserver 10.96.0.10\nsearch store.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n")
            #expect(try run(["ip", "netns", "exec", podA, "cat", "/etc/resolv.conf"]).stdout.hasPrefix("nameserver 10.96.0.10\nsearch default.svc.cluster.local "))
            // glibc's search walk through `lab exec`, from both namespaces.
            let short = try lab("exec", "--lab", name, "pod-a", "--", "getent", "hosts", "web")
            #expect(short.succeeded && short.stdout.hasPrefix("\(webIP) "), "\(short)")
            let qualified = try lab("exec", "--lab", name, "api-1", "--", "getent", "hosts", "web.default")
            #expect(qualified.succeeded && qualified.stdout.hasPrefix("\(webIP) "), "\(qualified)")
            #expect(try lab("exec", "--lab", name, "api-1", "--", "getent", "hosts", "web").status == 2, "web is not in store")
            // An application by name: curl to the agent behind a service of another namespace.
            let curl = try lab("exec", "--lab", name, "pod-a", "--", "curl", "-sS", "--max-time", "5", "http://api.store/hostname")
            #expect(curl.succeeded && curl.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "api-1", "\(curl)")
            // A container started by the supervisor has the pod's file over /etc/resolv.conf.
            let status = try JSONSerialization.jsonObject(with: Data(try lab("status", name, "--output", "json").stdout.utf8)) as? [String: Any]
            let containers = status?["containers"] as? [[String: Any]] ?? []
            let sleeper = try #require(containers.first { $0["container"] as? String == "sleeper" }?["pid"] as? Int)
            #expect(try String(contentsOfFile: "/proc/\(sleeper)/root/etc/resolv.conf", encoding: .utf8) == podResolver)
            // Nodes keep the host's resolver, and so does the host.
            #expect(try lab("exec", "--lab", name, "node/node-1", "--", "cat", "/etc/resolv.conf").stdout == hostResolver)
            #expect(try String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8) == hostResolver)
            // The queries, as CoreDNS's log plugin writes them.
            let logs = try lab("logs", "--lab", name, "kube-system/coredns")
            #expect(logs.succeeded)
            #expect(logs.stdout.contains("\"A IN web.default.svc.cluster.local. udp "), "\(logs.stdout.prefix(400))")
            #expect(logs.stdout.contains("\"A IN web.default.svc.cluster.local. tcp "))
            #expect(logs.stdout.contains("\"A IN example.com. udp ") && logs.stdout.contains(" REFUSED "))
            #expect(logs.stdout.split(separator: "\n").allSatisfy { $0.hasPrefix("[INFO] 10.244.") || $0.hasPrefix("[WARNING]") })
            #expect(try lab("logs", "--lab", name, "coredns").stdout.hasPrefix(logs.stdout), "the bare pod name too")
            // The model check probes the DNS pod and kube-dns like any pod and service.
            let verify = try lab("verify", name)
            #expect(verify.succeeded, "\(verify.stdout.suffix(1500))")
            #expect(verify.stdout.contains("service/kube-dns"))
        }
        #expect(ResolverDirectories.of(name).isEmpty, "/etc/netns directories left behind")
        #expect(try rootNamespaceSnapshot() == before)
        #expect(try String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8) == hostResolver)
    }

    /// kube-proxy's nftables layout programs kube-dns too.
    @Test func nftablesModeResolvesThroughTheClusterIP() throws {
        let name = uniqueLabName("dnsnft")
        try withLab(Self.labFile(name, proxy: "nftables"), name: name) { _ in
            let podA = "lab.\(name).pod.pod-a"
            #expect(try Self.dig(podA, ["web.default.svc.cluster.local"]).answers == ["10.96.0.1"])
            #expect(try Self.dig(podA, ["+tcp", "SRV", "_http._tcp.api.store.svc.cluster.local"]).answers == ["0 100 80 api.store.svc.cluster.local."])
            let getent = try lab("exec", "--lab", name, "pod-a", "--", "getent", "hosts", "api.store")
            #expect(getent.stdout.hasPrefix("10.96.0.2 "), "\(getent)")
        }
        #expect(ResolverDirectories.of(name).isEmpty)
    }

    /// A service added by a changed file answers right after `lab up`; a NetworkPolicy that
    /// lets pods talk only to port 8080 takes DNS away from them (and only from them).
    @Test func aChangedFileIsAnsweredAtOnceAndAPolicyCanTakeDNSAway() throws {
        let name = uniqueLabName("dnschg")
        try withLab(Self.labFile(name), name: name) { path in
            let podA = "lab.\(name).pod.pod-a", api = "lab.\(name).pod.api-1"
            #expect(try Self.dig(podA, ["cart.store.svc.cluster.local"]).status == "NXDOMAIN")
            try (Self.labFile(name, extra: """
              - {name: cart, namespace: store, selector: {app: api}, ports: [{name: http, port: 80, targetPort: 8080}]}
            networkPolicies:
              - {name: only-8080, namespace: default, podSelector: {}, policyTypes: [Egress], egress: [{ports: [{port: 8080}]}]}
            """)).write(toFile: path, atomically: true, encoding: .utf8)
            let up = try lab("up", path)
            try #require(up.succeeded, "\(up.stderr)")
            // No waiting: the supervisor has the new records before `up` returns.
            let cart = try Self.dig(api, ["cart.store.svc.cluster.local"])
            #expect(cart.status == "NOERROR" && cart.answers == ["10.96.0.3"], "\(cart)")
            // default's pods may send only to 8080: no DNS, so no names.
            let denied = try Self.dig(podA, ["web.default.svc.cluster.local"])
            #expect(denied.status.hasPrefix("no answer") && denied.answers.isEmpty, "\(denied)")
            let getent = try lab("exec", "--lab", name, "pod-a", "--", "getent", "hosts", "web")
            #expect(getent.status == 2 && getent.stdout.isEmpty)
            let byAddress = try lab("exec", "--lab", name, "pod-a", "--", "curl", "-sS", "--max-time", "5", "http://10.244.2.2:8080/hostname")
            #expect(byAddress.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "web-1", "the address still works")
            #expect(try Self.dig(api, ["web.default.svc.cluster.local"]).answers == ["10.96.0.1"], "store is not isolated")
        }
        #expect(ResolverDirectories.of(name).isEmpty)
    }

    /// Malformed, truncated and oversized queries never stop the server: each is answered with
    /// FORMERR or dropped, and the next query is answered.
    @Test func garbageNeverStopsTheServer() throws {
        let name = uniqueLabName("dnsbad")
        try withLab(Self.labFile(name), name: name) { _ in
            let podA = "lab.\(name).pod.pod-a", api = "lab.\(name).pod.api-1"
            let script = """
            import socket, struct
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
            cases = [b"", b"\\x00", b"\\x12\\x34\\x01\\x00\\x00\\x01", b"\\xff" * 12 + b"\\xc0\\x0c" * 10,
                     b"\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\xc0\\x0c\\x00\\x01\\x00\\x01",
                     b"\\x12\\x34\\x01\\x00\\x00\\x02\\x00\\x00\\x00\\x00\\x00\\x00\\x01a\\x00\\x00\\x01\\x00\\x01",
                     b"A" * 4000, bytes(range(256)) * 8]
            formerr = 0
            for c in cases:
                s.sendto(c, ("10.96.0.10", 53))
                try:
                    data, _ = s.recvfrom(4096)
                    if len(data) >= 4 and data[3] & 0x0f == 1: formerr += 1
                except socket.timeout:
                    pass
            t = socket.create_connection(("10.96.0.10", 53), timeout=2)
            t.sendall(struct.pack("!H", 65535) + b"\\x00" * 5000)
            t.close()
            t = socket.create_connection(("10.96.0.10", 53), timeout=2)
            t.sendall(struct.pack("!H", 3) + b"abc")
            try: t.recv(100)
            except Exception: pass
            t.close()
            print("formerr", formerr)
            """
            let result = try run(["ip", "netns", "exec", podA, "python3", "-c", script])
            #expect(result.succeeded, "\(result.stderr)")
            #expect(result.stdout.contains("formerr"), "\(result.stdout)")
            let formerr = Int(result.stdout.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
            #expect(formerr >= 3, "malformed queries with a header get FORMERR: \(result.stdout)")
            // Still serving, on both transports.
            #expect(try Self.dig(podA, ["web.default.svc.cluster.local"]).answers == ["10.96.0.1"])
            #expect(try Self.dig(podA, ["+tcp", "web.default.svc.cluster.local"]).answers == ["10.96.0.1"])
            #expect(try lab("status", name).succeeded)

            // A flood from one pod (as fast as one socket sends, for 3 s) leaves the others
            // answered, and the server's memory where it was.
            let supervisor = try #require(supervisors(of: name).first)
            let residentBefore = try #require(residentKilobytes(of: supervisor))
            let flood = """
            import socket, struct, time
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setblocking(False)
            q = struct.pack("!HHHHHH", 1, 0x0100, 1, 0, 0, 0) + b"".join(bytes([len(l)]) + l.encode() for l in "web.default.svc.cluster.local".split(".")) + b"\\x00\\x00\\x01\\x00\\x01"
            sent, end = 0, time.time() + 3
            while time.time() < end:
                try: s.sendto(q, ("10.96.0.10", 53)); sent += 1
                except BlockingIOError: pass
                try:
                    while True: s.recv(512)
                except BlockingIOError: pass
            print(sent)
            """
            let flooding = try BackgroundCommand(["ip", "netns", "exec", podA, "python3", "-c", flood])
            Thread.sleep(forTimeInterval: 0.5)
            var answered = 0
            // Asked as a resolver asks: glibc tries again after a timeout (`attempts:2`), dig
            // here up to three times, a second apart. A query the flood pushed out of the
            // server's queue is then answered on its next try.
            for _ in 0..<5 where try Self.dig(api, ["+tries=3", "+time=1", "api.store.svc.cluster.local"]).answers == ["10.96.0.2"] {
                answered += 1
            }
            let flooded = flooding.wait()
            #expect(answered == 5, "another pod's queries during the flood")
            let sent = Int(flooded.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            #expect(sent > 10_000, "the flood sent \(sent) queries: \(flooded.stderr)")
            let residentAfter = try #require(residentKilobytes(of: supervisor))
            #expect(residentAfter <= residentBefore + 4 * 1024, "supervisor memory \(residentBefore) → \(residentAfter) kB after \(sent) queries")
            #expect(try Self.dig(podA, ["web.default.svc.cluster.local"]).answers == ["10.96.0.1"])
        }
    }

    /// `cluster.dns: false`: no DNS pod, no service, no resolver files; pods keep the host's.
    @Test func offMeansNoneOfIt() throws {
        let name = uniqueLabName("dnsoff")
        try withLab(Self.labFile(name).replacingOccurrences(of: "cluster: {proxy: iptables}", with: "cluster: {proxy: iptables, dns: false}"),
                    name: name) { _ in
            #expect(!(try namespaces(of: name)).contains("lab.\(name).pod.coredns"))
            #expect(ResolverDirectories.of(name).isEmpty)
            let host = try String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)
            #expect(try lab("exec", "--lab", name, "pod-a", "--", "cat", "/etc/resolv.conf").stdout == host)
            #expect(!(try lab("status", name)).stdout.contains("kube-dns"))
        }
    }
}

/// `dig` on PATH, or nil (the suite then says how to get it).
let digPath: String? = ["/usr/bin/dig", "/bin/dig", "/usr/local/bin/dig"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// The lab's directories under `/etc/netns`, read directly.
enum ResolverDirectories {
    static func of(_ lab: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/etc/netns")) ?? []).filter { $0.hasPrefix("lab.\(lab).") }
    }
}
