#define _GNU_SOURCE
#include "CFailoverNet.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int fa_peer_credentials(int fd, uint32_t *uid, uint32_t *gid, int32_t *pid) {
    struct ucred credentials;
    socklen_t length = sizeof(credentials);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) < 0) return -errno;
    *uid = credentials.uid;
    *gid = credentials.gid;
    *pid = credentials.pid;
    return 0;
}

int fa_user_in_group(uint32_t uid, uint32_t gid, const char *group) {
    if (uid == 0) return 1;
    struct group entry;
    struct group *found = NULL;
    char buffer[16384];
    if (getgrnam_r(group, &entry, buffer, sizeof(buffer), &found) != 0) return -errno;
    if (found == NULL) return 0;
    if (found->gr_gid == gid) return 1;
    struct passwd user;
    struct passwd *user_found = NULL;
    char user_buffer[16384];
    if (getpwuid_r(uid, &user, user_buffer, sizeof(user_buffer), &user_found) != 0 || user_found == NULL) return 0;
    if (user_found->pw_gid == found->gr_gid) return 1;
    for (char **member = found->gr_mem; member != NULL && *member != NULL; member++) {
        if (strcmp(*member, user_found->pw_name) == 0) return 1;
    }
    return 0;
}

/* Receives one datagram from a Unix socket with SO_PASSCRED set, and the sender's process id (0 when the
   kernel attached none). Returns the byte count, or -1 with errno (EAGAIN when nothing is waiting). */
ssize_t fa_recv_with_sender(int fd, void *buffer, size_t length, int32_t *pid) {
    struct iovec vector = { .iov_base = buffer, .iov_len = length };
    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(struct ucred))];
    } control;
    struct msghdr message = {
        .msg_iov = &vector, .msg_iovlen = 1, .msg_control = control.bytes, .msg_controllen = sizeof(control.bytes),
    };
    *pid = 0;
    ssize_t count = recvmsg(fd, &message, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (count < 0) return -1;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_CREDENTIALS) {
            struct ucred credentials;
            memcpy(&credentials, CMSG_DATA(header), sizeof(credentials));
            *pid = credentials.pid;
        }
    }
    return count;
}
