#define _GNU_SOURCE
#include "CFailoverNet.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint16_t checksum(const uint8_t *data, size_t length) {
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < length; i += 2) sum += (uint32_t)(data[i] << 8 | data[i + 1]);
    if (length & 1) sum += (uint32_t)(data[length - 1] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static int64_t now_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int fa_icmp_echo(const uint8_t ip[4], int timeout_ms, uint16_t identifier, uint16_t sequence) {
    /* An unprivileged ICMP datagram socket when net.ipv4.ping_group_range allows it, else a raw socket
       (CAP_NET_RAW). */
    int raw = 0;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (fd < 0) {
        fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
        if (fd < 0) return -errno;
        raw = 1;
    }
    uint8_t packet[16];
    memset(packet, 0, sizeof(packet));
    packet[0] = ICMP_ECHO;
    packet[4] = (uint8_t)(identifier >> 8);
    packet[5] = (uint8_t)identifier;
    packet[6] = (uint8_t)(sequence >> 8);
    packet[7] = (uint8_t)sequence;
    memcpy(packet + 8, "failover", 8);
    uint16_t sum = checksum(packet, sizeof(packet));
    packet[2] = (uint8_t)(sum >> 8);
    packet[3] = (uint8_t)sum;

    struct sockaddr_in address;
    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    memcpy(&address.sin_addr, ip, 4);
    if (sendto(fd, packet, sizeof(packet), 0, (struct sockaddr *)&address, sizeof(address)) < 0) {
        int saved = errno;
        close(fd);
        return -saved;
    }
    int64_t deadline = now_ms() + timeout_ms;
    uint8_t reply[1500];
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0) break;
        struct pollfd waiting = { .fd = fd, .events = POLLIN };
        int ready = poll(&waiting, 1, (int)left);
        if (ready <= 0) break;
        struct sockaddr_in from;
        socklen_t from_length = sizeof(from);
        ssize_t length = recvfrom(fd, reply, sizeof(reply), 0, (struct sockaddr *)&from, &from_length);
        if (length <= 0) continue;
        if (memcmp(&from.sin_addr, ip, 4) != 0) continue;
        const uint8_t *icmp = reply;
        if (raw) {
            size_t header = (size_t)(reply[0] & 0x0f) * 4;
            if ((size_t)length < header + 8) continue;
            icmp = reply + header;
            length -= (ssize_t)header;
            uint16_t id = (uint16_t)(icmp[4] << 8 | icmp[5]);
            if (id != identifier) continue;
        }
        if (length < 8 || icmp[0] != ICMP_ECHOREPLY) continue;
        uint16_t seq = (uint16_t)(icmp[6] << 8 | icmp[7]);
        if (seq != sequence) continue;
        close(fd);
        return 0;
    }
    close(fd);
    return -ETIMEDOUT;
}
