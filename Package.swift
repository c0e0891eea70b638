// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "lab",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "lab", targets: ["lab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // SHA-256 for kube-proxy's chain names: a kept library instead of a hand-written hash.
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // libmnl from the system (Debian: libmnl-dev).
        .systemLibrary(
            name: "CMnl",
            pkgConfig: "libmnl",
            providers: [.apt(["libmnl-dev"])]
        ),
        // fork+exec into a namespace (the async-signal-safe part must be C) and pidfds; used
        // only by LabKernel's ChildProcess.
        .target(name: "CProcess"),
        // epoll and setns for the probe and agent event loops (not exported by Glibc).
        .systemLibrary(name: "CEpoll"),
        // IPv4 addresses, prefixes and MACs: parsing, printing, coding. Used by every layer.
        .target(name: "LabAddress"),
        // Decoding and validating lab files. Pure: no kernel, no root.
        .target(
            name: "LabSpec",
            dependencies: ["LabAddress", .product(name: "Yams", package: "Yams")]
        ),
        // Topology (names, addresses) and the plan of kernel operations. Pure.
        .target(
            name: "LabPlan",
            dependencies: ["LabAddress", "LabSpec", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Netlink over libmnl, namespaces, sysctls, epoll, finding programs.
        .target(
            name: "LabKernel",
            dependencies: ["CMnl", "CEpoll", "CProcess", "LabAddress"]
        ),
        // The built-in agent (agnhost netexec's answers) and its wire format.
        .target(
            name: "LabAgent",
            dependencies: ["LabKernel", .product(name: "Logging", package: "swift-log")]
        ),
        // Cluster DNS: the message codec, the zone CoreDNS's `kubernetes` plugin would serve, the
        // resolver's search path and a UDP+TCP server on one event loop. The codec and the zone
        // import nothing; LabPlan and LabSpec only for building the zone from a topology,
        // LabKernel for namespaces and epoll.
        .target(
            name: "LabDNS",
            dependencies: ["LabAddress", "LabKernel", "LabPlan", "LabSpec"]
        ),
        // Running probes and reporting them; reads the agent's answers through LabAgent.
        .target(
            name: "LabProbe",
            dependencies: ["LabAddress", "LabSpec", "LabPlan", "LabKernel", "LabAgent", "CEpoll"]
        ),
        // Applying plans, state, teardown, the supervisor, verify.
        .target(
            name: "LabRuntime",
            dependencies: [
                "LabAddress", "LabSpec", "LabPlan", "LabKernel", "LabAgent", "LabProbe", "LabDNS",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // One file per command.
        .target(
            name: "LabCLI",
            dependencies: [
                "LabAddress", "LabSpec", "LabPlan", "LabRuntime", "LabKernel", "LabProbe",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "lab", dependencies: ["LabCLI"]),
        .testTarget(name: "LabAddressTests", dependencies: ["LabAddress"]),
        .testTarget(name: "LabSpecTests", dependencies: ["LabSpec", "LabAddress"], exclude: ["Corpus"]),
        .testTarget(name: "LabPlanTests", dependencies: ["LabPlan", "LabSpec", "LabAddress"], exclude: ["Golden"]),
        .testTarget(name: "LabKernelTests", dependencies: ["LabKernel", "LabAddress"]),
        .testTarget(name: "LabEndToEndTests", dependencies: ["LabRuntime", "LabPlan", "LabSpec", "LabKernel", "LabAddress"]),
        .testTarget(name: "LabAgentTests", dependencies: ["LabAgent", "LabKernel"]),
        .testTarget(name: "LabProbeTests", dependencies: ["LabProbe", "LabAgent", "LabKernel", "LabSpec", "LabPlan", "LabAddress"]),
        .testTarget(name: "LabDNSTests", dependencies: ["LabDNS", "LabKernel", "LabPlan", "LabSpec", "LabAddress"], exclude: ["Golden"]),
            ],
    swiftLanguageModes: [.v6]
)
