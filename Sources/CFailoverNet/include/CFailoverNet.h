#ifndef CFAILOVERNET_H
#define CFAILOVERNET_H

#include <stdint.h>
#include <sys/types.h>

/// Sends one gratuitous ARP request for `ip` (4 bytes, network order) out of `ifname`, from the interface's
/// MAC address, so that neighbours update their ARP cache at once. Returns 0 or -errno.
int fa_send_gratuitous_arp(const char *ifname, const uint8_t ip[4]);

/// Sends one unsolicited neighbour advertisement (override flag, target link-layer address option) for `ip`
/// (16 bytes) to ff02::1 out of `ifname`, with `ip` as the source. Returns 0 or -errno.
int fa_send_unsolicited_na(const char *ifname, const uint8_t ip[16]);

/// Reads the MAC address of `ifname` into `mac` (6 bytes). Returns 0 or -errno.
int fa_interface_mac(const char *ifname, uint8_t mac[6]);

/// The credentials of the process at the other end of a connected Unix socket (SO_PEERCRED).
/// Returns 0 or -errno.
int fa_peer_credentials(int fd, uint32_t *uid, uint32_t *gid, int32_t *pid);

/// Receives one datagram from a Unix socket with SO_PASSCRED set, with the sender's process id (0 if none).
/// Returns the byte count, or -1 with errno (EAGAIN when nothing is waiting).
ssize_t fa_recv_with_sender(int fd, void *buffer, size_t length, int32_t *pid);

/// Whether `uid` is root or a member (primary or supplementary) of the group named `group`.
/// Returns 1 (yes), 0 (no) or -errno.
int fa_user_in_group(uint32_t uid, uint32_t gid, const char *group);

/// Sends one ICMP echo request to `ip` (4 bytes) and waits up to `timeout_ms` for the reply. Uses an
/// unprivileged ICMP datagram socket when allowed, else a raw socket. Blocking: call it off the event loops.
/// Returns 0 (answered) or -errno (-ETIMEDOUT when no answer).
int fa_icmp_echo(const uint8_t ip[4], int timeout_ms, uint16_t identifier, uint16_t sequence);

/// Layout of Linux's `struct ucred`, for reading SO_PEERCRED through a socket-option API.
struct fa_ucred {
    int32_t pid;
    uint32_t uid;
    uint32_t gid;
};

/// Monotonic clock (CLOCK_MONOTONIC) in nanoseconds.
int64_t fa_monotonic_nanoseconds(void);

/// Wall clock (CLOCK_REALTIME) in nanoseconds since 1970.
int64_t fa_wall_nanoseconds(void);

/// Pins the calling thread to CPU `cpu` (sched_setaffinity). Returns 0 or -errno.
int fa_pin_current_thread(int cpu);

/// Drops this process's privileges before it executes something less trusted: becomes `user` (with its
/// groups) when given and different, keeps only the capabilities in `keep` (bit n = capability n, limited to
/// what is permitted) as effective, permitted, inheritable and ambient (so they survive exec), clears every
/// other ambient capability and sets no_new_privs. Returns 0, or -1 with the reason in `error`.
int fa_drop_privileges(const char *user, uint64_t keep, char *error, size_t error_length);

/// Opens a NETLINK_ROUTE socket for ``fa_rtnl_address`` and ``fa_rtnl_list`` (once, at start: an address
/// change then needs no new descriptor and no `ip` process). Returns the descriptor or -errno.
int fa_rtnl_open(void);

/// Adds (`add` 1) or removes an address (`family` AF_INET with 4 bytes, AF_INET6 with 16) with its prefix on
/// the interface `ifname`, as `ip addr add|del` does (IPv6 added without DAD). Returns 0 or -errno: -EEXIST
/// when it is already there, -EADDRNOTAVAIL when it is not there to remove, -ENODEV without the interface.
int fa_rtnl_address(int fd, int add, int family, const uint8_t *address, int prefix, const char *ifname);

/// Lists the IPv4 and IPv6 addresses on `ifname`: up to `capacity` entries of 18 bytes each (version 4 or 6,
/// prefix length, 16 address bytes, an IPv4 address in the first 4). Returns the count or -errno.
int fa_rtnl_list(int fd, const char *ifname, uint8_t *out, int capacity);

/// The effective capability set of this process (bit n = capability n). Returns 0 or -errno.
int fa_effective_capabilities(uint64_t *effective);

#endif
