#!/usr/bin/env bash
# lab overlay: the kernel operations of `lab up`, one command each.
# Undo with: for ns in $(ip netns list | awk '/^lab\.overlay\./{print $1}'); do ip netns delete "$ns"; done
set -euo pipefail
# Nodes set br_netfilter's bridge-nf-call-iptables; lab up loads the module the same way.
[ -e /proc/sys/net/bridge ] || modprobe br_netfilter

# namespaces
ip netns add lab.overlay.fabric
ip netns add lab.overlay.node.node-1
ip netns add lab.overlay.node.node-2
ip netns add lab.overlay.node.node-3
ip netns add lab.overlay.pod.a
ip netns add lab.overlay.pod.b
ip netns add lab.overlay.pod.c
ip netns add lab.overlay.pod.coredns

# sysctls
ip netns exec lab.overlay.fabric sysctl -qw net.ipv4.ip_forward=1
ip netns exec lab.overlay.fabric sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.overlay.fabric sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.overlay.fabric sysctl -qw net.ipv6.conf.default.addr_gen_mode=1
ip netns exec lab.overlay.fabric sysctl -qw net.bridge.bridge-nf-call-iptables=0
ip netns exec lab.overlay.node.node-1 sysctl -qw net.ipv4.ip_forward=1
ip netns exec lab.overlay.node.node-1 sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.overlay.node.node-1 sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.overlay.node.node-1 sysctl -qw net.ipv6.conf.default.addr_gen_mode=1
ip netns exec lab.overlay.node.node-1 sysctl -qw net.bridge.bridge-nf-call-iptables=1
ip netns exec lab.overlay.node.node-2 sysctl -qw net.ipv4.ip_forward=1
ip netns exec lab.overlay.node.node-2 sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.overlay.node.node-2 sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.overlay.node.node-2 sysctl -qw net.ipv6.conf.default.addr_gen_mode=1
ip netns exec lab.overlay.node.node-2 sysctl -qw net.bridge.bridge-nf-call-iptables=1
ip netns exec lab.overlay.node.node-3 sysctl -qw net.ipv4.ip_forward=1
ip netns exec lab.overlay.node.node-3 sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.overlay.node.node-3 sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.overlay.node.node-3 sysctl -qw net.ipv6.conf.default.addr_gen_mode=1
ip netns exec lab.overlay.node.node-3 sysctl -qw net.bridge.bridge-nf-call-iptables=1
ip netns exec lab.overlay.pod.a sysctl -qw net.ipv4.ip_forward=0
ip netns exec lab.overlay.pod.a sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.overlay.pod.a sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.overlay.pod.b sysctl -qw net.ipv4.ip_forward=0
ip netns exec lab.overlay.pod.b sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.overlay.pod.b sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.overlay.pod.c sysctl -qw net.ipv4.ip_forward=0
ip netns exec lab.overlay.pod.c sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.overlay.pod.c sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.overlay.pod.coredns sysctl -qw net.ipv4.ip_forward=0
ip netns exec lab.overlay.pod.coredns sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.overlay.pod.coredns sysctl -qw net.ipv4.conf.default.rp_filter=0

# lab.overlay.fabric
ip -n lab.overlay.fabric link set lo up

# lab.overlay.node.node-1
ip -n lab.overlay.node.node-1 link set lo up

# lab.overlay.node.node-2
ip -n lab.overlay.node.node-2 link set lo up

# lab.overlay.node.node-3
ip -n lab.overlay.node.node-3 link set lo up

# lab.overlay.pod.a
ip -n lab.overlay.pod.a link set lo up

# lab.overlay.pod.b
ip -n lab.overlay.pod.b link set lo up

# lab.overlay.pod.c
ip -n lab.overlay.pod.c link set lo up

# lab.overlay.pod.coredns
ip -n lab.overlay.pod.coredns link set lo up

# lab.overlay.fabric
ip -n lab.overlay.fabric link add br-rack-1 address 02:a9:3c:cc:9b:24 mtu 1500 up type bridge
ip -n lab.overlay.fabric addr add 192.168.1.1/24 brd + dev br-rack-1
ip -n lab.overlay.fabric link add br-rack-2 address 02:75:12:6b:e6:d2 mtu 1500 up type bridge
ip -n lab.overlay.fabric addr add 172.16.0.1/16 brd + dev br-rack-2

# lab.overlay.node.node-1
ip -n lab.overlay.node.node-1 link add eth0 address 02:a2:9d:39:e8:6f mtu 1500 up type veth peer name n-node-1 address 02:52:99:2d:fb:f1 mtu 1500 netns lab.overlay.fabric

# lab.overlay.fabric
ip -n lab.overlay.fabric link set n-node-1 master br-rack-1
ip -n lab.overlay.fabric link set n-node-1 up

# lab.overlay.node.node-1
ip -n lab.overlay.node.node-1 addr add 192.168.1.2/24 brd + dev eth0
ip -n lab.overlay.node.node-1 link add cni0 address 02:9f:24:9b:07:98 mtu 1450 up type bridge
ip -n lab.overlay.node.node-1 addr add 10.244.1.1/24 brd + dev cni0

# lab.overlay.node.node-2
ip -n lab.overlay.node.node-2 link add eth0 address 02:c7:ed:d7:c6:05 mtu 1500 up type veth peer name n-node-2 address 02:f0:b0:85:81:3b mtu 1500 netns lab.overlay.fabric

# lab.overlay.fabric
ip -n lab.overlay.fabric link set n-node-2 master br-rack-1
ip -n lab.overlay.fabric link set n-node-2 up

# lab.overlay.node.node-2
ip -n lab.overlay.node.node-2 addr add 192.168.1.3/24 brd + dev eth0
ip -n lab.overlay.node.node-2 link add cni0 address 02:01:87:f8:1f:0c mtu 1450 up type bridge
ip -n lab.overlay.node.node-2 addr add 10.244.2.1/24 brd + dev cni0

# lab.overlay.node.node-3
ip -n lab.overlay.node.node-3 link add eth0 address 02:10:95:8e:3a:3d mtu 1500 up type veth peer name n-node-3 address 02:79:75:ac:6c:25 mtu 1500 netns lab.overlay.fabric

# lab.overlay.fabric
ip -n lab.overlay.fabric link set n-node-3 master br-rack-2
ip -n lab.overlay.fabric link set n-node-3 up

# lab.overlay.node.node-3
ip -n lab.overlay.node.node-3 addr add 172.16.0.2/16 brd + dev eth0
ip -n lab.overlay.node.node-3 link add cni0 address 02:07:a7:d3:f2:74 mtu 1450 up type bridge
ip -n lab.overlay.node.node-3 addr add 10.244.3.1/24 brd + dev cni0

# lab.overlay.node.node-1
ip -n lab.overlay.node.node-1 link add veth9342413c address 02:ff:0b:01:6d:76 mtu 1450 master cni0 up type veth peer name eth0 address 02:2a:fc:b6:dd:f8 mtu 1450 netns lab.overlay.pod.a
ip -n lab.overlay.node.node-1 link set veth9342413c type bridge_slave hairpin on

# lab.overlay.pod.a
ip -n lab.overlay.pod.a addr add 10.244.1.2/24 brd + dev eth0
ip -n lab.overlay.pod.a link set eth0 addrgenmode none
ip -n lab.overlay.pod.a link set eth0 up
ip -n lab.overlay.pod.a route add default via 10.244.1.1 dev eth0

# lab.overlay.node.node-2
ip -n lab.overlay.node.node-2 link add vetha77c7e0a address 02:a6:df:4e:5d:8a mtu 1450 master cni0 up type veth peer name eth0 address 02:c2:a8:77:b3:d7 mtu 1450 netns lab.overlay.pod.b
ip -n lab.overlay.node.node-2 link set vetha77c7e0a type bridge_slave hairpin on

# lab.overlay.pod.b
ip -n lab.overlay.pod.b addr add 10.244.2.2/24 brd + dev eth0
ip -n lab.overlay.pod.b link set eth0 addrgenmode none
ip -n lab.overlay.pod.b link set eth0 up
ip -n lab.overlay.pod.b route add default via 10.244.2.1 dev eth0

# lab.overlay.node.node-3
ip -n lab.overlay.node.node-3 link add veth079c1f2b address 02:28:ff:7f:c2:bc mtu 1450 master cni0 up type veth peer name eth0 address 02:e3:81:4a:45:91 mtu 1450 netns lab.overlay.pod.c
ip -n lab.overlay.node.node-3 link set veth079c1f2b type bridge_slave hairpin on

# lab.overlay.pod.c
ip -n lab.overlay.pod.c addr add 10.244.3.2/24 brd + dev eth0
ip -n lab.overlay.pod.c link set eth0 addrgenmode none
ip -n lab.overlay.pod.c link set eth0 up
ip -n lab.overlay.pod.c route add default via 10.244.3.1 dev eth0

# lab.overlay.node.node-1
ip -n lab.overlay.node.node-1 link add veth06d0875e address 02:5d:30:0c:98:87 mtu 1450 master cni0 up type veth peer name eth0 address 02:32:62:cb:e2:d8 mtu 1450 netns lab.overlay.pod.coredns
ip -n lab.overlay.node.node-1 link set veth06d0875e type bridge_slave hairpin on

# lab.overlay.pod.coredns
ip -n lab.overlay.pod.coredns addr add 10.244.1.3/24 brd + dev eth0
ip -n lab.overlay.pod.coredns link set eth0 addrgenmode none
ip -n lab.overlay.pod.coredns link set eth0 up
ip -n lab.overlay.pod.coredns route add default via 10.244.1.1 dev eth0

# lab.overlay.node.node-1
ip -n lab.overlay.node.node-1 route add default via 192.168.1.1 dev eth0

# lab.overlay.node.node-2
ip -n lab.overlay.node.node-2 route add default via 192.168.1.1 dev eth0

# lab.overlay.node.node-3
ip -n lab.overlay.node.node-3 route add default via 172.16.0.1 dev eth0

# lab.overlay.node.node-1
ip -n lab.overlay.node.node-1 link add flannel.1 address 02:03:69:d6:7a:eb mtu 1450 up type vxlan id 1 local 192.168.1.2 dev eth0 dstport 8472 nolearning
ip -n lab.overlay.node.node-1 addr add 10.244.1.0/32 dev flannel.1
ip -n lab.overlay.node.node-1 neigh replace 10.244.2.0 lladdr 02:3a:c0:a9:6f:e8 dev flannel.1 nud permanent
bridge -n lab.overlay.node.node-1 fdb append 02:3a:c0:a9:6f:e8 dev flannel.1 dst 192.168.1.3 self permanent
ip -n lab.overlay.node.node-1 route add 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink
ip -n lab.overlay.node.node-1 neigh replace 10.244.3.0 lladdr 02:b9:65:8d:75:2c dev flannel.1 nud permanent
bridge -n lab.overlay.node.node-1 fdb append 02:b9:65:8d:75:2c dev flannel.1 dst 172.16.0.2 self permanent
ip -n lab.overlay.node.node-1 route add 10.244.3.0/24 via 10.244.3.0 dev flannel.1 onlink

# lab.overlay.node.node-2
ip -n lab.overlay.node.node-2 link add flannel.1 address 02:3a:c0:a9:6f:e8 mtu 1450 up type vxlan id 1 local 192.168.1.3 dev eth0 dstport 8472 nolearning
ip -n lab.overlay.node.node-2 addr add 10.244.2.0/32 dev flannel.1
ip -n lab.overlay.node.node-2 neigh replace 10.244.1.0 lladdr 02:03:69:d6:7a:eb dev flannel.1 nud permanent
bridge -n lab.overlay.node.node-2 fdb append 02:03:69:d6:7a:eb dev flannel.1 dst 192.168.1.2 self permanent
ip -n lab.overlay.node.node-2 route add 10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink
ip -n lab.overlay.node.node-2 neigh replace 10.244.3.0 lladdr 02:b9:65:8d:75:2c dev flannel.1 nud permanent
bridge -n lab.overlay.node.node-2 fdb append 02:b9:65:8d:75:2c dev flannel.1 dst 172.16.0.2 self permanent
ip -n lab.overlay.node.node-2 route add 10.244.3.0/24 via 10.244.3.0 dev flannel.1 onlink

# lab.overlay.node.node-3
ip -n lab.overlay.node.node-3 link add flannel.1 address 02:b9:65:8d:75:2c mtu 1450 up type vxlan id 1 local 172.16.0.2 dev eth0 dstport 8472 nolearning
ip -n lab.overlay.node.node-3 addr add 10.244.3.0/32 dev flannel.1
ip -n lab.overlay.node.node-3 neigh replace 10.244.1.0 lladdr 02:03:69:d6:7a:eb dev flannel.1 nud permanent
bridge -n lab.overlay.node.node-3 fdb append 02:03:69:d6:7a:eb dev flannel.1 dst 192.168.1.2 self permanent
ip -n lab.overlay.node.node-3 route add 10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink
ip -n lab.overlay.node.node-3 neigh replace 10.244.2.0 lladdr 02:3a:c0:a9:6f:e8 dev flannel.1 nud permanent
bridge -n lab.overlay.node.node-3 fdb append 02:3a:c0:a9:6f:e8 dev flannel.1 dst 192.168.1.3 self permanent
ip -n lab.overlay.node.node-3 route add 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink

# lab.overlay.node.node-1
ip netns exec lab.overlay.node.node-1 iptables-restore -w 5 --noflush /dev/stdin <<'RULES'
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
:KUBE-SVC-TCOU7JCQXEZGVUNU - [0:0]
:KUBE-SEP-EJJ3L23ZA35VLW6X - [0:0]
:KUBE-SVC-ERIFXISQEP7F7OF4 - [0:0]
:KUBE-SEP-R75T7LXI5PWKQPQA - [0:0]
:KUBE-SVC-JD5MR3NA4I4DYORP - [0:0]
:KUBE-SEP-P6ZV3VC6PB5OMAHT - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.244.1.3:53" -j KUBE-SEP-EJJ3L23ZA35VLW6X
-A KUBE-SEP-EJJ3L23ZA35VLW6X -m comment --comment kube-system/kube-dns:dns -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-EJJ3L23ZA35VLW6X -m comment --comment kube-system/kube-dns:dns -m udp -p udp -j DNAT --to-destination 10.244.1.3:53
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 -j KUBE-SVC-ERIFXISQEP7F7OF4
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp -> 10.244.1.3:53" -j KUBE-SEP-R75T7LXI5PWKQPQA
-A KUBE-SEP-R75T7LXI5PWKQPQA -m comment --comment kube-system/kube-dns:dns-tcp -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-R75T7LXI5PWKQPQA -m comment --comment kube-system/kube-dns:dns-tcp -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:53
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:metrics cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 9153 -j KUBE-SVC-JD5MR3NA4I4DYORP
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 9153 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics -> 10.244.1.3:9153" -j KUBE-SEP-P6ZV3VC6PB5OMAHT
-A KUBE-SEP-P6ZV3VC6PB5OMAHT -m comment --comment kube-system/kube-dns:metrics -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-P6ZV3VC6PB5OMAHT -m comment --comment kube-system/kube-dns:metrics -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:9153
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
COMMIT
RULES

# lab.overlay.node.node-2
ip netns exec lab.overlay.node.node-2 iptables-restore -w 5 --noflush /dev/stdin <<'RULES'
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
:KUBE-SVC-TCOU7JCQXEZGVUNU - [0:0]
:KUBE-SEP-EJJ3L23ZA35VLW6X - [0:0]
:KUBE-SVC-ERIFXISQEP7F7OF4 - [0:0]
:KUBE-SEP-R75T7LXI5PWKQPQA - [0:0]
:KUBE-SVC-JD5MR3NA4I4DYORP - [0:0]
:KUBE-SEP-P6ZV3VC6PB5OMAHT - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.244.1.3:53" -j KUBE-SEP-EJJ3L23ZA35VLW6X
-A KUBE-SEP-EJJ3L23ZA35VLW6X -m comment --comment kube-system/kube-dns:dns -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-EJJ3L23ZA35VLW6X -m comment --comment kube-system/kube-dns:dns -m udp -p udp -j DNAT --to-destination 10.244.1.3:53
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 -j KUBE-SVC-ERIFXISQEP7F7OF4
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp -> 10.244.1.3:53" -j KUBE-SEP-R75T7LXI5PWKQPQA
-A KUBE-SEP-R75T7LXI5PWKQPQA -m comment --comment kube-system/kube-dns:dns-tcp -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-R75T7LXI5PWKQPQA -m comment --comment kube-system/kube-dns:dns-tcp -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:53
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:metrics cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 9153 -j KUBE-SVC-JD5MR3NA4I4DYORP
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 9153 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics -> 10.244.1.3:9153" -j KUBE-SEP-P6ZV3VC6PB5OMAHT
-A KUBE-SEP-P6ZV3VC6PB5OMAHT -m comment --comment kube-system/kube-dns:metrics -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-P6ZV3VC6PB5OMAHT -m comment --comment kube-system/kube-dns:metrics -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:9153
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
COMMIT
RULES

# lab.overlay.node.node-3
ip netns exec lab.overlay.node.node-3 iptables-restore -w 5 --noflush /dev/stdin <<'RULES'
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
:KUBE-SVC-TCOU7JCQXEZGVUNU - [0:0]
:KUBE-SEP-EJJ3L23ZA35VLW6X - [0:0]
:KUBE-SVC-ERIFXISQEP7F7OF4 - [0:0]
:KUBE-SEP-R75T7LXI5PWKQPQA - [0:0]
:KUBE-SVC-JD5MR3NA4I4DYORP - [0:0]
:KUBE-SEP-P6ZV3VC6PB5OMAHT - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.244.1.3:53" -j KUBE-SEP-EJJ3L23ZA35VLW6X
-A KUBE-SEP-EJJ3L23ZA35VLW6X -m comment --comment kube-system/kube-dns:dns -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-EJJ3L23ZA35VLW6X -m comment --comment kube-system/kube-dns:dns -m udp -p udp -j DNAT --to-destination 10.244.1.3:53
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 -j KUBE-SVC-ERIFXISQEP7F7OF4
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp -> 10.244.1.3:53" -j KUBE-SEP-R75T7LXI5PWKQPQA
-A KUBE-SEP-R75T7LXI5PWKQPQA -m comment --comment kube-system/kube-dns:dns-tcp -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-R75T7LXI5PWKQPQA -m comment --comment kube-system/kube-dns:dns-tcp -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:53
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:metrics cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 9153 -j KUBE-SVC-JD5MR3NA4I4DYORP
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 9153 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics -> 10.244.1.3:9153" -j KUBE-SEP-P6ZV3VC6PB5OMAHT
-A KUBE-SEP-P6ZV3VC6PB5OMAHT -m comment --comment kube-system/kube-dns:metrics -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-P6ZV3VC6PB5OMAHT -m comment --comment kube-system/kube-dns:metrics -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:9153
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
COMMIT
RULES
