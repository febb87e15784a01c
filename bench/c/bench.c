/*
 * Single-thread cost of reading the cached token through the C ABI:
 *   - cortiauth_manager_get_token_buf into a caller buffer (no allocation),
 *   - cortiauth_manager_get_token + cortiauth_string_free (one allocation).
 * Needs a token endpoint: CORTI_CLIENT_ID, CORTI_CLIENT_SECRET, CORTI_TOKEN_URL
 * (bench/c/run.sh points them at the loopback Keycloak's 300 s client).
 *
 *   bench [iterations]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cortiauth.h>

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void die(const char *what, cortiauth_status st, cortiauth_error *err) {
    fprintf(stderr, "%s: %s: %s\n", what, cortiauth_status_str(st),
            err ? cortiauth_error_message(err) : "");
    exit(1);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define ROUNDS 7

int main(int argc, char **argv) {
    long iterations = argc > 1 ? atol(argv[1]) : 2000000;
    cortiauth_manager *m = NULL;
    cortiauth_error *err = NULL;
    cortiauth_status st = cortiauth_manager_from_env(&m, &err);
    if (st != CORTIAUTH_STATUS_OK) die("manager", st, err);

    static char buf[4096];
    st = cortiauth_manager_get_token_buf(m, buf, sizeof buf, NULL, NULL, &err);
    if (st != CORTIAUTH_STATUS_OK) die("first token", st, err);
    size_t len = strlen(buf);

    double buf_ns[ROUNDS], alloc_ns[ROUNDS];
    unsigned long checksum = 0;
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now_ns();
        for (long i = 0; i < iterations; i++) {
            st = cortiauth_manager_get_token_buf(m, buf, sizeof buf, NULL, NULL, NULL);
            if (st != CORTIAUTH_STATUS_OK) die("get_token_buf", st, NULL);
            checksum += (unsigned char)buf[i % (long)len];
        }
        buf_ns[r] = (now_ns() - t0) / (double)iterations;

        long n = iterations / 4;
        t0 = now_ns();
        for (long i = 0; i < n; i++) {
            char *token = NULL;
            st = cortiauth_manager_get_token(m, &token, NULL, NULL);
            if (st != CORTIAUTH_STATUS_OK) die("get_token", st, NULL);
            checksum += (unsigned char)token[i % (long)len];
            cortiauth_string_free(token);
        }
        alloc_ns[r] = (now_ns() - t0) / (double)n;
    }

    cortiauth_stats s;
    cortiauth_manager_stats(m, &s);
    qsort(buf_ns, ROUNDS, sizeof(double), cmp_double);
    qsort(alloc_ns, ROUNDS, sizeof(double), cmp_double);
    printf("token of %zu bytes, %d rounds, %lu token request(s) in all (checksum %lu)\n", len,
           ROUNDS, (unsigned long)s.token_requests, checksum % 10);
    printf("get_token_buf (cached, caller buffer): median %6.1f ns/call, best %6.1f (%ld calls/round)\n",
           buf_ns[ROUNDS / 2], buf_ns[0], iterations);
    printf("get_token + string_free (cached):      median %6.1f ns/call, best %6.1f (%ld calls/round)\n",
           alloc_ns[ROUNDS / 2], alloc_ns[0], iterations / 4);
    cortiauth_manager_free(m);
    return s.token_requests == 1 ? 0 : 1;
}
