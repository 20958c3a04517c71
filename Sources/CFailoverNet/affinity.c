#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>

#include "CFailoverNet.h"

int fa_pin_current_thread(int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) {
        return -EINVAL;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    // pid 0: the calling thread (Linux applies affinity per thread).
    return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : -errno;
}
