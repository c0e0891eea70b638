/// The chains of one service port that both proxy modes have, by their names in each:
/// kube-proxy's iptables `KUBE-SVC-`, `KUBE-SVL-`, `KUBE-EXT-`; its nftables `service-`,
/// `local-`, `external-`.
protocol ServicePortChainNames {
    static func serviceChain(_ port: ServicePortName) -> String
    static func localChain(_ port: ServicePortName) -> String
    static func externalChain(_ port: ServicePortName) -> String
}

extension ServicePortChainNames {
    /// The three at once, as every writer of a service port's rules needs them.
    static func chains(_ port: ServicePortName) -> (cluster: String, local: String, external: String) {
        (serviceChain(port), localChain(port), externalChain(port))
    }
}

extension IPTablesChainNames: ServicePortChainNames {}
extension NFTablesChainNames: ServicePortChainNames {}
