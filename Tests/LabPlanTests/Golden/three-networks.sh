#!/usr/bin/env bash
# lab three-networks: the kernel operations of `lab up`, one command each.
# Undo with: for ns in $(ip netns list | awk '/^lab\.three-networks\./{print $1}'); do ip netns delete "$ns"; done
set -euo pipefail
# Nodes set br_netfilter's bridge-nf-call-iptables; lab up loads the module the same way.
[ -e /proc/sys/net/bridge ] || modprobe br_netfilter

# namespaces
ip netns add lab.three-networks.fabric
ip netns add lab.three-networks.node.node-1
ip netns add lab.three-networks.node.node-2
ip netns add lab.three-networks.node.node-3
ip netns add lab.three-networks.node.node-4
ip netns add lab.three-networks.host.laptop
ip netns add lab.three-networks.pod.a1
ip netns add lab.three-networks.pod.a2
ip netns add lab.three-networks.pod.b1
ip netns add lab.three-networks.pod.c1
ip netns add lab.three-networks.pod.d1
ip netns add lab.three-networks.pod.coredns

# sysctls
ip netns exec lab.three-networks.fabric sysctl -qw net.ipv4.ip_forward=1
ip netns exec lab.three-networks.fabric sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.three-networks.fabric sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.three-networks.fabric sysctl -qw net.ipv6.conf.default.addr_gen_mode=1
ip netns exec lab.three-networks.fabric sysctl -qw net.bridge.bridge-nf-call-iptables=0
ip netns exec lab.three-networks.node.node-1 sysctl -qw net.ipv4.ip_forward=1
ip netns exec lab.three-networks.node.node-1 sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.three-networks.node.node-1 sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.three-networks.node.node-1 sysctl -qw net.ipv6.conf.default.addr_gen_mode=1
ip netns exec lab.three-networks.node.node-1 sysctl -qw net.bridge.bridge-nf-call-iptables=1
ip netns exec lab.three-networks.node.node-2 sysctl -qw net.ipv4.ip_forward=1
ip netns exec lab.three-networks.node.node-2 sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.three-networks.node.node-2 sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.three-networks.node.node-2 sysctl -qw net.ipv6.conf.default.addr_gen_mode=1
ip netns exec lab.three-networks.node.node-2 sysctl -qw net.bridge.bridge-nf-call-iptables=1
ip netns exec lab.three-networks.node.node-3 sysctl -qw net.ipv4.ip_forward=1
ip netns exec lab.three-networks.node.node-3 sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.three-networks.node.node-3 sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.three-networks.node.node-3 sysctl -qw net.ipv6.conf.default.addr_gen_mode=1
ip netns exec lab.three-networks.node.node-3 sysctl -qw net.bridge.bridge-nf-call-iptables=1
ip netns exec lab.three-networks.node.node-4 sysctl -qw net.ipv4.ip_forward=1
ip netns exec lab.three-networks.node.node-4 sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.three-networks.node.node-4 sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.three-networks.node.node-4 sysctl -qw net.ipv6.conf.default.addr_gen_mode=1
ip netns exec lab.three-networks.node.node-4 sysctl -qw net.bridge.bridge-nf-call-iptables=1
ip netns exec lab.three-networks.host.laptop sysctl -qw net.ipv4.ip_forward=0
ip netns exec lab.three-networks.host.laptop sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.three-networks.host.laptop sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.three-networks.host.laptop sysctl -qw net.ipv6.conf.default.addr_gen_mode=1
ip netns exec lab.three-networks.pod.a1 sysctl -qw net.ipv4.ip_forward=0
ip netns exec lab.three-networks.pod.a1 sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.three-networks.pod.a1 sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.three-networks.pod.a2 sysctl -qw net.ipv4.ip_forward=0
ip netns exec lab.three-networks.pod.a2 sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.three-networks.pod.a2 sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.three-networks.pod.b1 sysctl -qw net.ipv4.ip_forward=0
ip netns exec lab.three-networks.pod.b1 sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.three-networks.pod.b1 sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.three-networks.pod.c1 sysctl -qw net.ipv4.ip_forward=0
ip netns exec lab.three-networks.pod.c1 sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.three-networks.pod.c1 sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.three-networks.pod.d1 sysctl -qw net.ipv4.ip_forward=0
ip netns exec lab.three-networks.pod.d1 sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.three-networks.pod.d1 sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.three-networks.pod.coredns sysctl -qw net.ipv4.ip_forward=0
ip netns exec lab.three-networks.pod.coredns sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.three-networks.pod.coredns sysctl -qw net.ipv4.conf.default.rp_filter=0

# lab.three-networks.fabric
ip -n lab.three-networks.fabric link set lo up

# lab.three-networks.node.node-1
ip -n lab.three-networks.node.node-1 link set lo up

# lab.three-networks.node.node-2
ip -n lab.three-networks.node.node-2 link set lo up

# lab.three-networks.node.node-3
ip -n lab.three-networks.node.node-3 link set lo up

# lab.three-networks.node.node-4
ip -n lab.three-networks.node.node-4 link set lo up

# lab.three-networks.host.laptop
ip -n lab.three-networks.host.laptop link set lo up

# lab.three-networks.pod.a1
ip -n lab.three-networks.pod.a1 link set lo up

# lab.three-networks.pod.a2
ip -n lab.three-networks.pod.a2 link set lo up

# lab.three-networks.pod.b1
ip -n lab.three-networks.pod.b1 link set lo up

# lab.three-networks.pod.c1
ip -n lab.three-networks.pod.c1 link set lo up

# lab.three-networks.pod.d1
ip -n lab.three-networks.pod.d1 link set lo up

# lab.three-networks.pod.coredns
ip -n lab.three-networks.pod.coredns link set lo up

# lab.three-networks.fabric
ip -n lab.three-networks.fabric link add br-rack-1 address 02:1a:10:2e:29:3c mtu 1500 up type bridge
ip -n lab.three-networks.fabric addr add 192.168.1.1/24 brd + dev br-rack-1
ip -n lab.three-networks.fabric link add br-rack-2 address 02:53:93:e4:72:5a mtu 1500 up type bridge
ip -n lab.three-networks.fabric addr add 172.16.0.1/16 brd + dev br-rack-2
ip -n lab.three-networks.fabric link add br-rack-3 address 02:b8:2d:87:ea:7f mtu 1500 up type bridge
ip -n lab.three-networks.fabric addr add 10.10.0.1/24 brd + dev br-rack-3

# lab.three-networks.node.node-1
ip -n lab.three-networks.node.node-1 link add eth0 address 02:6b:0d:4e:26:fd mtu 1500 up type veth peer name n-node-1 address 02:63:98:dc:a0:89 mtu 1500 netns lab.three-networks.fabric

# lab.three-networks.fabric
ip -n lab.three-networks.fabric link set n-node-1 master br-rack-1
ip -n lab.three-networks.fabric link set n-node-1 up

# lab.three-networks.node.node-1
ip -n lab.three-networks.node.node-1 addr add 192.168.1.2/24 brd + dev eth0
ip -n lab.three-networks.node.node-1 link add cni0 address 02:3e:cc:da:d8:b9 mtu 1500 up type bridge
ip -n lab.three-networks.node.node-1 addr add 10.244.1.1/24 brd + dev cni0

# lab.three-networks.node.node-2
ip -n lab.three-networks.node.node-2 link add eth0 address 02:59:f5:4d:ea:bb mtu 1500 up type veth peer name n-node-2 address 02:00:98:83:e3:8b mtu 1500 netns lab.three-networks.fabric

# lab.three-networks.fabric
ip -n lab.three-networks.fabric link set n-node-2 master br-rack-1
ip -n lab.three-networks.fabric link set n-node-2 up

# lab.three-networks.node.node-2
ip -n lab.three-networks.node.node-2 addr add 192.168.1.3/24 brd + dev eth0
ip -n lab.three-networks.node.node-2 link add cni0 address 02:c1:35:35:91:41 mtu 1500 up type bridge
ip -n lab.three-networks.node.node-2 addr add 10.244.2.1/24 brd + dev cni0

# lab.three-networks.node.node-3
ip -n lab.three-networks.node.node-3 link add eth0 address 02:1e:18:a2:83:29 mtu 1500 up type veth peer name n-node-3 address 02:f6:b8:c1:5b:48 mtu 1500 netns lab.three-networks.fabric

# lab.three-networks.fabric
ip -n lab.three-networks.fabric link set n-node-3 master br-rack-2
ip -n lab.three-networks.fabric link set n-node-3 up

# lab.three-networks.node.node-3
ip -n lab.three-networks.node.node-3 addr add 172.16.0.2/16 brd + dev eth0
ip -n lab.three-networks.node.node-3 link add cni0 address 02:96:8f:2b:1c:37 mtu 1500 up type bridge
ip -n lab.three-networks.node.node-3 addr add 10.244.3.1/24 brd + dev cni0

# lab.three-networks.node.node-4
ip -n lab.three-networks.node.node-4 link add eth0 address 02:64:46:6f:30:e8 mtu 1500 up type veth peer name n-node-4 address 02:b5:48:8e:f0:40 mtu 1500 netns lab.three-networks.fabric

# lab.three-networks.fabric
ip -n lab.three-networks.fabric link set n-node-4 master br-rack-3
ip -n lab.three-networks.fabric link set n-node-4 up

# lab.three-networks.node.node-4
ip -n lab.three-networks.node.node-4 addr add 10.10.0.2/24 brd + dev eth0
ip -n lab.three-networks.node.node-4 link add cni0 address 02:b4:81:e0:05:5e mtu 1500 up type bridge
ip -n lab.three-networks.node.node-4 addr add 10.244.4.1/24 brd + dev cni0

# lab.three-networks.host.laptop
ip -n lab.three-networks.host.laptop link add eth0 address 02:3c:b9:f5:2d:b6 mtu 1500 up type veth peer name h-laptop address 02:ce:20:e2:64:70 mtu 1500 netns lab.three-networks.fabric

# lab.three-networks.fabric
ip -n lab.three-networks.fabric link set h-laptop master br-rack-2
ip -n lab.three-networks.fabric link set h-laptop up

# lab.three-networks.host.laptop
ip -n lab.three-networks.host.laptop addr add 172.16.0.3/16 brd + dev eth0

# lab.three-networks.node.node-1
ip -n lab.three-networks.node.node-1 link add veth34d35a6e address 02:9e:51:09:6f:53 mtu 1500 master cni0 up type veth peer name eth0 address 02:3b:48:f0:80:de mtu 1500 netns lab.three-networks.pod.a1
ip -n lab.three-networks.node.node-1 link set veth34d35a6e type bridge_slave hairpin on

# lab.three-networks.pod.a1
ip -n lab.three-networks.pod.a1 addr add 10.244.1.2/24 brd + dev eth0
ip -n lab.three-networks.pod.a1 link set eth0 addrgenmode none
ip -n lab.three-networks.pod.a1 link set eth0 up
ip -n lab.three-networks.pod.a1 route add default via 10.244.1.1 dev eth0

# lab.three-networks.node.node-1
ip -n lab.three-networks.node.node-1 link add veth12bffcb1 address 02:18:57:04:3b:e2 mtu 1500 master cni0 up type veth peer name eth0 address 02:8d:4b:49:07:c4 mtu 1500 netns lab.three-networks.pod.a2
ip -n lab.three-networks.node.node-1 link set veth12bffcb1 type bridge_slave hairpin on

# lab.three-networks.pod.a2
ip -n lab.three-networks.pod.a2 addr add 10.244.1.3/24 brd + dev eth0
ip -n lab.three-networks.pod.a2 link set eth0 addrgenmode none
ip -n lab.three-networks.pod.a2 link set eth0 up
ip -n lab.three-networks.pod.a2 route add default via 10.244.1.1 dev eth0

# lab.three-networks.node.node-2
ip -n lab.three-networks.node.node-2 link add veth091519c2 address 02:39:74:57:97:8a mtu 1500 master cni0 up type veth peer name eth0 address 02:55:06:b3:b8:ef mtu 1500 netns lab.three-networks.pod.b1
ip -n lab.three-networks.node.node-2 link set veth091519c2 type bridge_slave hairpin on

# lab.three-networks.pod.b1
ip -n lab.three-networks.pod.b1 addr add 10.244.2.2/24 brd + dev eth0
ip -n lab.three-networks.pod.b1 link set eth0 addrgenmode none
ip -n lab.three-networks.pod.b1 link set eth0 up
ip -n lab.three-networks.pod.b1 route add default via 10.244.2.1 dev eth0

# lab.three-networks.node.node-3
ip -n lab.three-networks.node.node-3 link add veth4cc79dbd address 02:d6:b5:c8:23:25 mtu 1500 master cni0 up type veth peer name eth0 address 02:53:08:0b:05:ba mtu 1500 netns lab.three-networks.pod.c1
ip -n lab.three-networks.node.node-3 link set veth4cc79dbd type bridge_slave hairpin on

# lab.three-networks.pod.c1
ip -n lab.three-networks.pod.c1 addr add 10.244.3.2/24 brd + dev eth0
ip -n lab.three-networks.pod.c1 link set eth0 addrgenmode none
ip -n lab.three-networks.pod.c1 link set eth0 up
ip -n lab.three-networks.pod.c1 route add default via 10.244.3.1 dev eth0

# lab.three-networks.node.node-4
ip -n lab.three-networks.node.node-4 link add veth48a424c1 address 02:7e:70:07:51:f1 mtu 1500 master cni0 up type veth peer name eth0 address 02:99:7f:cd:2d:e4 mtu 1500 netns lab.three-networks.pod.d1
ip -n lab.three-networks.node.node-4 link set veth48a424c1 type bridge_slave hairpin on

# lab.three-networks.pod.d1
ip -n lab.three-networks.pod.d1 addr add 10.244.4.2/24 brd + dev eth0
ip -n lab.three-networks.pod.d1 link set eth0 addrgenmode none
ip -n lab.three-networks.pod.d1 link set eth0 up
ip -n lab.three-networks.pod.d1 route add default via 10.244.4.1 dev eth0

# lab.three-networks.node.node-1
ip -n lab.three-networks.node.node-1 link add veth3ca810a8 address 02:b9:52:38:fe:30 mtu 1500 master cni0 up type veth peer name eth0 address 02:ac:d9:0b:8b:d3 mtu 1500 netns lab.three-networks.pod.coredns
ip -n lab.three-networks.node.node-1 link set veth3ca810a8 type bridge_slave hairpin on

# lab.three-networks.pod.coredns
ip -n lab.three-networks.pod.coredns addr add 10.244.1.4/24 brd + dev eth0
ip -n lab.three-networks.pod.coredns link set eth0 addrgenmode none
ip -n lab.three-networks.pod.coredns link set eth0 up
ip -n lab.three-networks.pod.coredns route add default via 10.244.1.1 dev eth0

# lab.three-networks.node.node-1
ip -n lab.three-networks.node.node-1 route add default via 192.168.1.1 dev eth0

# lab.three-networks.node.node-2
ip -n lab.three-networks.node.node-2 route add default via 192.168.1.1 dev eth0

# lab.three-networks.node.node-3
ip -n lab.three-networks.node.node-3 route add default via 172.16.0.1 dev eth0

# lab.three-networks.node.node-4
ip -n lab.three-networks.node.node-4 route add default via 10.10.0.1 dev eth0

# lab.three-networks.host.laptop
ip -n lab.three-networks.host.laptop route add default via 172.16.0.1 dev eth0

# lab.three-networks.node.node-1
ip -n lab.three-networks.node.node-1 route add 10.244.2.0/24 via 192.168.1.3 dev eth0
ip -n lab.three-networks.node.node-1 route add 10.244.3.0/24 via 192.168.1.1 dev eth0
ip -n lab.three-networks.node.node-1 route add 10.244.4.0/24 via 192.168.1.1 dev eth0

# lab.three-networks.node.node-2
ip -n lab.three-networks.node.node-2 route add 10.244.1.0/24 via 192.168.1.2 dev eth0
ip -n lab.three-networks.node.node-2 route add 10.244.3.0/24 via 192.168.1.1 dev eth0
ip -n lab.three-networks.node.node-2 route add 10.244.4.0/24 via 192.168.1.1 dev eth0

# lab.three-networks.node.node-3
ip -n lab.three-networks.node.node-3 route add 10.244.1.0/24 via 172.16.0.1 dev eth0
ip -n lab.three-networks.node.node-3 route add 10.244.2.0/24 via 172.16.0.1 dev eth0
ip -n lab.three-networks.node.node-3 route add 10.244.4.0/24 via 172.16.0.1 dev eth0

# lab.three-networks.node.node-4
ip -n lab.three-networks.node.node-4 route add 10.244.1.0/24 via 10.10.0.1 dev eth0
ip -n lab.three-networks.node.node-4 route add 10.244.2.0/24 via 10.10.0.1 dev eth0
ip -n lab.three-networks.node.node-4 route add 10.244.3.0/24 via 10.10.0.1 dev eth0

# lab.three-networks.fabric
ip -n lab.three-networks.fabric route add 10.244.1.0/24 via 192.168.1.2 dev br-rack-1
ip -n lab.three-networks.fabric route add 10.244.2.0/24 via 192.168.1.3 dev br-rack-1
ip -n lab.three-networks.fabric route add 10.244.3.0/24 via 172.16.0.2 dev br-rack-2
ip -n lab.three-networks.fabric route add 10.244.4.0/24 via 10.10.0.2 dev br-rack-3

# lab.three-networks.node.node-1
ip netns exec lab.three-networks.node.node-1 iptables-restore -w 5 --noflush /dev/stdin <<'RULES'
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
:KUBE-SEP-222YD7DQOUNKFRLL - [0:0]
:KUBE-SVC-ERIFXISQEP7F7OF4 - [0:0]
:KUBE-SEP-5BME6LXGYWTVD5D3 - [0:0]
:KUBE-SVC-JD5MR3NA4I4DYORP - [0:0]
:KUBE-SEP-NG3JZDJDUTWZSDOR - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
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

# lab.three-networks.node.node-2
ip netns exec lab.three-networks.node.node-2 iptables-restore -w 5 --noflush /dev/stdin <<'RULES'
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
:KUBE-SEP-222YD7DQOUNKFRLL - [0:0]
:KUBE-SVC-ERIFXISQEP7F7OF4 - [0:0]
:KUBE-SEP-5BME6LXGYWTVD5D3 - [0:0]
:KUBE-SVC-JD5MR3NA4I4DYORP - [0:0]
:KUBE-SEP-NG3JZDJDUTWZSDOR - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
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

# lab.three-networks.node.node-3
ip netns exec lab.three-networks.node.node-3 iptables-restore -w 5 --noflush /dev/stdin <<'RULES'
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
:KUBE-SEP-222YD7DQOUNKFRLL - [0:0]
:KUBE-SVC-ERIFXISQEP7F7OF4 - [0:0]
:KUBE-SEP-5BME6LXGYWTVD5D3 - [0:0]
:KUBE-SVC-JD5MR3NA4I4DYORP - [0:0]
:KUBE-SEP-NG3JZDJDUTWZSDOR - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
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

# lab.three-networks.node.node-4
ip netns exec lab.three-networks.node.node-4 iptables-restore -w 5 --noflush /dev/stdin <<'RULES'
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
:KUBE-SEP-222YD7DQOUNKFRLL - [0:0]
:KUBE-SVC-ERIFXISQEP7F7OF4 - [0:0]
:KUBE-SEP-5BME6LXGYWTVD5D3 - [0:0]
:KUBE-SVC-JD5MR3NA4I4DYORP - [0:0]
:KUBE-SEP-NG3JZDJDUTWZSDOR - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
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
