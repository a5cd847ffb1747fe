/* A stand-in for libFuzzer's main, for compilers without libFuzzer (gcc): runs
 * LLVMFuzzerTestOneInput once on every file named, or on every file in every directory named, so
 * that the seed corpus (with every crash ever found added to it) is a regression test in CTest.
 *
 *   fuzz_<target> tests/fuzz/corpus/<target> [more files or directories]
 *
 * Each input is copied into a buffer of exactly its size, as libFuzzer does, so that a read past
 * the end is an AddressSanitizer error here too. Exit status 0 when every input ran (a failed
 * property aborts), 1 when an argument cannot be read or names no input at all. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target, as with libFuzzer. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        perror(path);
        return 0;
    }
    uint8_t *data = NULL;
    size_t size = 0;
    int ok = fseek(file, 0, SEEK_END) == 0;
    long end = ok ? ftell(file) : -1;
    ok = end >= 0 && fseek(file, 0, SEEK_SET) == 0;
    if (ok) {
        size = (size_t)end;
        /* malloc(0) may return NULL; libFuzzer hands an empty input as a valid pointer too. */
        data = malloc(size > 0 ? size : 1);
        ok = data != NULL && fread(data, 1, size, file) == size;
    }
    fclose(file);
    if (!ok) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        free(data);
        return 0;
    }
    /* Named first, so that a failing input is known by its file. */
    fprintf(stderr, "replay: %s\n", path);
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    return 1;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Runs every regular file of dir, in name order (so that a run is the same every time). Returns
 * the number run, or -1 on an error. */
static long run_dir(const char *dir) {
    DIR *stream = opendir(dir);
    if (stream == NULL) {
        perror(dir);
        return -1;
    }
    char **paths = NULL;
    size_t count = 0, capacity = 0;
    long result = 0;
    struct dirent *entry;
    while ((entry = readdir(stream)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        if (count == capacity) {
            capacity = capacity > 0 ? capacity * 2 : 64;
            paths = realloc(paths, capacity * sizeof *paths);
        }
        size_t length = strlen(dir) + strlen(entry->d_name) + 2;
        char *path = malloc(length);
        if (paths == NULL || path == NULL) {
            fprintf(stderr, "replay: out of memory\n");
            exit(1);
        }
        snprintf(path, length, "%s/%s", dir, entry->d_name);
        struct stat info;
        if (stat(path, &info) == 0 && S_ISREG(info.st_mode))
            paths[count++] = path;
        else
            free(path);
    }
    closedir(stream);
    if (count > 0)
        qsort(paths, count, sizeof *paths, by_name);
    for (size_t i = 0; i < count; i++) {
        if (result >= 0 && !run_file(paths[i]))
            result = -1;
        else if (result >= 0)
            result++;
        free(paths[i]);
    }
    free(paths);
    return result;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS-DIR-OR-FILE...\n", argv[0]);
        return 1;
    }
    if (LLVMFuzzerInitialize != NULL)
        LLVMFuzzerInitialize(&argc, &argv);
    long total = 0;
    for (int i = 1; i < argc; i++) {
        struct stat info;
        if (stat(argv[i], &info) != 0) {
            perror(argv[i]);
            return 1;
        }
        long ran = S_ISDIR(info.st_mode) ? run_dir(argv[i]) : run_file(argv[i]);
        if (ran < 0)
            return 1;
        total += ran;
    }
    if (total == 0) {
        fprintf(stderr, "replay: no input found\n");
        return 1;
    }
    printf("replay: %ld inputs ran\n", total);
    return 0;
}
