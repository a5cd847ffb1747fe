/* Diagnostics on stderr, filtered by MX_LOG_LEVEL: each line "mondux: <message>". The level is set
 * once at start-up, before any thread starts; mx_log is thread-safe after that (one write per
 * line, so lines of different threads do not interleave). */
#ifndef MONDUX_LOG_H
#define MONDUX_LOG_H

/* In increasing severity; a level shows its own lines and those of every level after it.
 * MX_LOG_ALWAYS is no level to choose: it marks the few lines every level shows (the one that says
 * where the server listens, which supervisors and scripts wait for). */
enum mx_log_level { MX_LOG_DEBUG, MX_LOG_INFO, MX_LOG_WARN, MX_LOG_ERROR, MX_LOG_ALWAYS };

/* Until called, the level is MX_LOG_INFO. level is one of the first four. */
void mx_log_set_level(enum mx_log_level level);

/* 1 when lines of level are shown. */
int mx_log_enabled(enum mx_log_level level);

/* The level named "debug", "info", "warn" or "error": 1 and *out; 0 for anything else. */
int mx_log_level_parse(const char *name, enum mx_log_level *out);

/* One line at level, printf-style; a trailing newline in the message is not doubled. */
void mx_log(enum mx_log_level level, const char *format, ...) __attribute__((format(printf, 2, 3)));

#endif
