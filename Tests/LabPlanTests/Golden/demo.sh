#!/usr/bin/env bash
# lab demo: the kernel operations of `lab up`, one command each.
# Undo with: for ns in $(ip netns list | awk '/^lab\.demo\./{print $1}'); do ip netns delete "$ns"; done
set -euo pipefail
# Nodes set br_netfilter's bridge-nf-call-iptables; lab up loads the module the same way.
[ -e /proc/sys/net/bridge ] || modprobe br_netfilter

# namespaces
ip netns add lab.demo.fabric
ip netns add lab.demo.node.node-1
ip netns add lab.demo.node.node-2
ip netns add lab.demo.node.node-3
ip netns add lab.demo.host.laptop
ip netns add lab.demo.pod.pod-a
ip netns add lab.demo.pod.pod-b
ip netns add lab.demo.pod.web-2
ip netns add lab.demo.pod.multi-container-pod
ip netns add lab.demo.pod.coredns

# sysctls
ip netns exec lab.demo.fabric sysctl -qw net.ipv4.ip_forward=1
ip netns exec lab.demo.fabric sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.demo.fabric sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.demo.fabric sysctl -qw net.ipv6.conf.default.addr_gen_mode=1
ip netns exec lab.demo.fabric sysctl -qw net.bridge.bridge-nf-call-iptables=0
ip netns exec lab.demo.node.node-1 sysctl -qw net.ipv4.ip_forward=1
ip netns exec lab.demo.node.node-1 sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.demo.node.node-1 sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.demo.node.node-1 sysctl -qw net.ipv6.conf.default.addr_gen_mode=1
ip netns exec lab.demo.node.node-1 sysctl -qw net.bridge.bridge-nf-call-iptables=1
ip netns exec lab.demo.node.node-2 sysctl -qw net.ipv4.ip_forward=1
ip netns exec lab.demo.node.node-2 sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.demo.node.node-2 sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.demo.node.node-2 sysctl -qw net.ipv6.conf.default.addr_gen_mode=1
ip netns exec lab.demo.node.node-2 sysctl -qw net.bridge.bridge-nf-call-iptables=1
ip netns exec lab.demo.node.node-3 sysctl -qw net.ipv4.ip_forward=1
ip netns exec lab.demo.node.node-3 sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.demo.node.node-3 sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.demo.node.node-3 sysctl -qw net.ipv6.conf.default.addr_gen_mode=1
ip netns exec lab.demo.node.node-3 sysctl -qw net.bridge.bridge-nf-call-iptables=1
ip netns exec lab.demo.host.laptop sysctl -qw net.ipv4.ip_forward=0
ip netns exec lab.demo.host.laptop sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.demo.host.laptop sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.demo.host.laptop sysctl -qw net.ipv6.conf.default.addr_gen_mode=1
ip netns exec lab.demo.pod.pod-a sysctl -qw net.ipv4.ip_forward=0
ip netns exec lab.demo.pod.pod-a sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.demo.pod.pod-a sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.demo.pod.pod-b sysctl -qw net.ipv4.ip_forward=0
ip netns exec lab.demo.pod.pod-b sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.demo.pod.pod-b sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.demo.pod.web-2 sysctl -qw net.ipv4.ip_forward=0
ip netns exec lab.demo.pod.web-2 sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.demo.pod.web-2 sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.demo.pod.multi-container-pod sysctl -qw net.ipv4.ip_forward=0
ip netns exec lab.demo.pod.multi-container-pod sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.demo.pod.multi-container-pod sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.demo.pod.coredns sysctl -qw net.ipv4.ip_forward=0
ip netns exec lab.demo.pod.coredns sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.demo.pod.coredns sysctl -qw net.ipv4.conf.default.rp_filter=0

# lab.demo.fabric
ip -n lab.demo.fabric link set lo up

# lab.demo.node.node-1
ip -n lab.demo.node.node-1 link set lo up

# lab.demo.node.node-2
ip -n lab.demo.node.node-2 link set lo up

# lab.demo.node.node-3
ip -n lab.demo.node.node-3 link set lo up

# lab.demo.host.laptop
ip -n lab.demo.host.laptop link set lo up

# lab.demo.pod.pod-a
ip -n lab.demo.pod.pod-a link set lo up

# lab.demo.pod.pod-b
ip -n lab.demo.pod.pod-b link set lo up

# lab.demo.pod.web-2
ip -n lab.demo.pod.web-2 link set lo up

# lab.demo.pod.multi-container-pod
ip -n lab.demo.pod.multi-container-pod link set lo up

# lab.demo.pod.coredns
ip -n lab.demo.pod.coredns link set lo up

# lab.demo.fabric
ip -n lab.demo.fabric link add br-rack-1 address 02:1b:03:53:9a:cb mtu 1500 up type bridge
ip -n lab.demo.fabric addr add 192.168.1.1/24 brd + dev br-rack-1
ip -n lab.demo.fabric link add br-rack-2 address 02:68:2e:d8:f8:dd mtu 1500 up type bridge
ip -n lab.demo.fabric addr add 172.16.0.1/16 brd + dev br-rack-2

# lab.demo.node.node-1
ip -n lab.demo.node.node-1 link add eth0 address 02:ed:14:2d:fa:af mtu 1500 up type veth peer name n-node-1 address 02:74:d4:61:6e:7e mtu 1500 netns lab.demo.fabric

# lab.demo.fabric
ip -n lab.demo.fabric link set n-node-1 master br-rack-1
ip -n lab.demo.fabric link set n-node-1 up

# lab.demo.node.node-1
ip -n lab.demo.node.node-1 addr add 192.168.1.10/24 brd + dev eth0
ip -n lab.demo.node.node-1 link add cni0 address 02:08:7c:ac:c4:27 mtu 1500 up type bridge
ip -n lab.demo.node.node-1 addr add 10.244.1.1/24 brd + dev cni0

# lab.demo.node.node-2
ip -n lab.demo.node.node-2 link add eth0 address 02:bf:a8:68:95:e7 mtu 1500 up type veth peer name n-node-2 address 02:6e:83:79:91:41 mtu 1500 netns lab.demo.fabric

# lab.demo.fabric
ip -n lab.demo.fabric link set n-node-2 master br-rack-1
ip -n lab.demo.fabric link set n-node-2 up

# lab.demo.node.node-2
ip -n lab.demo.node.node-2 addr add 192.168.1.11/24 brd + dev eth0
ip -n lab.demo.node.node-2 link add cni0 address 02:7f:d0:61:3a:89 mtu 1500 up type bridge
ip -n lab.demo.node.node-2 addr add 10.244.2.1/24 brd + dev cni0

# lab.demo.node.node-3
ip -n lab.demo.node.node-3 link add eth0 address 02:2b:2c:e2:f3:34 mtu 1500 up type veth peer name n-node-3 address 02:df:fa:9e:43:2e mtu 1500 netns lab.demo.fabric

# lab.demo.fabric
ip -n lab.demo.fabric link set n-node-3 master br-rack-2
ip -n lab.demo.fabric link set n-node-3 up

# lab.demo.node.node-3
ip -n lab.demo.node.node-3 addr add 172.16.1.1/16 brd + dev eth0
ip -n lab.demo.node.node-3 link add cni0 address 02:c7:fd:60:ff:ea mtu 1500 up type bridge
ip -n lab.demo.node.node-3 addr add 10.244.4.1/24 brd + dev cni0

# lab.demo.host.laptop
ip -n lab.demo.host.laptop link add eth0 address 02:68:e2:0b:de:c4 mtu 1500 up type veth peer name h-laptop address 02:07:24:0f:b1:fa mtu 1500 netns lab.demo.fabric

# lab.demo.fabric
ip -n lab.demo.fabric link set h-laptop master br-rack-1
ip -n lab.demo.fabric link set h-laptop up

# lab.demo.host.laptop
ip -n lab.demo.host.laptop addr add 192.168.1.2/24 brd + dev eth0

# lab.demo.node.node-1
ip -n lab.demo.node.node-1 link add vethc107489d address 02:d5:57:e6:57:fc mtu 1500 master cni0 up type veth peer name eth0 address 02:14:88:a7:ad:ca mtu 1500 netns lab.demo.pod.pod-a
ip -n lab.demo.node.node-1 link set vethc107489d type bridge_slave hairpin on

# lab.demo.pod.pod-a
ip -n lab.demo.pod.pod-a addr add 10.244.1.2/24 brd + dev eth0
ip -n lab.demo.pod.pod-a link set eth0 addrgenmode none
ip -n lab.demo.pod.pod-a link set eth0 up
ip -n lab.demo.pod.pod-a route add default via 10.244.1.1 dev eth0

# lab.demo.node.node-1
ip -n lab.demo.node.node-1 link add veth3824ceb0 address 02:61:2f:52:3a:e6 mtu 1500 master cni0 up type veth peer name eth0 address 02:72:50:7f:d2:cb mtu 1500 netns lab.demo.pod.pod-b
ip -n lab.demo.node.node-1 link set veth3824ceb0 type bridge_slave hairpin on

# lab.demo.pod.pod-b
ip -n lab.demo.pod.pod-b addr add 10.244.1.3/24 brd + dev eth0
ip -n lab.demo.pod.pod-b link set eth0 addrgenmode none
ip -n lab.demo.pod.pod-b link set eth0 up
ip -n lab.demo.pod.pod-b route add default via 10.244.1.1 dev eth0

# lab.demo.node.node-2
ip -n lab.demo.node.node-2 link add vethd9ada0af address 02:65:06:28:89:2d mtu 1500 master cni0 up type veth peer name eth0 address 02:4d:79:52:90:8d mtu 1500 netns lab.demo.pod.web-2
ip -n lab.demo.node.node-2 link set vethd9ada0af type bridge_slave hairpin on

# lab.demo.pod.web-2
ip -n lab.demo.pod.web-2 addr add 10.244.2.2/24 brd + dev eth0
ip -n lab.demo.pod.web-2 link set eth0 addrgenmode none
ip -n lab.demo.pod.web-2 link set eth0 up
ip -n lab.demo.pod.web-2 route add default via 10.244.2.1 dev eth0

# lab.demo.node.node-3
ip -n lab.demo.node.node-3 link add vethc48ee923 address 02:e5:0c:ed:ea:92 mtu 1500 master cni0 up type veth peer name eth0 address 02:6b:b7:a8:d5:8c mtu 1500 netns lab.demo.pod.multi-container-pod
ip -n lab.demo.node.node-3 link set vethc48ee923 type bridge_slave hairpin on

# lab.demo.pod.multi-container-pod
ip -n lab.demo.pod.multi-container-pod addr add 10.244.4.40/24 brd + dev eth0
ip -n lab.demo.pod.multi-container-pod link set eth0 addrgenmode none
ip -n lab.demo.pod.multi-container-pod link set eth0 up
ip -n lab.demo.pod.multi-container-pod route add default via 10.244.4.1 dev eth0

# lab.demo.node.node-1
ip -n lab.demo.node.node-1 link add vethde1b7a36 address 02:bf:52:79:77:60 mtu 1500 master cni0 up type veth peer name eth0 address 02:13:6c:ec:cd:ec mtu 1500 netns lab.demo.pod.coredns
ip -n lab.demo.node.node-1 link set vethde1b7a36 type bridge_slave hairpin on

# lab.demo.pod.coredns
ip -n lab.demo.pod.coredns addr add 10.244.1.4/24 brd + dev eth0
ip -n lab.demo.pod.coredns link set eth0 addrgenmode none
ip -n lab.demo.pod.coredns link set eth0 up
ip -n lab.demo.pod.coredns route add default via 10.244.1.1 dev eth0

# lab.demo.node.node-1
ip -n lab.demo.node.node-1 route add default via 192.168.1.1 dev eth0

# lab.demo.node.node-2
ip -n lab.demo.node.node-2 route add default via 192.168.1.1 dev eth0

# lab.demo.node.node-3
ip -n lab.demo.node.node-3 route add default via 172.16.0.1 dev eth0

# lab.demo.host.laptop
ip -n lab.demo.host.laptop route add default via 192.168.1.1 dev eth0

# lab.demo.node.node-1
ip -n lab.demo.node.node-1 route add 10.244.2.0/24 via 192.168.1.11 dev eth0
ip -n lab.demo.node.node-1 route add 10.244.4.0/24 via 192.168.1.1 dev eth0

# lab.demo.node.node-2
ip -n lab.demo.node.node-2 route add 10.244.1.0/24 via 192.168.1.10 dev eth0
ip -n lab.demo.node.node-2 route add 10.244.4.0/24 via 192.168.1.1 dev eth0

# lab.demo.node.node-3
ip -n lab.demo.node.node-3 route add 10.244.1.0/24 via 172.16.0.1 dev eth0
ip -n lab.demo.node.node-3 route add 10.244.2.0/24 via 172.16.0.1 dev eth0

# lab.demo.fabric
ip -n lab.demo.fabric route add 10.244.1.0/24 via 192.168.1.10 dev br-rack-1
ip -n lab.demo.fabric route add 10.244.2.0/24 via 192.168.1.11 dev br-rack-1
ip -n lab.demo.fabric route add 10.244.4.0/24 via 172.16.1.1 dev br-rack-2

# lab.demo.node.node-1
ip netns exec lab.demo.node.node-1 iptables-restore -w 5 --noflush /dev/stdin <<'RULES'
*filter
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-EXT-CDGGSHYLG3RE2FKL - [0:0]
:KUBE-SVC-CDGGSHYLG3RE2FKL - [0:0]
:KUBE-SEP-2AZ33KU3V5PGPQZH - [0:0]
:KUBE-SEP-4EX2N4PG4ASNZOBF - [0:0]
:KUBE-SEP-OPIMYDYORFU7CVKG - [0:0]
:KUBE-SVC-TCOU7JCQXEZGVUNU - [0:0]
:KUBE-SEP-222YD7DQOUNKFRLL - [0:0]
:KUBE-SVC-ERIFXISQEP7F7OF4 - [0:0]
:KUBE-SEP-5BME6LXGYWTVD5D3 - [0:0]
:KUBE-SVC-JD5MR3NA4I4DYORP - [0:0]
:KUBE-SEP-NG3JZDJDUTWZSDOR - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-SERVICES -m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 10.96.0.20 --dport 80 -j KUBE-SVC-CDGGSHYLG3RE2FKL
-A KUBE-NODEPORTS -m comment --comment default/web:http -m tcp -p tcp --dport 30080 -j KUBE-EXT-CDGGSHYLG3RE2FKL
-A KUBE-SVC-CDGGSHYLG3RE2FKL -m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 10.96.0.20 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-EXT-CDGGSHYLG3RE2FKL -m comment --comment "masquerade traffic for default/web:http external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-CDGGSHYLG3RE2FKL -j KUBE-SVC-CDGGSHYLG3RE2FKL
-A KUBE-SVC-CDGGSHYLG3RE2FKL -m comment --comment "default/web:http -> 10.244.1.3:8080" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-2AZ33KU3V5PGPQZH
-A KUBE-SVC-CDGGSHYLG3RE2FKL -m comment --comment "default/web:http -> 10.244.2.2:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-4EX2N4PG4ASNZOBF
-A KUBE-SVC-CDGGSHYLG3RE2FKL -m comment --comment "default/web:http -> 10.244.4.40:8080" -j KUBE-SEP-OPIMYDYORFU7CVKG
-A KUBE-SEP-2AZ33KU3V5PGPQZH -m comment --comment default/web:http -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-2AZ33KU3V5PGPQZH -m comment --comment default/web:http -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:8080
-A KUBE-SEP-4EX2N4PG4ASNZOBF -m comment --comment default/web:http -s 10.244.2.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-4EX2N4PG4ASNZOBF -m comment --comment default/web:http -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:8080
-A KUBE-SEP-OPIMYDYORFU7CVKG -m comment --comment default/web:http -s 10.244.4.40 -j KUBE-MARK-MASQ
-A KUBE-SEP-OPIMYDYORFU7CVKG -m comment --comment default/web:http -m tcp -p tcp -j DNAT --to-destination 10.244.4.40:8080
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.244.1.4:53" -j KUBE-SEP-222YD7DQOUNKFRLL
-A KUBE-SEP-222YD7DQOUNKFRLL -m comment --comment kube-system/kube-dns:dns -s 10.244.1.4 -j KUBE-MARK-MASQ
-A KUBE-SEP-222YD7DQOUNKFRLL -m comment --comment kube-system/kube-dns:dns -m udp -p udp -j DNAT --to-destination 10.244.1.4:53
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 -j KUBE-SVC-ERIFXISQEP7F7OF4
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp -> 10.244.1.4:53" -j KUBE-SEP-5BME6LXGYWTVD5D3
-A KUBE-SEP-5BME6LXGYWTVD5D3 -m comment --comment kube-system/kube-dns:dns-tcp -s 10.244.1.4 -j KUBE-MARK-MASQ
-A KUBE-SEP-5BME6LXGYWTVD5D3 -m comment --comment kube-system/kube-dns:dns-tcp -m tcp -p tcp -j DNAT --to-destination 10.244.1.4:53
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:metrics cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 9153 -j KUBE-SVC-JD5MR3NA4I4DYORP
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 9153 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics -> 10.244.1.4:9153" -j KUBE-SEP-NG3JZDJDUTWZSDOR
-A KUBE-SEP-NG3JZDJDUTWZSDOR -m comment --comment kube-system/kube-dns:metrics -s 10.244.1.4 -j KUBE-MARK-MASQ
-A KUBE-SEP-NG3JZDJDUTWZSDOR -m comment --comment kube-system/kube-dns:metrics -m tcp -p tcp -j DNAT --to-destination 10.244.1.4:9153
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
COMMIT
RULES

# lab.demo.node.node-2
ip netns exec lab.demo.node.node-2 iptables-restore -w 5 --noflush /dev/stdin <<'RULES'
*filter
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-EXT-CDGGSHYLG3RE2FKL - [0:0]
:KUBE-SVC-CDGGSHYLG3RE2FKL - [0:0]
:KUBE-SEP-2AZ33KU3V5PGPQZH - [0:0]
:KUBE-SEP-4EX2N4PG4ASNZOBF - [0:0]
:KUBE-SEP-OPIMYDYORFU7CVKG - [0:0]
:KUBE-SVC-TCOU7JCQXEZGVUNU - [0:0]
:KUBE-SEP-222YD7DQOUNKFRLL - [0:0]
:KUBE-SVC-ERIFXISQEP7F7OF4 - [0:0]
:KUBE-SEP-5BME6LXGYWTVD5D3 - [0:0]
:KUBE-SVC-JD5MR3NA4I4DYORP - [0:0]
:KUBE-SEP-NG3JZDJDUTWZSDOR - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-SERVICES -m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 10.96.0.20 --dport 80 -j KUBE-SVC-CDGGSHYLG3RE2FKL
-A KUBE-NODEPORTS -m comment --comment default/web:http -m tcp -p tcp --dport 30080 -j KUBE-EXT-CDGGSHYLG3RE2FKL
-A KUBE-SVC-CDGGSHYLG3RE2FKL -m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 10.96.0.20 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-EXT-CDGGSHYLG3RE2FKL -m comment --comment "masquerade traffic for default/web:http external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-CDGGSHYLG3RE2FKL -j KUBE-SVC-CDGGSHYLG3RE2FKL
-A KUBE-SVC-CDGGSHYLG3RE2FKL -m comment --comment "default/web:http -> 10.244.1.3:8080" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-2AZ33KU3V5PGPQZH
-A KUBE-SVC-CDGGSHYLG3RE2FKL -m comment --comment "default/web:http -> 10.244.2.2:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-4EX2N4PG4ASNZOBF
-A KUBE-SVC-CDGGSHYLG3RE2FKL -m comment --comment "default/web:http -> 10.244.4.40:8080" -j KUBE-SEP-OPIMYDYORFU7CVKG
-A KUBE-SEP-2AZ33KU3V5PGPQZH -m comment --comment default/web:http -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-2AZ33KU3V5PGPQZH -m comment --comment default/web:http -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:8080
-A KUBE-SEP-4EX2N4PG4ASNZOBF -m comment --comment default/web:http -s 10.244.2.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-4EX2N4PG4ASNZOBF -m comment --comment default/web:http -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:8080
-A KUBE-SEP-OPIMYDYORFU7CVKG -m comment --comment default/web:http -s 10.244.4.40 -j KUBE-MARK-MASQ
-A KUBE-SEP-OPIMYDYORFU7CVKG -m comment --comment default/web:http -m tcp -p tcp -j DNAT --to-destination 10.244.4.40:8080
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.244.1.4:53" -j KUBE-SEP-222YD7DQOUNKFRLL
-A KUBE-SEP-222YD7DQOUNKFRLL -m comment --comment kube-system/kube-dns:dns -s 10.244.1.4 -j KUBE-MARK-MASQ
-A KUBE-SEP-222YD7DQOUNKFRLL -m comment --comment kube-system/kube-dns:dns -m udp -p udp -j DNAT --to-destination 10.244.1.4:53
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 -j KUBE-SVC-ERIFXISQEP7F7OF4
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp -> 10.244.1.4:53" -j KUBE-SEP-5BME6LXGYWTVD5D3
-A KUBE-SEP-5BME6LXGYWTVD5D3 -m comment --comment kube-system/kube-dns:dns-tcp -s 10.244.1.4 -j KUBE-MARK-MASQ
-A KUBE-SEP-5BME6LXGYWTVD5D3 -m comment --comment kube-system/kube-dns:dns-tcp -m tcp -p tcp -j DNAT --to-destination 10.244.1.4:53
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:metrics cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 9153 -j KUBE-SVC-JD5MR3NA4I4DYORP
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 9153 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics -> 10.244.1.4:9153" -j KUBE-SEP-NG3JZDJDUTWZSDOR
-A KUBE-SEP-NG3JZDJDUTWZSDOR -m comment --comment kube-system/kube-dns:metrics -s 10.244.1.4 -j KUBE-MARK-MASQ
-A KUBE-SEP-NG3JZDJDUTWZSDOR -m comment --comment kube-system/kube-dns:metrics -m tcp -p tcp -j DNAT --to-destination 10.244.1.4:9153
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
COMMIT
RULES

# lab.demo.node.node-3
ip netns exec lab.demo.node.node-3 iptables-restore -w 5 --noflush /dev/stdin <<'RULES'
*filter
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-EXT-CDGGSHYLG3RE2FKL - [0:0]
:KUBE-SVC-CDGGSHYLG3RE2FKL - [0:0]
:KUBE-SEP-2AZ33KU3V5PGPQZH - [0:0]
:KUBE-SEP-4EX2N4PG4ASNZOBF - [0:0]
:KUBE-SEP-OPIMYDYORFU7CVKG - [0:0]
:KUBE-SVC-TCOU7JCQXEZGVUNU - [0:0]
:KUBE-SEP-222YD7DQOUNKFRLL - [0:0]
:KUBE-SVC-ERIFXISQEP7F7OF4 - [0:0]
:KUBE-SEP-5BME6LXGYWTVD5D3 - [0:0]
:KUBE-SVC-JD5MR3NA4I4DYORP - [0:0]
:KUBE-SEP-NG3JZDJDUTWZSDOR - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-SERVICES -m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 10.96.0.20 --dport 80 -j KUBE-SVC-CDGGSHYLG3RE2FKL
-A KUBE-NODEPORTS -m comment --comment default/web:http -m tcp -p tcp --dport 30080 -j KUBE-EXT-CDGGSHYLG3RE2FKL
-A KUBE-SVC-CDGGSHYLG3RE2FKL -m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 10.96.0.20 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-EXT-CDGGSHYLG3RE2FKL -m comment --comment "masquerade traffic for default/web:http external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-CDGGSHYLG3RE2FKL -j KUBE-SVC-CDGGSHYLG3RE2FKL
-A KUBE-SVC-CDGGSHYLG3RE2FKL -m comment --comment "default/web:http -> 10.244.1.3:8080" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-2AZ33KU3V5PGPQZH
-A KUBE-SVC-CDGGSHYLG3RE2FKL -m comment --comment "default/web:http -> 10.244.2.2:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-4EX2N4PG4ASNZOBF
-A KUBE-SVC-CDGGSHYLG3RE2FKL -m comment --comment "default/web:http -> 10.244.4.40:8080" -j KUBE-SEP-OPIMYDYORFU7CVKG
-A KUBE-SEP-2AZ33KU3V5PGPQZH -m comment --comment default/web:http -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-2AZ33KU3V5PGPQZH -m comment --comment default/web:http -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:8080
-A KUBE-SEP-4EX2N4PG4ASNZOBF -m comment --comment default/web:http -s 10.244.2.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-4EX2N4PG4ASNZOBF -m comment --comment default/web:http -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:8080
-A KUBE-SEP-OPIMYDYORFU7CVKG -m comment --comment default/web:http -s 10.244.4.40 -j KUBE-MARK-MASQ
-A KUBE-SEP-OPIMYDYORFU7CVKG -m comment --comment default/web:http -m tcp -p tcp -j DNAT --to-destination 10.244.4.40:8080
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.244.1.4:53" -j KUBE-SEP-222YD7DQOUNKFRLL
-A KUBE-SEP-222YD7DQOUNKFRLL -m comment --comment kube-system/kube-dns:dns -s 10.244.1.4 -j KUBE-MARK-MASQ
-A KUBE-SEP-222YD7DQOUNKFRLL -m comment --comment kube-system/kube-dns:dns -m udp -p udp -j DNAT --to-destination 10.244.1.4:53
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 -j KUBE-SVC-ERIFXISQEP7F7OF4
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp -> 10.244.1.4:53" -j KUBE-SEP-5BME6LXGYWTVD5D3
-A KUBE-SEP-5BME6LXGYWTVD5D3 -m comment --comment kube-system/kube-dns:dns-tcp -s 10.244.1.4 -j KUBE-MARK-MASQ
-A KUBE-SEP-5BME6LXGYWTVD5D3 -m comment --comment kube-system/kube-dns:dns-tcp -m tcp -p tcp -j DNAT --to-destination 10.244.1.4:53
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:metrics cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 9153 -j KUBE-SVC-JD5MR3NA4I4DYORP
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 9153 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics -> 10.244.1.4:9153" -j KUBE-SEP-NG3JZDJDUTWZSDOR
-A KUBE-SEP-NG3JZDJDUTWZSDOR -m comment --comment kube-system/kube-dns:metrics -s 10.244.1.4 -j KUBE-MARK-MASQ
-A KUBE-SEP-NG3JZDJDUTWZSDOR -m comment --comment kube-system/kube-dns:metrics -m tcp -p tcp -j DNAT --to-destination 10.244.1.4:9153
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
COMMIT
RULES
