/* The process_* figures of /metrics, as Prometheus's own client libraries read them on Linux:
 * /proc/self/stat for memory and the start time, /proc/stat for the boot time that start time
 * counts from, /proc/self/fd for the open descriptors; CPU time and the descriptor limit from
 * POSIX calls. */
#include "mondux/platform.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static int64_t cpu_us(void) {
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0)
        return -1;
    return ((int64_t)usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000 +
           usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
}

static int64_t max_fds(void) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
        return -1;
    return (int64_t)limit.rlim_cur;
}

/* Every entry of /proc/self/fd but the one this reading itself opened. */
static int64_t open_fds(void) {
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL)
        return -1;
    int64_t count = 0;
    const struct dirent *entry;
    while ((entry = readdir(dir)) != NULL)
        if (entry->d_name[0] != '.' && atoi(entry->d_name) != dirfd(dir))
            count++;
    closedir(dir);
    return count;
}

/* The "btime" line of /proc/stat: when the system booted, in seconds since the epoch. */
static long long boot_time(void) {
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long long seconds = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "btime %lld", &seconds) == 1)
            break;
    fclose(f);
    return seconds;
}

/* /proc/self/stat (proc(5)): the command name in field 2 may hold spaces and parentheses, so the
 * fields are counted from the last ')'. After it, fields 3 to 21 are skipped (as words, so no
 * value of theirs can overflow a conversion), then starttime (22, clock ticks after boot), vsize
 * (23, bytes), rss (24, pages). */
static void from_stat(struct mx_metrics_process *out) {
    FILE *f = fopen("/proc/self/stat", "r");
    if (f == NULL)
        return;
    char text[1024];
    size_t length = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[length] = '\0';
    const char *fields = strrchr(text, ')');
    unsigned long long start_ticks, vsize;
    long long rss_pages;
    if (fields == NULL ||
        sscanf(fields + 1,
               " %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
               "%llu %llu %lld",
               &start_ticks, &vsize, &rss_pages) != 3)
        return;
    long page_size = sysconf(_SC_PAGESIZE), ticks_per_second = sysconf(_SC_CLK_TCK);
    out->virtual_bytes = (int64_t)vsize;
    if (page_size > 0 && rss_pages >= 0)
        out->resident_bytes = rss_pages * page_size;
    long long boot = boot_time();
    if (boot >= 0 && ticks_per_second > 0)
        out->start_time_us =
            boot * 1000000 +
            (int64_t)(start_ticks / (unsigned long long)ticks_per_second) * 1000000 +
            (int64_t)(start_ticks % (unsigned long long)ticks_per_second) * 1000000 /
                ticks_per_second;
}

void mx_platform_process(struct mx_metrics_process *out) {
    out->resident_bytes = out->virtual_bytes = out->start_time_us = -1;
    from_stat(out);
    out->cpu_us = cpu_us();
    out->open_fds = open_fds();
    out->max_fds = max_fds();
}
