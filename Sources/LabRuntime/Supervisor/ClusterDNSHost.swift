import Foundation
import LabAddress
import LabDNS
import LabKernel
import LabPlan
import LabSpec

/// The supervisor's cluster DNS: one `DNSServer` on the DNS pod's address, port 53 UDP and TCP,
/// inside the pod's namespace, its loop on one thread (as the agents have theirs). Each reload
/// hands it the new topology: the records are swapped in at once; the server itself is only
/// replaced when the pod's address or namespace changed. Queries go to the pod's container log,
/// so `lab logs kube-system/coredns` shows them.
final class ClusterDNSHost {
    private struct Serving {
        var server: DNSServer
        var thread: Thread
        var finished: DispatchSemaphore
        var ip: IPv4Address
        var netns: NamespaceIdentity?
    }

    private let state: LabState
    private var serving: Serving?
    private var logFile: DNSLogFile?

    init(state: LabState) {
        self.state = state
    }

    /// Serves `topology`'s DNS (or stops serving it when the lab has none); returns why it
    /// cannot, for the supervisor's log and the DNS pod's report.
    func converge(to topology: Topology) -> String? {
        guard let pod = topology.dnsPod, let zone = ClusterZone(topology: topology) else {
            stop()
            return nil
        }
        let identity = NamespaceIdentity(path: "/run/netns/\(pod.netns)")
        if let serving, serving.ip == pod.ip, serving.netns == identity {
            serving.server.update(zone)
            return nil
        }
        stop()
        do {
            let log = try openLog(pod: pod)
            let handle = try NetworkNamespace.open(pod.netns)
            let server = try DNSServer(address: pod.ip.description, port: 53, netns: handle, zone: zone) { line in log.write(line) }
            let finished = DispatchSemaphore(value: 0)
            let thread = Thread {
                server.run()
                finished.signal()
            }
            thread.name = "coredns"
            thread.start()
            serving = Serving(server: server, thread: thread, finished: finished, ip: pod.ip,
                              netns: NamespaceIdentity(descriptor: handle.fd))
            return nil
        } catch {
            return "cluster DNS on \(pod.ip):53 in \(pod.netns): \(error)"
        }
    }

    private func openLog(pod: PodTopology) throws -> DNSLogFile {
        let path = state.logPath(pod: pod.name, container: ClusterDNSSpec.podName)
        if let logFile, logFile.path == path, FileManager.default.fileExists(atPath: path) { return logFile }
        try FileManager.default.createDirectory(atPath: state.logDirectory(pod: pod.name), withIntermediateDirectories: true)
        let file = try DNSLogFile(path: path)
        logFile = file
        return file
    }

    /// Stops the server and waits for its thread: its sockets keep the pod's namespace alive.
    func stop() {
        guard let serving else { return }
        serving.server.stop()
        serving.finished.wait()
        self.serving = nil
    }
}
