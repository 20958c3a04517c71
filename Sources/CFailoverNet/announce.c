#define _GNU_SOURCE
#include "CFailoverNet.h"

#include <errno.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int fa_interface_mac(const char *ifname, uint8_t mac[6]) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct ifreq request;
    memset(&request, 0, sizeof(request));
    strncpy(request.ifr_name, ifname, IFNAMSIZ - 1);
    int result = ioctl(fd, SIOCGIFHWADDR, &request);
    int saved = errno;
    close(fd);
    if (result < 0) return -saved;
    memcpy(mac, request.ifr_hwaddr.sa_data, 6);
    return 0;
}

/* The interface's index and MAC address. Returns 0 or -errno. */
static int interface_info(const char *ifname, unsigned int *index, uint8_t mac[6]) {
    *index = if_nametoindex(ifname);
    if (*index == 0) return -errno;
    return fa_interface_mac(ifname, mac);
}

int fa_send_gratuitous_arp(const char *ifname, const uint8_t ip[4]) {
    unsigned int index;
    uint8_t mac[6];
    int status = interface_info(ifname, &index, mac);
    if (status < 0) return status;

    uint8_t frame[42];
    memset(frame, 0xff, 6);               /* destination: broadcast */
    memcpy(frame + 6, mac, 6);            /* source */
    frame[12] = 0x08; frame[13] = 0x06;   /* ethertype ARP */
    uint8_t *arp = frame + 14;
    arp[0] = 0x00; arp[1] = 0x01;         /* hardware: Ethernet */
    arp[2] = 0x08; arp[3] = 0x00;         /* protocol: IPv4 */
    arp[4] = 6; arp[5] = 4;
    arp[6] = 0x00; arp[7] = 0x01;         /* request: the most widely honoured gratuitous form */
    memcpy(arp + 8, mac, 6);              /* sender MAC */
    memcpy(arp + 14, ip, 4);              /* sender IP = the VIP */
    memset(arp + 18, 0x00, 6);            /* target MAC: unknown */
    memcpy(arp + 24, ip, 4);              /* target IP = the VIP */

    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ARP));
    if (fd < 0) return -errno;
    struct sockaddr_ll address;
    memset(&address, 0, sizeof(address));
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_ARP);
    address.sll_ifindex = (int)index;
    address.sll_halen = 6;
    memset(address.sll_addr, 0xff, 6);
    ssize_t sent = sendto(fd, frame, sizeof(frame), 0, (struct sockaddr *)&address, sizeof(address));
    int saved = errno;
    close(fd);
    return sent == (ssize_t)sizeof(frame) ? 0 : -(sent < 0 ? saved : EIO);
}

int fa_send_unsolicited_na(const char *ifname, const uint8_t ip[16]) {
    unsigned int index;
    uint8_t mac[6];
    int status = interface_info(ifname, &index, mac);
    if (status < 0) return status;

    uint8_t packet[32];
    memset(packet, 0, sizeof(packet));
    packet[0] = ND_NEIGHBOR_ADVERT;       /* type 136, code 0, checksum filled in by the kernel */
    packet[4] = 0x20;                     /* flags: override */
    memcpy(packet + 8, ip, 16);           /* target address */
    packet[24] = ND_OPT_TARGET_LINKADDR;  /* option 2, length 1 (8 bytes) */
    packet[25] = 1;
    memcpy(packet + 26, mac, 6);

    int fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    if (fd < 0) return -errno;
    int hops = 255;
    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops));
    setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops));
    int ifindex = (int)index;
    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex));

    struct sockaddr_in6 destination;
    memset(&destination, 0, sizeof(destination));
    destination.sin6_family = AF_INET6;
    destination.sin6_addr.s6_addr[0] = 0xff;
    destination.sin6_addr.s6_addr[1] = 0x02;
    destination.sin6_addr.s6_addr[15] = 0x01;
    destination.sin6_scope_id = index;

    struct iovec vector = { .iov_base = packet, .iov_len = sizeof(packet) };
    union {
        char buffer[CMSG_SPACE(sizeof(struct in6_pktinfo))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof(control));
    struct msghdr message;
    memset(&message, 0, sizeof(message));
    message.msg_name = &destination;
    message.msg_namelen = sizeof(destination);
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof(control.buffer);
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = IPPROTO_IPV6;
    header->cmsg_type = IPV6_PKTINFO;
    header->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
    struct in6_pktinfo *info = (struct in6_pktinfo *)CMSG_DATA(header);
    memcpy(&info->ipi6_addr, ip, 16);     /* source: the VIP itself */
    info->ipi6_ifindex = index;

    ssize_t sent = sendmsg(fd, &message, 0);
    int saved = errno;
    close(fd);
    return sent == (ssize_t)sizeof(packet) ? 0 : -(sent < 0 ? saved : EIO);
}
