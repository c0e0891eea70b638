#!/usr/bin/env bash
# lab netpol: the kernel operations of `lab up`, one command each.
# Undo with: for ns in $(ip netns list | awk '/^lab\.netpol\./{print $1}'); do ip netns delete "$ns"; done
set -euo pipefail
# Nodes set br_netfilter's bridge-nf-call-iptables; lab up loads the module the same way.
[ -e /proc/sys/net/bridge ] || modprobe br_netfilter

# namespaces
ip netns add lab.netpol.fabric
ip netns add lab.netpol.node.node-1
ip netns add lab.netpol.node.node-2
ip netns add lab.netpol.pod.api
ip netns add lab.netpol.pod.db
ip netns add lab.netpol.pod.web
ip netns add lab.netpol.pod.prometheus
ip netns add lab.netpol.pod.coredns

# sysctls
ip netns exec lab.netpol.fabric sysctl -qw net.ipv4.ip_forward=1
ip netns exec lab.netpol.fabric sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.netpol.fabric sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.netpol.fabric sysctl -qw net.ipv6.conf.default.addr_gen_mode=1
ip netns exec lab.netpol.fabric sysctl -qw net.bridge.bridge-nf-call-iptables=0
ip netns exec lab.netpol.node.node-1 sysctl -qw net.ipv4.ip_forward=1
ip netns exec lab.netpol.node.node-1 sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.netpol.node.node-1 sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.netpol.node.node-1 sysctl -qw net.ipv6.conf.default.addr_gen_mode=1
ip netns exec lab.netpol.node.node-1 sysctl -qw net.bridge.bridge-nf-call-iptables=1
ip netns exec lab.netpol.node.node-2 sysctl -qw net.ipv4.ip_forward=1
ip netns exec lab.netpol.node.node-2 sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.netpol.node.node-2 sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.netpol.node.node-2 sysctl -qw net.ipv6.conf.default.addr_gen_mode=1
ip netns exec lab.netpol.node.node-2 sysctl -qw net.bridge.bridge-nf-call-iptables=1
ip netns exec lab.netpol.pod.api sysctl -qw net.ipv4.ip_forward=0
ip netns exec lab.netpol.pod.api sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.netpol.pod.api sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.netpol.pod.db sysctl -qw net.ipv4.ip_forward=0
ip netns exec lab.netpol.pod.db sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.netpol.pod.db sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.netpol.pod.web sysctl -qw net.ipv4.ip_forward=0
ip netns exec lab.netpol.pod.web sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.netpol.pod.web sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.netpol.pod.prometheus sysctl -qw net.ipv4.ip_forward=0
ip netns exec lab.netpol.pod.prometheus sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.netpol.pod.prometheus sysctl -qw net.ipv4.conf.default.rp_filter=0
ip netns exec lab.netpol.pod.coredns sysctl -qw net.ipv4.ip_forward=0
ip netns exec lab.netpol.pod.coredns sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec lab.netpol.pod.coredns sysctl -qw net.ipv4.conf.default.rp_filter=0

# lab.netpol.fabric
ip -n lab.netpol.fabric link set lo up

# lab.netpol.node.node-1
ip -n lab.netpol.node.node-1 link set lo up

# lab.netpol.node.node-2
ip -n lab.netpol.node.node-2 link set lo up

# lab.netpol.pod.api
ip -n lab.netpol.pod.api link set lo up

# lab.netpol.pod.db
ip -n lab.netpol.pod.db link set lo up

# lab.netpol.pod.web
ip -n lab.netpol.pod.web link set lo up

# lab.netpol.pod.prometheus
ip -n lab.netpol.pod.prometheus link set lo up

# lab.netpol.pod.coredns
ip -n lab.netpol.pod.coredns link set lo up

# lab.netpol.fabric
ip -n lab.netpol.fabric link add br-underlay address 02:82:7c:c7:4c:90 mtu 1500 up type bridge
ip -n lab.netpol.fabric addr add 172.18.0.1/24 brd + dev br-underlay

# lab.netpol.node.node-1
ip -n lab.netpol.node.node-1 link add eth0 address 02:60:76:16:d9:b6 mtu 1500 up type veth peer name n-node-1 address 02:f2:b1:52:54:a7 mtu 1500 netns lab.netpol.fabric

# lab.netpol.fabric
ip -n lab.netpol.fabric link set n-node-1 master br-underlay
ip -n lab.netpol.fabric link set n-node-1 up

# lab.netpol.node.node-1
ip -n lab.netpol.node.node-1 addr add 172.18.0.2/24 brd + dev eth0
ip -n lab.netpol.node.node-1 link add cni0 address 02:c3:58:34:da:e7 mtu 1500 up type bridge
ip -n lab.netpol.node.node-1 addr add 10.244.1.1/24 brd + dev cni0

# lab.netpol.node.node-2
ip -n lab.netpol.node.node-2 link add eth0 address 02:51:1d:a9:ca:3e mtu 1500 up type veth peer name n-node-2 address 02:44:bb:81:df:b0 mtu 1500 netns lab.netpol.fabric

# lab.netpol.fabric
ip -n lab.netpol.fabric link set n-node-2 master br-underlay
ip -n lab.netpol.fabric link set n-node-2 up

# lab.netpol.node.node-2
ip -n lab.netpol.node.node-2 addr add 172.18.0.3/24 brd + dev eth0
ip -n lab.netpol.node.node-2 link add cni0 address 02:7e:4c:ac:3b:d4 mtu 1500 up type bridge
ip -n lab.netpol.node.node-2 addr add 10.244.2.1/24 brd + dev cni0

# lab.netpol.node.node-1
ip -n lab.netpol.node.node-1 link add vetheb653454 address 02:95:67:9d:b6:35 mtu 1500 master cni0 up type veth peer name eth0 address 02:d7:43:ce:ea:86 mtu 1500 netns lab.netpol.pod.api
ip -n lab.netpol.node.node-1 link set vetheb653454 type bridge_slave hairpin on

# lab.netpol.pod.api
ip -n lab.netpol.pod.api addr add 10.244.1.2/24 brd + dev eth0
ip -n lab.netpol.pod.api link set eth0 addrgenmode none
ip -n lab.netpol.pod.api link set eth0 up
ip -n lab.netpol.pod.api route add default via 10.244.1.1 dev eth0

# lab.netpol.node.node-1
ip -n lab.netpol.node.node-1 link add vethfebeab21 address 02:10:fe:f2:2e:46 mtu 1500 master cni0 up type veth peer name eth0 address 02:e3:4e:31:e0:25 mtu 1500 netns lab.netpol.pod.db
ip -n lab.netpol.node.node-1 link set vethfebeab21 type bridge_slave hairpin on

# lab.netpol.pod.db
ip -n lab.netpol.pod.db addr add 10.244.1.3/24 brd + dev eth0
ip -n lab.netpol.pod.db link set eth0 addrgenmode none
ip -n lab.netpol.pod.db link set eth0 up
ip -n lab.netpol.pod.db route add default via 10.244.1.1 dev eth0

# lab.netpol.node.node-2
ip -n lab.netpol.node.node-2 link add vethbbc64d88 address 02:70:fb:6a:8e:f3 mtu 1500 master cni0 up type veth peer name eth0 address 02:44:4f:60:1a:d5 mtu 1500 netns lab.netpol.pod.web
ip -n lab.netpol.node.node-2 link set vethbbc64d88 type bridge_slave hairpin on

# lab.netpol.pod.web
ip -n lab.netpol.pod.web addr add 10.244.2.2/24 brd + dev eth0
ip -n lab.netpol.pod.web link set eth0 addrgenmode none
ip -n lab.netpol.pod.web link set eth0 up
ip -n lab.netpol.pod.web route add default via 10.244.2.1 dev eth0

# lab.netpol.node.node-2
ip -n lab.netpol.node.node-2 link add vethf12d1852 address 02:42:5f:bc:77:80 mtu 1500 master cni0 up type veth peer name eth0 address 02:81:2a:53:25:53 mtu 1500 netns lab.netpol.pod.prometheus
ip -n lab.netpol.node.node-2 link set vethf12d1852 type bridge_slave hairpin on

# lab.netpol.pod.prometheus
ip -n lab.netpol.pod.prometheus addr add 10.244.2.3/24 brd + dev eth0
ip -n lab.netpol.pod.prometheus link set eth0 addrgenmode none
ip -n lab.netpol.pod.prometheus link set eth0 up
ip -n lab.netpol.pod.prometheus route add default via 10.244.2.1 dev eth0

# lab.netpol.node.node-1
ip -n lab.netpol.node.node-1 link add vethfd089073 address 02:61:0b:36:f7:bb mtu 1500 master cni0 up type veth peer name eth0 address 02:96:db:dd:fe:85 mtu 1500 netns lab.netpol.pod.coredns
ip -n lab.netpol.node.node-1 link set vethfd089073 type bridge_slave hairpin on

# lab.netpol.pod.coredns
ip -n lab.netpol.pod.coredns addr add 10.244.1.4/24 brd + dev eth0
ip -n lab.netpol.pod.coredns link set eth0 addrgenmode none
ip -n lab.netpol.pod.coredns link set eth0 up
ip -n lab.netpol.pod.coredns route add default via 10.244.1.1 dev eth0

# lab.netpol.node.node-1
ip -n lab.netpol.node.node-1 route add default via 172.18.0.1 dev eth0

# lab.netpol.node.node-2
ip -n lab.netpol.node.node-2 route add default via 172.18.0.1 dev eth0

# lab.netpol.node.node-1
ip -n lab.netpol.node.node-1 route add 10.244.2.0/24 via 172.18.0.3 dev eth0

# lab.netpol.node.node-2
ip -n lab.netpol.node.node-2 route add 10.244.1.0/24 via 172.18.0.2 dev eth0

# lab.netpol.fabric
ip -n lab.netpol.fabric route add 10.244.1.0/24 via 172.18.0.2 dev br-underlay
ip -n lab.netpol.fabric route add 10.244.2.0/24 via 172.18.0.3 dev br-underlay

# lab.netpol.node.node-1
ip netns exec lab.netpol.node.node-1 ipset -exist -file /dev/stdin restore <<'RULES'
create KUBE-DST-HJR7T6QRSGFQH7MK hash:ip family inet hashsize 1024 maxelem 65536
add KUBE-DST-HJR7T6QRSGFQH7MK 10.244.1.3
create KUBE-SRC-5P3PVABDO7ROPKMS hash:ip family inet hashsize 1024 maxelem 65536
add KUBE-SRC-5P3PVABDO7ROPKMS 10.244.1.2
create KUBE-DST-3V3HWFBJZ663Y5JQ hash:ip family inet hashsize 1024 maxelem 65536
add KUBE-DST-3V3HWFBJZ663Y5JQ 10.244.1.3
create KUBE-SRC-UJLFMB5GTS2JK5GI hash:ip family inet hashsize 1024 maxelem 65536
add KUBE-SRC-UJLFMB5GTS2JK5GI 10.244.2.3
create KUBE-DST-OLY5PBHNZ3P44GIP hash:ip family inet hashsize 1024 maxelem 65536
add KUBE-DST-OLY5PBHNZ3P44GIP 10.244.1.3
create KUBE-SRC-HS6NLCHMYR7AXHSU hash:ip family inet hashsize 1024 maxelem 65536
add KUBE-SRC-HS6NLCHMYR7AXHSU 10.244.1.2
create KUBE-DST-W6TINHPDJZX2OLGM hash:ip family inet hashsize 1024 maxelem 65536
add KUBE-DST-W6TINHPDJZX2OLGM 10.244.1.2
add KUBE-DST-W6TINHPDJZX2OLGM 10.244.1.3
RULES
ip netns exec lab.netpol.node.node-1 iptables-restore -w 5 --noflush /dev/stdin <<'RULES'
*filter
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-ROUTER-INPUT - [0:0]
:KUBE-ROUTER-FORWARD - [0:0]
:KUBE-ROUTER-OUTPUT - [0:0]
:KUBE-NWPLCY-COMMON - [0:0]
:KUBE-NWPLCY-DEFAULT - [0:0]
:KUBE-NWPLCY-TAIL - [0:0]
:KUBE-POD-FW-U7SXRXHXMJAKJJ2C - [0:0]
:KUBE-POD-FW-HJR7T6QRSGFQH7MK - [0:0]
:KUBE-NWPLCY-MDC4ILPULVAH6NQN - [0:0]
:KUBE-NWPLCY-M37AD3GSDHYWK5SV - [0:0]
-A INPUT -m comment --comment "kube-router netpol" -j KUBE-ROUTER-INPUT
-A FORWARD -m comment --comment "kube-router netpol" -j KUBE-ROUTER-FORWARD
-A OUTPUT -m comment --comment "kube-router netpol" -j KUBE-ROUTER-OUTPUT
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-NWPLCY-COMMON -m comment --comment "rule to drop invalid state for pod" -m conntrack --ctstate INVALID -j DROP
-A KUBE-NWPLCY-COMMON -m comment --comment "rule for stateful firewall for pod" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-NWPLCY-COMMON -p icmp -m comment --comment "allow icmp echo requests" -m icmp --icmp-type 8 -j ACCEPT
-A KUBE-NWPLCY-COMMON -p icmp -m comment --comment "allow icmp destination unreachable messages" -m icmp --icmp-type 3 -j ACCEPT
-A KUBE-NWPLCY-COMMON -p icmp -m comment --comment "allow icmp time exceeded messages" -m icmp --icmp-type 11 -j ACCEPT
-A KUBE-NWPLCY-DEFAULT -m comment --comment "rule to mark traffic matching a network policy" -j MARK --set-xmark 0x10000/0x10000
-A KUBE-NWPLCY-TAIL -m comment --comment "rule to explicitly ACCEPT traffic that comply to network policies" -m mark --mark 0x20000/0x20000 -j ACCEPT
-A KUBE-ROUTER-INPUT -d 10.96.0.0/16 -m comment --comment "allow traffic to primary cluster IP range" -j RETURN
-A KUBE-ROUTER-INPUT -p tcp -m comment --comment "allow LOCAL TCP traffic to node ports" -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN
-A KUBE-ROUTER-INPUT -p udp -m comment --comment "allow LOCAL UDP traffic to node ports" -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN
-A KUBE-ROUTER-INPUT -s 10.244.1.2/32 -m comment --comment "rule to jump traffic from POD name:api namespace: store to chain KUBE-POD-FW-U7SXRXHXMJAKJJ2C" -j KUBE-POD-FW-U7SXRXHXMJAKJJ2C
-A KUBE-ROUTER-FORWARD -d 10.244.1.2/32 -m comment --comment "rule to jump traffic destined to POD name:api namespace: store to chain KUBE-POD-FW-U7SXRXHXMJAKJJ2C" -j KUBE-POD-FW-U7SXRXHXMJAKJJ2C
-A KUBE-ROUTER-OUTPUT -d 10.244.1.2/32 -m comment --comment "rule to jump traffic destined to POD name:api namespace: store to chain KUBE-POD-FW-U7SXRXHXMJAKJJ2C" -j KUBE-POD-FW-U7SXRXHXMJAKJJ2C
-A KUBE-ROUTER-FORWARD -s 10.244.1.2/32 -m comment --comment "rule to jump traffic from POD name:api namespace: store to chain KUBE-POD-FW-U7SXRXHXMJAKJJ2C" -j KUBE-POD-FW-U7SXRXHXMJAKJJ2C
-A KUBE-ROUTER-OUTPUT -s 10.244.1.2/32 -m comment --comment "rule to jump traffic from POD name:api namespace: store to chain KUBE-POD-FW-U7SXRXHXMJAKJJ2C" -j KUBE-POD-FW-U7SXRXHXMJAKJJ2C
-A KUBE-POD-FW-U7SXRXHXMJAKJJ2C -m comment --comment "rule for stateful firewall for pod" -j KUBE-NWPLCY-COMMON
-A KUBE-POD-FW-U7SXRXHXMJAKJJ2C -s 10.244.1.2/32 -d 10.244.1.2/32 -m comment --comment "a pod's traffic to itself is not filtered" -j ACCEPT
-A KUBE-POD-FW-U7SXRXHXMJAKJJ2C -d 10.244.1.2/32 -m comment --comment "rule to permit the traffic to pods when source is the pod's local node" -m addrtype --src-type LOCAL -j ACCEPT
-A KUBE-POD-FW-U7SXRXHXMJAKJJ2C -d 10.244.1.2/32 -m comment --comment "run through default ingress network policy chain" -j KUBE-NWPLCY-DEFAULT
-A KUBE-POD-FW-U7SXRXHXMJAKJJ2C -s 10.244.1.2/32 -m comment --comment "run through nw policy api-egress egress rules" -j KUBE-NWPLCY-M37AD3GSDHYWK5SV
-A KUBE-POD-FW-U7SXRXHXMJAKJJ2C -m comment --comment "rule to REJECT traffic destined for POD name:api namespace: store" -m mark ! --mark 0x10000/0x10000 -j REJECT --reject-with icmp-port-unreachable
-A KUBE-POD-FW-U7SXRXHXMJAKJJ2C -j MARK --set-xmark 0x0/0x10000
-A KUBE-POD-FW-U7SXRXHXMJAKJJ2C -m comment --comment "set mark to ACCEPT traffic that comply to network policies" -j MARK --set-xmark 0x20000/0x20000
-A KUBE-ROUTER-INPUT -s 10.244.1.3/32 -m comment --comment "rule to jump traffic from POD name:db namespace: store to chain KUBE-POD-FW-HJR7T6QRSGFQH7MK" -j KUBE-POD-FW-HJR7T6QRSGFQH7MK
-A KUBE-ROUTER-FORWARD -d 10.244.1.3/32 -m comment --comment "rule to jump traffic destined to POD name:db namespace: store to chain KUBE-POD-FW-HJR7T6QRSGFQH7MK" -j KUBE-POD-FW-HJR7T6QRSGFQH7MK
-A KUBE-ROUTER-OUTPUT -d 10.244.1.3/32 -m comment --comment "rule to jump traffic destined to POD name:db namespace: store to chain KUBE-POD-FW-HJR7T6QRSGFQH7MK" -j KUBE-POD-FW-HJR7T6QRSGFQH7MK
-A KUBE-ROUTER-FORWARD -s 10.244.1.3/32 -m comment --comment "rule to jump traffic from POD name:db namespace: store to chain KUBE-POD-FW-HJR7T6QRSGFQH7MK" -j KUBE-POD-FW-HJR7T6QRSGFQH7MK
-A KUBE-ROUTER-OUTPUT -s 10.244.1.3/32 -m comment --comment "rule to jump traffic from POD name:db namespace: store to chain KUBE-POD-FW-HJR7T6QRSGFQH7MK" -j KUBE-POD-FW-HJR7T6QRSGFQH7MK
-A KUBE-POD-FW-HJR7T6QRSGFQH7MK -m comment --comment "rule for stateful firewall for pod" -j KUBE-NWPLCY-COMMON
-A KUBE-POD-FW-HJR7T6QRSGFQH7MK -s 10.244.1.3/32 -d 10.244.1.3/32 -m comment --comment "a pod's traffic to itself is not filtered" -j ACCEPT
-A KUBE-POD-FW-HJR7T6QRSGFQH7MK -d 10.244.1.3/32 -m comment --comment "rule to permit the traffic to pods when source is the pod's local node" -m addrtype --src-type LOCAL -j ACCEPT
-A KUBE-POD-FW-HJR7T6QRSGFQH7MK -s 10.244.1.3/32 -m comment --comment "run through default egress network policy chain" -j KUBE-NWPLCY-DEFAULT
-A KUBE-POD-FW-HJR7T6QRSGFQH7MK -d 10.244.1.3/32 -m comment --comment "run through nw policy db ingress rules" -j KUBE-NWPLCY-MDC4ILPULVAH6NQN
-A KUBE-POD-FW-HJR7T6QRSGFQH7MK -m comment --comment "rule to REJECT traffic destined for POD name:db namespace: store" -m mark ! --mark 0x10000/0x10000 -j REJECT --reject-with icmp-port-unreachable
-A KUBE-POD-FW-HJR7T6QRSGFQH7MK -j MARK --set-xmark 0x0/0x10000
-A KUBE-POD-FW-HJR7T6QRSGFQH7MK -m comment --comment "set mark to ACCEPT traffic that comply to network policies" -j MARK --set-xmark 0x20000/0x20000
-A KUBE-ROUTER-INPUT -m comment --comment "rule to explicitly ACCEPT traffic that comply to network policies" -j KUBE-NWPLCY-TAIL
-A KUBE-ROUTER-FORWARD -m comment --comment "rule to explicitly ACCEPT traffic that comply to network policies" -j KUBE-NWPLCY-TAIL
-A KUBE-ROUTER-OUTPUT -m comment --comment "rule to explicitly ACCEPT traffic that comply to network policies" -j KUBE-NWPLCY-TAIL
-A KUBE-NWPLCY-MDC4ILPULVAH6NQN -p tcp -m comment --comment "rule to ACCEPT traffic from source pods to dest pods selected by policy name db namespace store" -m set --match-set KUBE-DST-HJR7T6QRSGFQH7MK dst -m set --match-set KUBE-SRC-5P3PVABDO7ROPKMS src -m set --match-set KUBE-DST-3V3HWFBJZ663Y5JQ dst -m tcp --dport 5432 -j MARK --set-xmark 0x10000/0x10000
-A KUBE-NWPLCY-MDC4ILPULVAH6NQN -p tcp -m comment --comment "rule to ACCEPT traffic from source pods to dest pods selected by policy name db namespace store" -m set --match-set KUBE-DST-HJR7T6QRSGFQH7MK dst -m set --match-set KUBE-SRC-5P3PVABDO7ROPKMS src -m set --match-set KUBE-DST-3V3HWFBJZ663Y5JQ dst -m tcp --dport 5432 -m mark --mark 0x10000/0x10000 -j RETURN
-A KUBE-NWPLCY-MDC4ILPULVAH6NQN -p tcp -m comment --comment "rule to ACCEPT traffic from source pods to dest pods selected by policy name db namespace store" -m set --match-set KUBE-DST-HJR7T6QRSGFQH7MK dst -m set --match-set KUBE-SRC-UJLFMB5GTS2JK5GI src -m set --match-set KUBE-DST-OLY5PBHNZ3P44GIP dst -m tcp --dport 8080 -j MARK --set-xmark 0x10000/0x10000
-A KUBE-NWPLCY-MDC4ILPULVAH6NQN -p tcp -m comment --comment "rule to ACCEPT traffic from source pods to dest pods selected by policy name db namespace store" -m set --match-set KUBE-DST-HJR7T6QRSGFQH7MK dst -m set --match-set KUBE-SRC-UJLFMB5GTS2JK5GI src -m set --match-set KUBE-DST-OLY5PBHNZ3P44GIP dst -m tcp --dport 8080 -m mark --mark 0x10000/0x10000 -j RETURN
-A KUBE-NWPLCY-M37AD3GSDHYWK5SV -m comment --comment "rule to ACCEPT traffic from source pods selected by policy name api-egress namespace store to dest pods" -m set --match-set KUBE-SRC-HS6NLCHMYR7AXHSU src -m set --match-set KUBE-DST-W6TINHPDJZX2OLGM dst -j MARK --set-xmark 0x10000/0x10000
-A KUBE-NWPLCY-M37AD3GSDHYWK5SV -m comment --comment "rule to ACCEPT traffic from source pods selected by policy name api-egress namespace store to dest pods" -m set --match-set KUBE-SRC-HS6NLCHMYR7AXHSU src -m set --match-set KUBE-DST-W6TINHPDJZX2OLGM dst -m mark --mark 0x10000/0x10000 -j RETURN
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
:KUBE-SVC-UPKKHHIMWEI72IV5 - [0:0]
:KUBE-SEP-RZJYCCGEKRRRV47F - [0:0]
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
-A KUBE-SERVICES -m comment --comment "store/db:sql cluster IP" -m tcp -p tcp -d 10.96.0.1 --dport 5432 -j KUBE-SVC-UPKKHHIMWEI72IV5
-A KUBE-SVC-UPKKHHIMWEI72IV5 -m comment --comment "store/db:sql cluster IP" -m tcp -p tcp -d 10.96.0.1 --dport 5432 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-UPKKHHIMWEI72IV5 -m comment --comment "store/db:sql -> 10.244.1.3:5432" -j KUBE-SEP-RZJYCCGEKRRRV47F
-A KUBE-SEP-RZJYCCGEKRRRV47F -m comment --comment store/db:sql -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-RZJYCCGEKRRRV47F -m comment --comment store/db:sql -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:5432
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
COMMIT
RULES

# lab.netpol.node.node-2
ip netns exec lab.netpol.node.node-2 iptables-restore -w 5 --noflush /dev/stdin <<'RULES'
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
:KUBE-SVC-UPKKHHIMWEI72IV5 - [0:0]
:KUBE-SEP-RZJYCCGEKRRRV47F - [0:0]
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
-A KUBE-SERVICES -m comment --comment "store/db:sql cluster IP" -m tcp -p tcp -d 10.96.0.1 --dport 5432 -j KUBE-SVC-UPKKHHIMWEI72IV5
-A KUBE-SVC-UPKKHHIMWEI72IV5 -m comment --comment "store/db:sql cluster IP" -m tcp -p tcp -d 10.96.0.1 --dport 5432 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-UPKKHHIMWEI72IV5 -m comment --comment "store/db:sql -> 10.244.1.3:5432" -j KUBE-SEP-RZJYCCGEKRRRV47F
-A KUBE-SEP-RZJYCCGEKRRRV47F -m comment --comment store/db:sql -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-RZJYCCGEKRRRV47F -m comment --comment store/db:sql -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:5432
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
COMMIT
RULES
