#define _GNU_SOURCE
#include "CFailoverNet.h"

#include <errno.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* rtnetlink for the VIP: the socket is opened once at start, so adding or removing an address needs no new
   descriptor (and no `ip` process). One request at a time (a mutex): each waits for its own answer. */

static pthread_mutex_t rtnl_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t rtnl_sequence = 1;

int fa_rtnl_open(void) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return -errno;
    struct sockaddr_nl local = { .nl_family = AF_NETLINK };
    if (bind(fd, (struct sockaddr *)&local, sizeof(local)) != 0) {
        int saved = errno;
        close(fd);
        return -saved;
    }
    /* The kernel answers at once; a bound wait keeps a lost answer from blocking the caller forever. */
    struct timeval timeout = { .tv_sec = 2, .tv_usec = 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    int one = 1;
    setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
    return fd;
}

struct request {
    struct nlmsghdr header;
    union {
        struct ifaddrmsg address;
        struct ifinfomsg link;
    } body;
    char attributes[256];
};

static void add_attribute(struct nlmsghdr *header, size_t capacity, int type, const void *data, size_t length) {
    size_t size = RTA_LENGTH(length);
    if (NLMSG_ALIGN(header->nlmsg_len) + RTA_ALIGN(size) > capacity) return;
    struct rtattr *attribute = (struct rtattr *)((char *)header + NLMSG_ALIGN(header->nlmsg_len));
    attribute->rta_type = (unsigned short)type;
    attribute->rta_len = (unsigned short)size;
    memcpy(RTA_DATA(attribute), data, length);
    header->nlmsg_len = (uint32_t)(NLMSG_ALIGN(header->nlmsg_len) + RTA_ALIGN(size));
}

static int send_request(int fd, struct nlmsghdr *header) {
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    header->nlmsg_seq = rtnl_sequence++;
    if (sendto(fd, header, header->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) return -errno;
    return 0;
}

/* Reads answers to `sequence` until its ACK/error (or the dump's end); `each` sees every other message. */
static int receive(int fd, uint32_t sequence, int (*each)(struct nlmsghdr *, void *), void *context) {
    char buffer[32768];
    for (int reads = 0; reads < 1024; reads++) {
        ssize_t count = recv(fd, buffer, sizeof(buffer), 0);
        if (count < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        for (struct nlmsghdr *header = (struct nlmsghdr *)buffer; NLMSG_OK(header, (unsigned int)count);
             header = NLMSG_NEXT(header, count)) {
            if (header->nlmsg_seq != sequence) continue; /* an answer to an earlier, timed-out request */
            if (header->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *error = NLMSG_DATA(header);
                return error->error; /* 0 (ACK) or -errno */
            }
            if (header->nlmsg_type == NLMSG_DONE) return 0;
            if (each != NULL) {
                int result = each(header, context);
                if (result != 0) return result;
            }
        }
    }
    return -EIO;
}

static int link_index_of(struct nlmsghdr *header, void *context) {
    if (header->nlmsg_type != RTM_NEWLINK) return 0;
    struct ifinfomsg *link = NLMSG_DATA(header);
    *(int *)context = link->ifi_index;
    return 0;
}

/* The interface's index, asked over the same socket (if_nametoindex would open a socket of its own). */
static int interface_index(int fd, const char *name) {
    size_t length = strnlen(name, IFNAMSIZ);
    if (length == 0 || length >= IFNAMSIZ) return -ENODEV;
    struct request request;
    memset(&request, 0, sizeof(request));
    request.header.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    request.header.nlmsg_type = RTM_GETLINK;
    /* With NLM_F_ACK the link is followed by an ACK, which ends the wait (without it the wait would run to
       the receive timeout). */
    request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    request.body.link.ifi_family = AF_UNSPEC;
    add_attribute(&request.header, sizeof(request), IFLA_IFNAME, name, length + 1);
    int sent = send_request(fd, &request.header);
    if (sent != 0) return sent;
    int index = 0;
    int result = receive(fd, request.header.nlmsg_seq, link_index_of, &index);
    if (result < 0) return result;
    return index > 0 ? index : -ENODEV;
}

int fa_rtnl_address(int fd, int add, int family, const uint8_t *address, int prefix, const char *ifname) {
    if (family != AF_INET && family != AF_INET6) return -EAFNOSUPPORT;
    pthread_mutex_lock(&rtnl_lock);
    int index = interface_index(fd, ifname);
    if (index < 0) {
        pthread_mutex_unlock(&rtnl_lock);
        return index;
    }
    struct request request;
    memset(&request, 0, sizeof(request));
    request.header.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
    request.header.nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
    request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
    request.body.address.ifa_family = (unsigned char)family;
    request.body.address.ifa_prefixlen = (unsigned char)prefix;
    request.body.address.ifa_scope = RT_SCOPE_UNIVERSE;
    request.body.address.ifa_index = (unsigned int)index;
    size_t length = family == AF_INET ? 4 : 16;
    /* As `ip addr add`: IFA_LOCAL and IFA_ADDRESS both the address; IPv6 without duplicate address detection
       (a VIP moving between nodes is expected to be seen twice for a moment). */
    add_attribute(&request.header, sizeof(request), IFA_LOCAL, address, length);
    add_attribute(&request.header, sizeof(request), IFA_ADDRESS, address, length);
    if (family == AF_INET6 && add) {
        uint32_t flags = IFA_F_NODAD;
        request.body.address.ifa_flags = IFA_F_NODAD;
        add_attribute(&request.header, sizeof(request), IFA_FLAGS, &flags, sizeof(flags));
    }
    int result = send_request(fd, &request.header);
    if (result == 0) result = receive(fd, request.header.nlmsg_seq, NULL, NULL);
    pthread_mutex_unlock(&rtnl_lock);
    return result;
}

struct listing {
    int index;
    uint8_t *out;
    int capacity;
    int count;
};

static int collect_address(struct nlmsghdr *header, void *context) {
    struct listing *listing = context;
    if (header->nlmsg_type != RTM_NEWADDR) return 0;
    struct ifaddrmsg *address = NLMSG_DATA(header);
    if ((int)address->ifa_index != listing->index) return 0;
    if (address->ifa_family != AF_INET && address->ifa_family != AF_INET6) return 0;
    size_t length = address->ifa_family == AF_INET ? 4 : 16;
    const void *local = NULL;
    const void *peer = NULL;
    int remaining = (int)IFA_PAYLOAD(header);
    for (struct rtattr *attribute = IFA_RTA(address); RTA_OK(attribute, remaining);
         attribute = RTA_NEXT(attribute, remaining)) {
        if (RTA_PAYLOAD(attribute) < length) continue;
        if (attribute->rta_type == IFA_LOCAL) local = RTA_DATA(attribute);
        if (attribute->rta_type == IFA_ADDRESS) peer = RTA_DATA(attribute);
    }
    const void *chosen = local != NULL ? local : peer;
    if (chosen == NULL || listing->count >= listing->capacity) return 0;
    uint8_t *entry = listing->out + 18 * listing->count;
    memset(entry, 0, 18);
    entry[0] = address->ifa_family == AF_INET ? 4 : 6;
    entry[1] = address->ifa_prefixlen;
    memcpy(entry + 2, chosen, length);
    listing->count++;
    return 0;
}

int fa_rtnl_list(int fd, const char *ifname, uint8_t *out, int capacity) {
    pthread_mutex_lock(&rtnl_lock);
    int index = interface_index(fd, ifname);
    if (index < 0) {
        pthread_mutex_unlock(&rtnl_lock);
        return index;
    }
    struct request request;
    memset(&request, 0, sizeof(request));
    request.header.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
    request.header.nlmsg_type = RTM_GETADDR;
    request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    request.body.address.ifa_family = AF_UNSPEC;
    struct listing listing = { .index = index, .out = out, .capacity = capacity, .count = 0 };
    int result = send_request(fd, &request.header);
    if (result == 0) result = receive(fd, request.header.nlmsg_seq, collect_address, &listing);
    pthread_mutex_unlock(&rtnl_lock);
    return result < 0 ? result : listing.count;
}
