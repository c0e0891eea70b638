#ifndef LAB_CMNL_SHIM_H
#define LAB_CMNL_SHIM_H
/* glibc's socket and in.h first: linux/libc-compat.h then leaves out the uapi copies of the
   same structs (in6_addr, sockaddr_in6, …), which Swift would otherwise see defined twice. */
#include <sys/socket.h>
#include <netinet/in.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/if_bridge.h>
#include <linux/if_ether.h>
#include <linux/veth.h>
#include <linux/neighbour.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/sched.h> /* CLONE_NEW*: glibc only declares them with _GNU_SOURCE */
/* No <net/if.h>: it redefines linux/if.h's IFF_* enumerators. */
#include <sys/syscall.h>
#include <unistd.h>

/* Swift's Glibc module is built without _GNU_SOURCE, so setns(2) and unshare(2) are not
   visible to Swift. These wrappers call the system calls directly; errno is set as usual. */
static inline int lab_setns(int fd, int nstype) { return (int)syscall(SYS_setns, fd, nstype); }
static inline int lab_unshare(int flags) { return (int)syscall(SYS_unshare, flags); }

/* The receive buffer size. libmnl's MNL_SOCKET_BUFFER_SIZE is a macro calling getpagesize(),
   which Swift cannot import, and a page is smaller than a dump part can be: the kernel caps a
   part at 32 KiB minus skb overhead, so a buffer this size never truncates a reply. */
static const unsigned int lab_netlink_receive_buffer_size = 32768;
#endif
