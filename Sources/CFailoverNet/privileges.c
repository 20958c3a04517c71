#define _GNU_SOURCE
#include "CFailoverNet.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The capability sets of this process (version 3: 64 bits). */
static int get_caps(uint64_t *effective, uint64_t *permitted, uint64_t *inheritable) {
    struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));
    if (syscall(SYS_capget, &header, data) != 0) return -1;
    *effective = (uint64_t)data[1].effective << 32 | data[0].effective;
    *permitted = (uint64_t)data[1].permitted << 32 | data[0].permitted;
    *inheritable = (uint64_t)data[1].inheritable << 32 | data[0].inheritable;
    return 0;
}

static int set_caps(uint64_t effective, uint64_t permitted, uint64_t inheritable) {
    struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2];
    data[0].effective = (uint32_t)effective;
    data[1].effective = (uint32_t)(effective >> 32);
    data[0].permitted = (uint32_t)permitted;
    data[1].permitted = (uint32_t)(permitted >> 32);
    data[0].inheritable = (uint32_t)inheritable;
    data[1].inheritable = (uint32_t)(inheritable >> 32);
    return (int)syscall(SYS_capset, &header, data);
}

int fa_effective_capabilities(uint64_t *effective) {
    uint64_t permitted, inheritable;
    return get_caps(effective, &permitted, &inheritable) == 0 ? 0 : -errno;
}

int fa_drop_privileges(const char *user, uint64_t keep, char *error, size_t error_length) {
    uint64_t effective, permitted, inheritable;
    if (get_caps(&effective, &permitted, &inheritable) != 0) {
        snprintf(error, error_length, "capget: %s", strerror(errno));
        return -1;
    }
    keep &= permitted;
    if (user != NULL && user[0] != '\0') {
        struct passwd *entry = getpwnam(user);
        if (entry == NULL) {
            snprintf(error, error_length, "no user '%s' on this host", user);
            return -1;
        }
        if (entry->pw_uid != getuid() || entry->pw_uid != geteuid()) {
            /* Keep the permitted set across the uid change (a change away from uid 0 clears it otherwise). */
            if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
                snprintf(error, error_length, "prctl(PR_SET_KEEPCAPS): %s", strerror(errno));
                return -1;
            }
            if (initgroups(user, entry->pw_gid) != 0 || setgid(entry->pw_gid) != 0) {
                snprintf(error, error_length, "cannot take the groups of '%s': %s (needs CAP_SETGID)", user,
                         strerror(errno));
                return -1;
            }
            if (setuid(entry->pw_uid) != 0) {
                snprintf(error, error_length, "cannot become '%s': %s (needs CAP_SETUID)", user, strerror(errno));
                return -1;
            }
            prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
        } else if (setgid(entry->pw_gid) != 0 && errno != EPERM) {
            snprintf(error, error_length, "setgid: %s", strerror(errno));
            return -1;
        }
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
        snprintf(error, error_length, "cannot clear the ambient capabilities: %s", strerror(errno));
        return -1;
    }
    if (set_caps(keep, keep, keep) != 0) {
        snprintf(error, error_length, "capset: %s", strerror(errno));
        return -1;
    }
    for (int bit = 0; bit < 64; bit++) {
        if ((keep >> bit) & 1) {
            if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, bit, 0, 0) != 0) {
                snprintf(error, error_length, "cannot keep capability %d across exec: %s", bit, strerror(errno));
                return -1;
            }
        }
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        snprintf(error, error_length, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
        return -1;
    }
    return 0;
}
