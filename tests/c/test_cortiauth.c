/*
 * C99 tests of libcortiauth against the real authorization servers started by
 * tests/servers/with-servers.sh (Keycloak realm `base`, the Tiro-shaped server).
 *
 *   test_cortiauth NAME    run one test (what ctest does, one test per NAME)
 *   test_cortiauth         run every test in this process
 *
 * Each TEST(name) line is also read by CMakeLists.txt to register the ctest tests.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cortiauth.h>

/* ---- checks ----------------------------------------------------------------------------- */

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

/* The message of the error `*errp`, if any. */
static const char *detail(cortiauth_error **errp) {
    return errp != NULL && *errp != NULL ? cortiauth_error_message(*errp) : "(no error detail)";
}

/* `call` returns a status; on a different one, print it and the error's message. */
#define CHECK_STATUS(expected, call, errp)                                                      \
    do {                                                                                        \
        cortiauth_status got_ = (call);                                                         \
        if (got_ != (expected)) {                                                               \
            fprintf(stderr, "%s:%d: %s\n  returned %s, expected %s: %s\n", __FILE__, __LINE__, \
                    #call, cortiauth_status_str(got_), cortiauth_status_str(expected),          \
                    detail(errp));                                                              \
            exit(1);                                                                            \
        }                                                                                       \
    } while (0)

#define CHECK_OK(call, errp) CHECK_STATUS(CORTIAUTH_STATUS_OK, call, errp)

static int contains(const char *haystack, const char *needle) {
    return haystack != NULL && needle != NULL && strstr(haystack, needle) != NULL;
}

static const char *need_env(const char *name) {
    const char *v = getenv(name);
    if (v == NULL || *v == '\0') {
        fprintf(stderr, "%s is not set: run the tests through ffi/test.sh "
                        "(it starts the servers with tests/servers/with-servers.sh)\n", name);
        exit(1);
    }
    return v;
}

/* ---- fixtures --------------------------------------------------------------------------- */

/* The Keycloak `base` realm's confidential client (10 s tokens), with no retries. */
static cortiauth_config *kc_config(void) {
    cortiauth_config *c = cortiauth_config_new();
    CHECK(c != NULL);
    CHECK_OK(cortiauth_config_set_client_id(c, need_env("CORTIAUTH_KC_CLIENT_ID")), NULL);
    CHECK_OK(cortiauth_config_set_client_secret(c, need_env("CORTIAUTH_KC_CLIENT_SECRET")), NULL);
    CHECK_OK(cortiauth_config_set_token_url(c, need_env("CORTIAUTH_KC_TOKEN_URL_BASE")), NULL);
    CHECK_OK(cortiauth_config_set_max_attempts(c, 1), NULL);
    return c;
}

/* Builds a manager and frees the config. */
static cortiauth_manager *manager_of(cortiauth_config *c) {
    cortiauth_manager *m = NULL;
    cortiauth_error *err = NULL;
    CHECK_OK(cortiauth_manager_new(c, &m, &err), &err);
    CHECK(m != NULL);
    CHECK(err == NULL);
    cortiauth_config_free(c);
    return m;
}

static char *token_of(cortiauth_manager *m) {
    char *token = NULL;
    cortiauth_error *err = NULL;
    CHECK_OK(cortiauth_manager_get_token(m, &token, NULL, &err), &err);
    CHECK(token != NULL && strlen(token) > 20);
    return token;
}

/* A token of any length (the fake endpoint's is short). */
static char *token_of_any(cortiauth_manager *m) {
    char *token = NULL;
    cortiauth_error *err = NULL;
    CHECK_OK(cortiauth_manager_get_token(m, &token, NULL, &err), &err);
    CHECK(token != NULL && token[0] != '\0');
    return token;
}

static cortiauth_stats stats_of(const cortiauth_manager *m) {
    cortiauth_stats s;
    memset(&s, 0xAB, sizeof s);
    CHECK_OK(cortiauth_manager_stats(m, &s), NULL);
    return s;
}

/* A JWT: three non-empty base64url parts separated by dots. */
static int looks_like_jwt(const char *t) {
    const char *dot1 = strchr(t, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    return dot1 && dot2 && dot1 > t && dot2 > dot1 + 1 && dot2[1] != '\0' &&
           strchr(dot2 + 1, '.') == NULL && strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                                                      "qrstuvwxyz0123456789-_.") == strlen(t);
}

#define TEST(name) static void test_##name(void)

/* ---- tests ------------------------------------------------------------------------------ */

TEST(version) {
    CHECK(strcmp(cortiauth_version(), CORTIAUTH_VERSION) == 0);
    CHECK(CORTIAUTH_VERSION_NUMBER ==
          CORTIAUTH_VERSION_MAJOR * 10000 + CORTIAUTH_VERSION_MINOR * 100 + CORTIAUTH_VERSION_PATCH);
    /* The status numbers are part of the ABI. */
    CHECK(CORTIAUTH_STATUS_OK == 0 && CORTIAUTH_STATUS_NULL_PARAMETER == 1 &&
          CORTIAUTH_STATUS_INVALID_ARGUMENT == 2 && CORTIAUTH_STATUS_CONFIG == 3 &&
          CORTIAUTH_STATUS_OAUTH == 4 && CORTIAUTH_STATUS_HTTP == 5 &&
          CORTIAUTH_STATUS_NETWORK == 6 && CORTIAUTH_STATUS_TIMEOUT == 7 &&
          CORTIAUTH_STATUS_INVALID_RESPONSE == 8 && CORTIAUTH_STATUS_BUFFER_TOO_SMALL == 9 &&
          CORTIAUTH_STATUS_PANIC == 10);
    CHECK(strcmp(cortiauth_status_str(CORTIAUTH_STATUS_OAUTH), "oauth") == 0);
    CHECK(strcmp(cortiauth_status_str(CORTIAUTH_STATUS_BUFFER_TOO_SMALL), "buffer_too_small") == 0);
    CHECK(strcmp(cortiauth_status_str(12345), "unknown") == 0);
}

/* The docs' example: credentials from the environment, print the access token. */
/* RFC 7523 client authentication: client_secret_jwt, and
 * private_key_jwt with the RSA and EC keys tests/servers/keycloak.sh made. */
TEST(client_assertions) {
    const char *url = need_env("CORTIAUTH_KC_TOKEN_URL_BASE");
    cortiauth_config *c = cortiauth_config_new();
    CHECK(c != NULL);
    CHECK_OK(cortiauth_config_set_client_id(c, need_env("CORTIAUTH_KC_JWT_SECRET_CLIENT_ID")), NULL);
    CHECK_OK(cortiauth_config_set_client_secret(c, need_env("CORTIAUTH_KC_JWT_SECRET_CLIENT_SECRET")), NULL);
    CHECK_OK(cortiauth_config_set_token_url(c, url), NULL);
    CHECK_OK(cortiauth_config_set_auth_method(c, CORTIAUTH_AUTH_METHOD_CLIENT_SECRET_JWT), NULL);
    cortiauth_manager *m = manager_of(c);
    char *token = token_of(m);
    CHECK(looks_like_jwt(token));
    cortiauth_string_free(token);
    cortiauth_manager_free(m);

    const char *clients[2][2] = {
        {"CORTIAUTH_KC_JWT_RSA_CLIENT_ID", "CORTIAUTH_KC_JWT_RSA_KEY_FILE"},
        {"CORTIAUTH_KC_JWT_EC_CLIENT_ID", "CORTIAUTH_KC_JWT_EC_KEY_FILE"},
    };
    for (int i = 0; i < 2; i++) {
        c = cortiauth_config_new();
        CHECK(c != NULL);
        CHECK_OK(cortiauth_config_set_client_id(c, need_env(clients[i][0])), NULL);
        CHECK_OK(cortiauth_config_set_token_url(c, url), NULL);
        /* By name, as a host reading a configuration file would. */
        cortiauth_error *err = NULL;
        CHECK_OK(cortiauth_config_set(c, "auth_method", "private_key_jwt", &err), &err);
        CHECK_OK(cortiauth_config_set_private_key_file(c, need_env(clients[i][1])), NULL);
        m = manager_of(c);
        token = token_of(m);
        CHECK(looks_like_jwt(token));
        cortiauth_string_free(token);
        char *d = NULL;
        CHECK_OK(cortiauth_manager_describe(m, &d, &err), &err);
        CHECK(contains(d, "\"auth_method\":\"private_key_jwt\""));
        CHECK(contains(d, "\"fingerprint\":\"sha256:"));
        CHECK(!contains(d, "BEGIN"));
        cortiauth_string_free(d);
        cortiauth_manager_free(m);
    }

    /* tls_client_auth (RFC 8705) over Keycloak's HTTPS port with this run's test CA. */
    c = cortiauth_config_new();
    CHECK(c != NULL);
    CHECK_OK(cortiauth_config_set_client_id(c, need_env("CORTIAUTH_KC_MTLS_CLIENT_ID")), NULL);
    CHECK_OK(cortiauth_config_set_token_url(c, need_env("CORTIAUTH_KC_HTTPS_TOKEN_URL_BASE")), NULL);
    CHECK_OK(cortiauth_config_set_auth_method(c, CORTIAUTH_AUTH_METHOD_TLS_CLIENT_AUTH), NULL);
    CHECK_OK(cortiauth_config_set_client_certificate_file(c, need_env("CORTIAUTH_KC_MTLS_CERT_FILE")), NULL);
    CHECK_OK(cortiauth_config_set_client_key_file(c, need_env("CORTIAUTH_KC_MTLS_KEY_FILE")), NULL);
    {
        FILE *f = fopen(need_env("CORTIAUTH_KC_CA_FILE"), "rb");
        CHECK(f != NULL);
        static char pem[16384];
        size_t n = fread(pem, 1, sizeof pem - 1, f);
        fclose(f);
        pem[n] = '\0';
        CHECK_OK(cortiauth_config_set_ca_certificates_pem(c, pem), NULL);
    }
    m = manager_of(c);
    token = token_of(m);
    CHECK(looks_like_jwt(token));
    cortiauth_string_free(token);
    char *d = NULL;
    cortiauth_error *err = NULL;
    CHECK_OK(cortiauth_manager_describe(m, &d, &err), &err);
    CHECK(contains(d, "\"client_certificate\":{\"x5t#S256\":\""));
    cortiauth_string_free(d);
    cortiauth_manager_free(m);
}

TEST(docs_example) {
    CHECK(setenv("CORTI_CLIENT_ID", need_env("CORTIAUTH_KC_CLIENT_ID"), 1) == 0);
    CHECK(setenv("CORTI_CLIENT_SECRET", need_env("CORTIAUTH_KC_CLIENT_SECRET"), 1) == 0);
    CHECK(setenv("CORTI_TOKEN_URL", need_env("CORTIAUTH_KC_TOKEN_URL_BASE"), 1) == 0);
    CHECK(setenv("CORTI_TENANT_NAME", "base", 1) == 0);
    CHECK(unsetenv("CORTI_ENVIRONMENT") == 0);

    cortiauth_manager *m = NULL;
    cortiauth_error *err = NULL;
    CHECK_OK(cortiauth_manager_from_env(&m, &err), &err);
    char *token = NULL;
    int64_t expires_at = 0;
    CHECK_OK(cortiauth_manager_get_token(m, &token, &expires_at, &err), &err);
    CHECK(err == NULL);
    CHECK(looks_like_jwt(token));
    /* The docs print the token; a test log gets only its (public) JWT header. */
    printf("access token: %.12s... (%zu bytes)\n", token, strlen(token));
    /* The test client's tokens live 10 s. */
    int64_t now = (int64_t)time(NULL);
    CHECK(expires_at >= now + 5 && expires_at <= now + 12);
    CHECK(strcmp(cortiauth_manager_tenant(m), "base") == 0);
    cortiauth_string_free(token);
    cortiauth_manager_free(m);
}

TEST(from_env_reports_missing_variables) {
    CHECK(unsetenv("CORTI_CLIENT_ID") == 0);
    CHECK(setenv("CORTI_CLIENT_SECRET", "whatever", 1) == 0);
    CHECK(setenv("CORTI_TOKEN_URL", need_env("CORTIAUTH_KC_TOKEN_URL_BASE"), 1) == 0);
    cortiauth_manager *m = (cortiauth_manager *)&m; /* must be overwritten with NULL */
    cortiauth_error *err = NULL;
    CHECK_STATUS(CORTIAUTH_STATUS_CONFIG, cortiauth_manager_from_env(&m, &err), &err);
    CHECK(m == NULL);
    CHECK(cortiauth_error_status(err) == CORTIAUTH_STATUS_CONFIG);
    CHECK(contains(cortiauth_error_message(err), "CORTI_CLIENT_ID"));
    cortiauth_error_free(err);

    /* A config read from the environment, completed by a setter. */
    cortiauth_config *c = cortiauth_config_from_env();
    CHECK_OK(cortiauth_config_set_client_id(c, need_env("CORTIAUTH_KC_CLIENT_ID")), NULL);
    CHECK_OK(cortiauth_config_set_client_secret(c, need_env("CORTIAUTH_KC_CLIENT_SECRET")), NULL);
    m = manager_of(c);
    char *token = token_of(m);
    cortiauth_string_free(token);
    cortiauth_manager_free(m);
    CHECK(unsetenv("CORTI_CLIENT_SECRET") == 0 && unsetenv("CORTI_TOKEN_URL") == 0);
}

TEST(caching) {
    cortiauth_manager *m = manager_of(kc_config());
    cortiauth_stats s = stats_of(m);
    CHECK(s.token_requests == 0 && s.cache_hits == 0 && s.failures == 0);
    CHECK(s.last_error_status == CORTIAUTH_STATUS_OK);

    char *first = token_of(m);
    char *second = token_of(m);
    char *third = token_of(m);
    CHECK(strcmp(first, second) == 0 && strcmp(second, third) == 0);
    CHECK(first != second); /* each call returns its own copy */
    s = stats_of(m);
    CHECK(s.token_requests == 1);
    CHECK(s.refreshes == 1);
    CHECK(s.cache_hits >= 2);
    cortiauth_string_free(first);
    cortiauth_string_free(second);
    cortiauth_string_free(third);
    cortiauth_manager_free(m);
}

/* Two managers on one file store share one token; stats say so. */
TEST(shared_cache_file_store) {
    char dir[] = "/tmp/cortiauth-c-store-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char url[128];
    snprintf(url, sizeof url, "file://%s/tokens", dir);
    cortiauth_config *a = kc_config();
    CHECK_OK(cortiauth_config_set_shared_cache(a, url), NULL);
    cortiauth_manager *ma = manager_of(a);
    cortiauth_config *b = kc_config();
    CHECK_OK(cortiauth_config_set_shared_cache(b, url), NULL);
    cortiauth_manager *mb = manager_of(b);
    char *first = token_of(ma);
    char *second = token_of(mb);
    CHECK(strcmp(first, second) == 0);
    cortiauth_stats sa = stats_of(ma), sb = stats_of(mb);
    CHECK(sa.token_requests == 1 && sa.store_hits == 0 && sa.store_errors == 0);
    CHECK(sb.token_requests == 0 && sb.store_hits == 1 && sb.store_errors == 0);
    CHECK(sa.store_last_error == NULL && sb.store_last_error == NULL);
    cortiauth_string_free(first);
    cortiauth_string_free(second);
    cortiauth_manager_free(ma);
    cortiauth_manager_free(mb);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

#define THREADS 16

struct race {
    cortiauth_manager *manager;
    pthread_barrier_t start;
    char *tokens[THREADS];
    cortiauth_status statuses[THREADS];
};

struct racer {
    struct race *race;
    int index;
};

static void *race_for_a_token(void *arg) {
    struct racer *r = (struct racer *)arg;
    pthread_barrier_wait(&r->race->start);
    r->race->statuses[r->index] =
        cortiauth_manager_get_token(r->race->manager, &r->race->tokens[r->index], NULL, NULL);
    return NULL;
}

/* 16 threads asking a fresh manager at the same moment cause one token request. */
TEST(sixteen_threads_one_request) {
    struct race race;
    memset(&race, 0, sizeof race);
    race.manager = manager_of(kc_config());
    CHECK(pthread_barrier_init(&race.start, NULL, THREADS) == 0);
    pthread_t threads[THREADS];
    struct racer racers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        racers[i].race = &race;
        racers[i].index = i;
        CHECK(pthread_create(&threads[i], NULL, race_for_a_token, &racers[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++) CHECK(pthread_join(threads[i], NULL) == 0);
    for (int i = 0; i < THREADS; i++) {
        CHECK(race.statuses[i] == CORTIAUTH_STATUS_OK);
        CHECK(race.tokens[i] != NULL);
        CHECK(strcmp(race.tokens[i], race.tokens[0]) == 0);
    }
    cortiauth_stats s = stats_of(race.manager);
    CHECK(s.token_requests == 1);
    CHECK(s.refreshes == 1);
    for (int i = 0; i < THREADS; i++) cortiauth_string_free(race.tokens[i]);
    CHECK(pthread_barrier_destroy(&race.start) == 0);
    cortiauth_manager_free(race.manager);
}

TEST(buffer) {
    cortiauth_manager *m = manager_of(kc_config());
    cortiauth_error *err = NULL;
    size_t needed = 0;
    int64_t expires_at = 0;

    /* Size query: no buffer at all. */
    CHECK_STATUS(CORTIAUTH_STATUS_BUFFER_TOO_SMALL,
                 cortiauth_manager_get_token_buf(m, NULL, 0, &needed, NULL, &err), &err);
    CHECK(cortiauth_error_status(err) == CORTIAUTH_STATUS_BUFFER_TOO_SMALL);
    cortiauth_error_free(err);
    err = NULL;
    char *token = token_of(m);
    CHECK(needed == strlen(token) + 1);

    /* Too small by one byte: nothing copied, buf[0] is NUL, `needed` says how much. */
    char *buf = (char *)malloc(needed);
    memset(buf, 'x', needed);
    size_t again = 0;
    CHECK_STATUS(CORTIAUTH_STATUS_BUFFER_TOO_SMALL,
                 cortiauth_manager_get_token_buf(m, buf, needed - 1, &again, NULL, NULL), NULL);
    CHECK(again == needed);
    CHECK(buf[0] == '\0' && buf[1] == 'x');

    /* Exactly big enough. */
    CHECK_OK(cortiauth_manager_get_token_buf(m, buf, needed, &again, &expires_at, &err), &err);
    CHECK(err == NULL);
    CHECK(strcmp(buf, token) == 0);
    CHECK(expires_at > (int64_t)time(NULL));

    /* The optional out-parameters may be NULL. */
    char big[4096];
    CHECK_OK(cortiauth_manager_get_token_buf(m, big, sizeof big, NULL, NULL, NULL), NULL);
    CHECK(strcmp(big, token) == 0);
    CHECK(stats_of(m).token_requests == 1);
    free(buf);
    cortiauth_string_free(token);
    cortiauth_manager_free(m);
}

/* Every pointer parameter, NULL in turn: an error, never a crash. */
TEST(null_arguments) {
    cortiauth_config *c = kc_config();
    cortiauth_manager *m = NULL;
    cortiauth_error *err = NULL;
    char *out = NULL;
    int64_t expires_at = 0;
    size_t needed = 0;
    char buf[64];
    cortiauth_stats s;
    const cortiauth_status N = CORTIAUTH_STATUS_NULL_PARAMETER;

    CHECK_STATUS(N, cortiauth_config_set_client_id(NULL, "x"), NULL);
    CHECK_STATUS(N, cortiauth_config_set_client_id(c, NULL), NULL);
    CHECK_STATUS(N, cortiauth_config_set_client_secret(NULL, "x"), NULL);
    CHECK_STATUS(N, cortiauth_config_set_client_secret(c, NULL), NULL);
    CHECK_STATUS(N, cortiauth_config_set_environment(NULL, "eu"), NULL);
    CHECK_STATUS(N, cortiauth_config_set_environment(c, NULL), NULL);
    CHECK_STATUS(N, cortiauth_config_set_tenant(NULL, "base"), NULL);
    CHECK_STATUS(N, cortiauth_config_set_tenant(c, NULL), NULL);
    CHECK_STATUS(N, cortiauth_config_set_token_url(NULL, "https://a.example/t"), NULL);
    CHECK_STATUS(N, cortiauth_config_set_token_url(c, NULL), NULL);
    CHECK_STATUS(N, cortiauth_config_set_scopes(NULL, "streams"), NULL);
    CHECK_STATUS(N, cortiauth_config_set_scopes(c, NULL), NULL);
    CHECK_STATUS(N, cortiauth_config_set_auth_method(NULL, CORTIAUTH_AUTH_METHOD_CLIENT_SECRET_POST), NULL);
    CHECK_STATUS(N, cortiauth_config_set_timeout_ms(NULL, 1000), NULL);
    CHECK_STATUS(N, cortiauth_config_set_max_attempts(NULL, 1), NULL);
    CHECK_STATUS(N, cortiauth_config_set_extra_param(NULL, "audience", "a"), NULL);
    CHECK_STATUS(N, cortiauth_config_set_extra_param(c, NULL, "a"), NULL);
    CHECK_STATUS(N, cortiauth_config_set_extra_param(c, "audience", NULL), NULL);
    CHECK_STATUS(N, cortiauth_config_set_ca_cert_pem(NULL, ""), NULL);
    CHECK_STATUS(N, cortiauth_config_set_ca_cert_pem(c, NULL), NULL);
    CHECK_STATUS(N, cortiauth_config_set_background_refresh(NULL, true), NULL);
    CHECK_STATUS(N, cortiauth_config_set_client_secret_file(NULL, "/x"), NULL);
    CHECK_STATUS(N, cortiauth_config_set_client_secret_file(c, NULL), NULL);
    CHECK_STATUS(N, cortiauth_config_set_api_base_url(NULL, "https://a.example/v2"), NULL);
    CHECK_STATUS(N, cortiauth_config_set_api_base_url(c, NULL), NULL);
    CHECK_STATUS(N, cortiauth_config_set_shared_cache(NULL, "file:///tmp/x"), NULL);
    CHECK_STATUS(N, cortiauth_config_set_shared_cache(c, NULL), NULL);
    CHECK_STATUS(N, cortiauth_config_set_initial_backoff_ms(NULL, 1), NULL);
    CHECK_STATUS(N, cortiauth_config_set_max_backoff_ms(NULL, 1), NULL);
    CHECK_STATUS(N, cortiauth_config_set_retry_deadline_ms(NULL, 1), NULL);
    CHECK_STATUS(N, cortiauth_config_set_failure_cooldown_ms(NULL, 1), NULL);
    CHECK_STATUS(N, cortiauth_config_set_refresh_margin_ms(NULL, 1), NULL);
    CHECK_STATUS(N, cortiauth_config_set_refresh_margin_fraction(NULL, 0.5), NULL);
    CHECK_STATUS(N, cortiauth_config_set_expiry_skew_ms(NULL, 1), NULL);
    CHECK_STATUS(N, cortiauth_config_set_default_lifetime_ms(NULL, 1000), NULL);
    CHECK_STATUS(N, cortiauth_config_describe(NULL, &out, &err), &err);
    CHECK(out == NULL);
    cortiauth_error_free(err);
    CHECK_STATUS(N, cortiauth_config_describe(c, NULL, &err), &err);
    CHECK(contains(cortiauth_error_message(err), "json"));
    cortiauth_error_free(err);

    m = (cortiauth_manager *)&m;
    CHECK_STATUS(N, cortiauth_manager_new(NULL, &m, &err), &err);
    CHECK(m == NULL);
    CHECK(cortiauth_error_status(err) == N);
    CHECK(contains(cortiauth_error_message(err), "config"));
    cortiauth_error_free(err);
    CHECK_STATUS(N, cortiauth_manager_new(c, NULL, &err), &err);
    CHECK(contains(cortiauth_error_message(err), "out"));
    cortiauth_error_free(err);
    CHECK_STATUS(N, cortiauth_manager_new(NULL, NULL, NULL), NULL);
    CHECK_STATUS(N, cortiauth_manager_from_env(NULL, &err), &err);
    cortiauth_error_free(err);
    /* `err` may be NULL. */
    CHECK_OK(cortiauth_manager_new(c, &m, NULL), NULL);
    cortiauth_config_free(c);

    CHECK_STATUS(N, cortiauth_manager_get_token(NULL, &out, &expires_at, &err), &err);
    CHECK(out == NULL);
    CHECK(contains(cortiauth_error_message(err), "manager"));
    cortiauth_error_free(err);
    CHECK_STATUS(N, cortiauth_manager_get_token(m, NULL, &expires_at, &err), &err);
    CHECK(contains(cortiauth_error_message(err), "out_token"));
    cortiauth_error_free(err);

    CHECK_STATUS(N, cortiauth_manager_get_token_buf(NULL, buf, sizeof buf, &needed, NULL, &err), &err);
    cortiauth_error_free(err);
    CHECK_STATUS(N, cortiauth_manager_get_token_buf(m, NULL, sizeof buf, &needed, NULL, &err), &err);
    CHECK(contains(cortiauth_error_message(err), "buf"));
    cortiauth_error_free(err);

    CHECK_STATUS(N, cortiauth_manager_authorization_header(NULL, &out, &err), &err);
    cortiauth_error_free(err);
    CHECK_STATUS(N, cortiauth_manager_authorization_header(m, NULL, &err), &err);
    cortiauth_error_free(err);

    CHECK_STATUS(N, cortiauth_manager_websocket_url(NULL, "wss://h/s", &out, &err), &err);
    cortiauth_error_free(err);
    CHECK_STATUS(N, cortiauth_manager_websocket_url(m, NULL, &out, &err), &err);
    CHECK(contains(cortiauth_error_message(err), "stream_url"));
    cortiauth_error_free(err);
    CHECK_STATUS(N, cortiauth_manager_websocket_url(m, "wss://h/s", NULL, &err), &err);
    cortiauth_error_free(err);

    CHECK_STATUS(N, cortiauth_manager_describe(NULL, &out, &err), &err);
    CHECK(out == NULL);
    cortiauth_error_free(err);
    CHECK_STATUS(N, cortiauth_manager_describe(m, NULL, &err), &err);
    cortiauth_error_free(err);

    CHECK(!cortiauth_manager_invalidate(NULL, "token"));
    CHECK(!cortiauth_manager_invalidate(m, NULL));
    CHECK(cortiauth_manager_tenant(NULL) == NULL);
    CHECK(cortiauth_manager_api_base_url(NULL) == NULL);
    CHECK(cortiauth_manager_clone(NULL) == NULL);
    CHECK_STATUS(N, cortiauth_manager_stats(NULL, &s), NULL);
    CHECK_STATUS(N, cortiauth_manager_stats(m, NULL), NULL);

    CHECK(cortiauth_error_message(NULL) == NULL);
    CHECK(cortiauth_error_status(NULL) == N);
    CHECK(cortiauth_error_oauth_code(NULL) == NULL);
    CHECK(cortiauth_error_oauth_description(NULL) == NULL);
    CHECK(cortiauth_error_http_status(NULL) == 0);
    CHECK(!cortiauth_error_is_transient(NULL));

    /* Nothing above used the network. */
    CHECK(stats_of(m).token_requests == 0);
    cortiauth_manager_free(m);

    /* Every *_free accepts NULL. */
    cortiauth_config_free(NULL);
    cortiauth_manager_free(NULL);
    cortiauth_error_free(NULL);
    cortiauth_string_free(NULL);
}

TEST(invalid_arguments) {
    const char *bad = "\xff\xfe not UTF-8";
    const cortiauth_status I = CORTIAUTH_STATUS_INVALID_ARGUMENT;
    cortiauth_config *c = cortiauth_config_new();
    CHECK_STATUS(I, cortiauth_config_set_client_id(c, bad), NULL);
    CHECK_STATUS(I, cortiauth_config_set_client_secret(c, bad), NULL);
    CHECK_STATUS(I, cortiauth_config_set_environment(c, bad), NULL);
    CHECK_STATUS(I, cortiauth_config_set_tenant(c, bad), NULL);
    CHECK_STATUS(I, cortiauth_config_set_token_url(c, bad), NULL);
    CHECK_STATUS(I, cortiauth_config_set_scopes(c, bad), NULL);
    CHECK_STATUS(I, cortiauth_config_set_extra_param(c, bad, "v"), NULL);
    CHECK_STATUS(I, cortiauth_config_set_extra_param(c, "n", bad), NULL);
    CHECK_STATUS(I, cortiauth_config_set_ca_cert_pem(c, bad), NULL);
    CHECK_STATUS(I, cortiauth_config_set_client_secret_file(c, bad), NULL);
    CHECK_STATUS(I, cortiauth_config_set_api_base_url(c, bad), NULL);
    CHECK_STATUS(I, cortiauth_config_set_shared_cache(c, bad), NULL);
    CHECK_STATUS(I, cortiauth_config_set_auth_method(c, 99), NULL);
    cortiauth_config_free(c);

    cortiauth_manager *m = manager_of(kc_config());
    cortiauth_error *err = NULL;
    char *out = NULL;
    CHECK_STATUS(I, cortiauth_manager_websocket_url(m, bad, &out, &err), &err);
    CHECK(out == NULL);
    CHECK(contains(cortiauth_error_message(err), "stream_url"));
    CHECK(contains(cortiauth_error_message(err), "UTF-8"));
    cortiauth_error_free(err);
    CHECK(!cortiauth_manager_invalidate(m, bad));
    cortiauth_manager_free(m);
}

TEST(config_errors) {
    cortiauth_manager *m = NULL;
    cortiauth_error *err = NULL;

    /* Nothing set: the message names the variable to set. */
    cortiauth_config *c = cortiauth_config_new();
    CHECK_STATUS(CORTIAUTH_STATUS_CONFIG, cortiauth_manager_new(c, &m, &err), &err);
    CHECK(m == NULL);
    CHECK(contains(cortiauth_error_message(err), "CORTI_CLIENT_ID"));
    CHECK(cortiauth_error_http_status(err) == 0 && cortiauth_error_oauth_code(err) == NULL);
    cortiauth_error_free(err);
    cortiauth_config_free(c);

    /* Plain http to a host that is not this machine would leak the secret. */
    c = kc_config();
    CHECK_OK(cortiauth_config_set_token_url(c, "http://auth.example.com/token"), NULL);
    CHECK_STATUS(CORTIAUTH_STATUS_CONFIG, cortiauth_manager_new(c, &m, &err), &err);
    CHECK(contains(cortiauth_error_message(err), "https"));
    cortiauth_error_free(err);

    /* Parameters cortiauth sets itself cannot be overridden. */
    CHECK_OK(cortiauth_config_set_token_url(c, need_env("CORTIAUTH_KC_TOKEN_URL_BASE")), NULL);
    CHECK_OK(cortiauth_config_set_extra_param(c, "grant_type", "password"), NULL);
    CHECK_STATUS(CORTIAUTH_STATUS_CONFIG, cortiauth_manager_new(c, &m, &err), &err);
    CHECK(contains(cortiauth_error_message(err), "grant_type"));
    cortiauth_error_free(err);
    cortiauth_config_free(c);

    /* Ranges are the core's: the setters store, cortiauth_manager_new refuses and
     * names the setting. */
    struct {
        cortiauth_status (*set)(cortiauth_config *, uint64_t);
        uint64_t value;
        const char *named;
    } ranges[] = {
        {cortiauth_config_set_timeout_ms, 0, "timeout"},
        {cortiauth_config_set_timeout_ms, UINT64_MAX, "timeout"},
        {cortiauth_config_set_retry_deadline_ms, 0, "retry_deadline"},
        {cortiauth_config_set_max_backoff_ms, 7200000, "max_backoff"},
        {cortiauth_config_set_default_lifetime_ms, 10, "default_lifetime"},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        c = kc_config();
        CHECK_OK(ranges[i].set(c, ranges[i].value), NULL);
        CHECK_STATUS(CORTIAUTH_STATUS_CONFIG, cortiauth_manager_new(c, &m, &err), &err);
        CHECK(m == NULL);
        CHECK(contains(cortiauth_error_message(err), ranges[i].named));
        cortiauth_error_free(err);
        cortiauth_config_free(c);
    }
    c = kc_config();
    CHECK_OK(cortiauth_config_set_max_attempts(c, 0), NULL);
    CHECK_STATUS(CORTIAUTH_STATUS_CONFIG, cortiauth_manager_new(c, &m, &err), &err);
    CHECK(contains(cortiauth_error_message(err), "max_attempts"));
    cortiauth_error_free(err);
    CHECK_OK(cortiauth_config_set_max_attempts(c, 1), NULL);
    CHECK_OK(cortiauth_config_set_refresh_margin_fraction(c, 1.5), NULL);
    CHECK_STATUS(CORTIAUTH_STATUS_CONFIG, cortiauth_manager_new(c, &m, &err), &err);
    CHECK(contains(cortiauth_error_message(err), "refresh_margin_fraction"));
    cortiauth_error_free(err);
    CHECK_OK(cortiauth_config_set_refresh_margin_fraction(c, 0.5), NULL);
    CHECK_OK(cortiauth_config_set_extra_param(c, " ", "v"), NULL);
    CHECK_STATUS(CORTIAUTH_STATUS_CONFIG, cortiauth_manager_new(c, &m, &err), &err);
    cortiauth_error_free(err);
    cortiauth_config_free(c);

    /* An environment name cannot smuggle in another host. */
    c = kc_config();
    CHECK_OK(cortiauth_config_set_token_url(c, ""), NULL);
    CHECK_OK(cortiauth_config_set_environment(c, "eu.evil.example/x"), NULL);
    CHECK_STATUS(CORTIAUTH_STATUS_CONFIG, cortiauth_manager_new(c, &m, &err), &err);
    cortiauth_error_free(err);
    cortiauth_config_free(c);
}

TEST(wrong_secret_is_invalid_client) {
    const char *wrong = "not-the-secret-4f1c9a";
    cortiauth_config *c = kc_config();
    CHECK_OK(cortiauth_config_set_client_secret(c, wrong), NULL);
    cortiauth_manager *m = manager_of(c);
    cortiauth_error *err = NULL;
    char *token = (char *)&token;
    int64_t expires_at = 99;
    CHECK_STATUS(CORTIAUTH_STATUS_OAUTH, cortiauth_manager_get_token(m, &token, &expires_at, &err),
                 &err);
    CHECK(token == NULL && expires_at == 0);
    CHECK(cortiauth_error_status(err) == CORTIAUTH_STATUS_OAUTH);
    CHECK(strcmp(cortiauth_error_oauth_code(err), "invalid_client") == 0);
    CHECK(cortiauth_error_http_status(err) == 401);
    CHECK(!cortiauth_error_is_transient(err));
    const char *message = cortiauth_error_message(err);
    CHECK(contains(message, "invalid_client"));
    CHECK(contains(message, "CORTI_CLIENT_SECRET")); /* says what to check */
    CHECK(!contains(message, wrong));                /* never the secret */
    cortiauth_error_free(err);

    cortiauth_stats s = stats_of(m);
    CHECK(s.failures == 1 && s.refreshes == 0);
    CHECK(s.last_error_status == CORTIAUTH_STATUS_OAUTH);
    cortiauth_manager_free(m);
}

TEST(disabled_client_is_refused) {
    cortiauth_config *c = kc_config();
    CHECK_OK(cortiauth_config_set_client_id(c, need_env("CORTIAUTH_KC_DISABLED_CLIENT_ID")), NULL);
    CHECK_OK(cortiauth_config_set_client_secret(c, need_env("CORTIAUTH_KC_DISABLED_CLIENT_SECRET")),
             NULL);
    cortiauth_manager *m = manager_of(c);
    cortiauth_error *err = NULL;
    char *token = NULL;
    CHECK_STATUS(CORTIAUTH_STATUS_OAUTH, cortiauth_manager_get_token(m, &token, NULL, &err), &err);
    CHECK(cortiauth_error_oauth_code(err) != NULL);
    CHECK(cortiauth_error_http_status(err) >= 400 && cortiauth_error_http_status(err) < 500);
    cortiauth_error_free(err);
    cortiauth_manager_free(m);
}

TEST(unknown_tenant_is_http_404) {
    /* The token URL of a realm that does not exist on the Keycloak server. */
    const char *base = need_env("CORTIAUTH_KC_TOKEN_URL_BASE");
    const char *realm = strstr(base, "/realms/base/");
    CHECK(realm != NULL);
    char url[1024];
    snprintf(url, sizeof url, "%.*s/realms/no-such-tenant/%s", (int)(realm - base), base,
             realm + strlen("/realms/base/"));
    cortiauth_config *c = kc_config();
    CHECK_OK(cortiauth_config_set_token_url(c, url), NULL);
    CHECK_OK(cortiauth_config_set_max_attempts(c, 4), NULL); /* retries allowed... */
    cortiauth_manager *m = manager_of(c);
    cortiauth_error *err = NULL;
    char *token = NULL;
    CHECK_STATUS(CORTIAUTH_STATUS_HTTP, cortiauth_manager_get_token(m, &token, NULL, &err), &err);
    CHECK(cortiauth_error_status(err) == CORTIAUTH_STATUS_HTTP);
    CHECK(cortiauth_error_http_status(err) == 404);
    CHECK(contains(cortiauth_error_message(err), "CORTI_TENANT_NAME")); /* what to check */
    CHECK(stats_of(m).token_requests == 1); /* ...but a 404 is not worth one */
    CHECK(token == NULL);
    cortiauth_error_free(err);
    cortiauth_manager_free(m);
}

TEST(scopes) {
    /* Optional client scopes of the realm are granted... */
    cortiauth_config *c = kc_config();
    CHECK_OK(cortiauth_config_set_scopes(c, "transcribe streams"), NULL);
    cortiauth_manager *m = manager_of(c);
    char *token = token_of(m);
    cortiauth_string_free(token);
    cortiauth_manager_free(m);

    /* ...and an unknown one is refused, so the scopes do reach the server. */
    c = kc_config();
    CHECK_OK(cortiauth_config_set_scopes(c, "no-such-scope"), NULL);
    m = manager_of(c);
    cortiauth_error *err = NULL;
    token = NULL;
    CHECK_STATUS(CORTIAUTH_STATUS_OAUTH, cortiauth_manager_get_token(m, &token, NULL, &err), &err);
    CHECK(strcmp(cortiauth_error_oauth_code(err), "invalid_scope") == 0);
    cortiauth_error_free(err);
    cortiauth_manager_free(m);
}

TEST(websocket_url) {
    cortiauth_manager *m = manager_of(kc_config());
    const char *stream =
        "wss://api.eu.corti.app/audio-bridge/v2/interactions/123/streams?tenant-name=base";
    char *url = NULL;
    cortiauth_error *err = NULL;
    CHECK_OK(cortiauth_manager_websocket_url(m, stream, &url, &err), &err);
    char *token = token_of(m);
    /* A JWT holds only URL-safe characters, so it appears as it is. */
    size_t expected_len = strlen(stream) + strlen("&token=Bearer%20") + strlen(token);
    char *expected = (char *)malloc(expected_len + 1);
    snprintf(expected, expected_len + 1, "%s&token=Bearer%%20%s", stream, token);
    CHECK(strcmp(url, expected) == 0);
    cortiauth_string_free(url);

    /* No query yet: `?` is used. */
    CHECK_OK(cortiauth_manager_websocket_url(m, "wss://h.example/s", &url, &err), &err);
    CHECK(strncmp(url, "wss://h.example/s?token=Bearer%20", 33) == 0);
    CHECK(strcmp(url + 33, token) == 0);
    cortiauth_string_free(url);

    /* An empty URL is a configuration error. */
    CHECK_STATUS(CORTIAUTH_STATUS_CONFIG, cortiauth_manager_websocket_url(m, " ", &url, &err), &err);
    CHECK(url == NULL);
    cortiauth_error_free(err);
    CHECK(stats_of(m).token_requests == 1);
    free(expected);
    cortiauth_string_free(token);
    cortiauth_manager_free(m);
}

TEST(authorization_header_and_api_urls) {
    cortiauth_config *c = kc_config();
    /* The environment gives the API base URL; the explicit token URL still wins. */
    CHECK_OK(cortiauth_config_set_environment(c, "eu"), NULL);
    cortiauth_manager *m = manager_of(c);
    char *header = NULL;
    cortiauth_error *err = NULL;
    CHECK_OK(cortiauth_manager_authorization_header(m, &header, &err), &err);
    char *token = token_of(m);
    CHECK(strncmp(header, "Bearer ", 7) == 0);
    CHECK(strcmp(header + 7, token) == 0);
    CHECK(strcmp(cortiauth_manager_tenant(m), "base") == 0);
    CHECK(strcmp(cortiauth_manager_api_base_url(m), "https://api.eu.corti.app/v2") == 0);
    cortiauth_string_free(header);
    cortiauth_string_free(token);
    cortiauth_manager_free(m);

    /* A bare token URL: no Corti API base URL. */
    m = manager_of(kc_config());
    CHECK(cortiauth_manager_api_base_url(m) == NULL);
    cortiauth_manager_free(m);
}

TEST(api_url_is_joined_by_the_core) {
    cortiauth_config *c = kc_config();
    CHECK_OK(cortiauth_config_set_environment(c, "eu"), NULL);
    cortiauth_manager *m = manager_of(c);
    char *url = NULL;
    cortiauth_error *err = NULL;
    CHECK_OK(cortiauth_manager_api_url(m, "/interactions?limit=1", &url, &err), &err);
    CHECK(strcmp(url, "https://api.eu.corti.app/v2/interactions?limit=1") == 0);
    cortiauth_string_free(url);
    CHECK_OK(cortiauth_manager_api_url(m, "interactions/1", &url, &err), &err);
    CHECK(strcmp(url, "https://api.eu.corti.app/v2/interactions/1") == 0);
    cortiauth_string_free(url);
    /* An absolute URL would send the token elsewhere: refused, *url NULL. */
    url = (char *)"not touched";
    CHECK_STATUS(CORTIAUTH_STATUS_CONFIG,
                 cortiauth_manager_api_url(m, "https://elsewhere.example/x", &url, &err), &err);
    CHECK(url == NULL);
    cortiauth_error_free(err);
    err = NULL;
    CHECK_STATUS(CORTIAUTH_STATUS_NULL_PARAMETER, cortiauth_manager_api_url(m, NULL, &url, &err),
                 &err);
    cortiauth_error_free(err);
    err = NULL;
    CHECK_STATUS(CORTIAUTH_STATUS_NULL_PARAMETER, cortiauth_manager_api_url(m, "/x", NULL, NULL),
                 NULL);
    cortiauth_manager_free(m);

    /* No environment, no API base URL: a config error naming it. */
    m = manager_of(kc_config());
    CHECK_STATUS(CORTIAUTH_STATUS_CONFIG, cortiauth_manager_api_url(m, "/x", &url, &err), &err);
    CHECK(url == NULL);
    CHECK(contains(cortiauth_error_message(err), "base URL"));
    cortiauth_error_free(err);
    cortiauth_manager_free(m);
}

TEST(invalidate_after_401) {
    cortiauth_manager *m = manager_of(kc_config());
    char *first = token_of(m);
    CHECK(!cortiauth_manager_invalidate(m, "some-other-token"));
    CHECK(cortiauth_manager_invalidate(m, first));
    /* A second 401 for the same token does not drop the next one. */
    CHECK(!cortiauth_manager_invalidate(m, first));
    char *second = token_of(m);
    CHECK(strcmp(first, second) != 0);
    CHECK(!cortiauth_manager_invalidate(m, first));
    char *third = token_of(m);
    CHECK(strcmp(second, third) == 0);
    CHECK(stats_of(m).token_requests == 2);
    cortiauth_string_free(first);
    cortiauth_string_free(second);
    cortiauth_string_free(third);
    cortiauth_manager_free(m);
}

TEST(clone_shares_the_cache) {
    cortiauth_manager *m = manager_of(kc_config());
    cortiauth_manager *other = cortiauth_manager_clone(m);
    CHECK(other != NULL);
    char *a = token_of(m);
    cortiauth_manager_free(m);
    char *b = token_of(other); /* still alive: the clone holds a reference */
    CHECK(strcmp(a, b) == 0);
    CHECK(stats_of(other).token_requests == 1);
    cortiauth_string_free(a);
    cortiauth_string_free(b);
    cortiauth_manager_free(other);
}

/* Each Tiro client with the method it is registered for. (That the setting reaches
 * the request is asserted by the Rust unit tests and the core's request-shape tests:
 * this server accepts either method.) */
TEST(tiro_auth_methods) {
    /* client_secret_basic client with HTTP Basic authentication. */
    cortiauth_config *c = cortiauth_config_new();
    CHECK_OK(cortiauth_config_set_client_id(c, need_env("CORTIAUTH_TIRO_CLIENT_ID")), NULL);
    CHECK_OK(cortiauth_config_set_client_secret(c, need_env("CORTIAUTH_TIRO_CLIENT_SECRET")), NULL);
    CHECK_OK(cortiauth_config_set_token_url(c, need_env("CORTIAUTH_TIRO_TOKEN_URL")), NULL);
    CHECK_OK(cortiauth_config_set_max_attempts(c, 1), NULL);
    CHECK_OK(cortiauth_config_set_auth_method(c, CORTIAUTH_AUTH_METHOD_CLIENT_SECRET_BASIC), NULL);
    cortiauth_manager *m = NULL;
    cortiauth_error *err = NULL;
    CHECK_OK(cortiauth_manager_new(c, &m, &err), &err);
    char *token = NULL;
    int64_t expires_at = 0;
    CHECK_OK(cortiauth_manager_get_token(m, &token, &expires_at, &err), &err);
    CHECK(strlen(token) > 10);
    CHECK(expires_at > (int64_t)time(NULL) + 600); /* 3600 s tokens */
    cortiauth_string_free(token);
    cortiauth_manager_free(m);

    /* The client_secret_post client with credentials in the form body. */
    CHECK_OK(cortiauth_config_set_auth_method(c, CORTIAUTH_AUTH_METHOD_CLIENT_SECRET_POST), NULL);
    CHECK_OK(cortiauth_config_set_client_id(c, need_env("CORTIAUTH_TIRO_POST_CLIENT_ID")), NULL);
    CHECK_OK(cortiauth_config_set_client_secret(c, need_env("CORTIAUTH_TIRO_POST_CLIENT_SECRET")),
             NULL);
    m = manager_of(c);
    token = token_of(m);
    cortiauth_string_free(token);
    cortiauth_manager_free(m);
}

TEST(network_error) {
    /* Nothing listens on port 1 of the loopback interface: the connection is refused. */
    cortiauth_config *c = kc_config();
    CHECK_OK(cortiauth_config_set_token_url(c, "http://127.0.0.1:1/token"), NULL);
    cortiauth_manager *m = manager_of(c);
    cortiauth_error *err = NULL;
    char *token = NULL;
    CHECK_STATUS(CORTIAUTH_STATUS_NETWORK, cortiauth_manager_get_token(m, &token, NULL, &err), &err);
    CHECK(cortiauth_error_is_transient(err));
    CHECK(cortiauth_error_http_status(err) == 0);
    CHECK(cortiauth_error_oauth_code(err) == NULL);
    /* The message carries the core error's cause chain, down to the socket error. */
    CHECK(contains(cortiauth_error_message(err), "refused"));
    cortiauth_error_free(err);
    CHECK(stats_of(m).last_error_status == CORTIAUTH_STATUS_NETWORK);
    cortiauth_manager_free(m);
}

TEST(timeout) {
    /* A loopback socket that accepts connections (the kernel completes the handshake)
     * but never answers. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    CHECK(bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0);
    CHECK(listen(fd, 16) == 0);
    socklen_t len = sizeof addr;
    CHECK(getsockname(fd, (struct sockaddr *)&addr, &len) == 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/token", ntohs(addr.sin_port));

    cortiauth_config *c = kc_config();
    CHECK_OK(cortiauth_config_set_token_url(c, url), NULL);
    CHECK_OK(cortiauth_config_set_timeout_ms(c, 300), NULL);
    cortiauth_manager *m = manager_of(c);
    cortiauth_error *err = NULL;
    char *token = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_STATUS(CORTIAUTH_STATUS_TIMEOUT, cortiauth_manager_get_token(m, &token, NULL, &err), &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double elapsed = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(elapsed >= 0.25 && elapsed < 5.0);
    CHECK(cortiauth_error_is_transient(err));
    cortiauth_error_free(err);
    cortiauth_manager_free(m);
    close(fd);
}

TEST(bad_ca_certificate) {
    cortiauth_config *c = kc_config();
    CHECK_OK(cortiauth_config_set_ca_cert_pem(c, "-----BEGIN CERTIFICATE-----\nnot base64!\n"
                                                 "-----END CERTIFICATE-----\n"),
             NULL);
    cortiauth_manager *m = NULL;
    cortiauth_error *err = NULL;
    CHECK_STATUS(CORTIAUTH_STATUS_CONFIG, cortiauth_manager_new(c, &m, &err), &err);
    CHECK(m == NULL);
    cortiauth_error_free(err);
    /* Clearing it again makes the config usable. */
    CHECK_OK(cortiauth_config_set_ca_cert_pem(c, ""), NULL);
    m = manager_of(c);
    cortiauth_manager_free(m);
}

TEST(background_refresh) {
    cortiauth_config *c = kc_config();
    CHECK_OK(cortiauth_config_set_background_refresh(c, true), NULL);
    cortiauth_manager *m = manager_of(c);
    char *a = token_of(m);
    char *b = token_of(m);
    CHECK(strcmp(a, b) == 0);
    cortiauth_stats s = stats_of(m);
    /* The refresher thread or the first caller fetched it, once. */
    CHECK(s.refreshes == 1 && s.token_requests == 1);
    cortiauth_string_free(a);
    cortiauth_string_free(b);
    /* Freeing the manager stops the refresher (ASan/LSan would see it otherwise). */
    cortiauth_manager_free(m);
}

/* ---- settings (every setting is the core's, described identically) --------------------- */

/* The described settings of a config, as an owned string (fails the test on error). */
static char *describe_config(const cortiauth_config *c) {
    char *json = NULL;
    cortiauth_error *err = NULL;
    CHECK_OK(cortiauth_config_describe(c, &json, &err), &err);
    CHECK(json != NULL && json[0] == '{');
    return json;
}

/* The defaults are the core's: 10 s request timeout in every language (Python had 30 s). */
TEST(defaults_are_the_cores) {
    cortiauth_config *c = cortiauth_config_new();
    CHECK_OK(cortiauth_config_set_client_id(c, "id"), NULL);
    CHECK_OK(cortiauth_config_set_client_secret(c, "not-shown-7d1e"), NULL);
    CHECK_OK(cortiauth_config_set_environment(c, "eu"), NULL);
    char *json = describe_config(c);
    CHECK(contains(json, "\"timeout_ms\":10000"));
    CHECK(contains(json, "\"max_attempts\":4"));
    CHECK(contains(json, "\"retry_deadline_ms\":30000"));
    CHECK(contains(json, "\"failure_cooldown_ms\":1000"));
    CHECK(contains(json, "\"tenant\":\"base\""));
    CHECK(contains(json, "\"api_base_url\":\"https://api.eu.corti.app/v2\""));
    CHECK(contains(json, "\"client_secret\":\"[REDACTED]\""));
    CHECK(!contains(json, "not-shown-7d1e"));
    CHECK(contains(json, "\"user_agent\":\"cortiauth/" CORTIAUTH_VERSION " (c)\""));
    cortiauth_string_free(json);
    cortiauth_config_free(c);
}

/* The manager describes itself with the same string as the config it was built from. */
TEST(describe) {
    cortiauth_config *c = kc_config();
    CHECK_OK(cortiauth_config_set_scopes(c, "streams openid streams"), NULL);
    char *expected = describe_config(c);
    cortiauth_manager *m = manager_of(c);
    char *json = NULL;
    cortiauth_error *err = NULL;
    CHECK_OK(cortiauth_manager_describe(m, &json, &err), &err);
    CHECK(strcmp(json, expected) == 0);
    CHECK(contains(json, "\"scopes\":[\"openid\",\"streams\"]"));
    CHECK(contains(json, "\"max_attempts\":1"));
    CHECK(!contains(json, need_env("CORTIAUTH_KC_CLIENT_SECRET")));
    CHECK(stats_of(m).token_requests == 0); /* describing fetches nothing */
    cortiauth_string_free(json);
    cortiauth_string_free(expected);
    cortiauth_manager_free(m);
}

/* C had no setter for the API base URL or the retry deadline. */
TEST(api_base_url_and_retry_deadline_setters) {
    cortiauth_config *c = kc_config();
    CHECK_OK(cortiauth_config_set_environment(c, "us"), NULL);
    CHECK_OK(cortiauth_config_set_api_base_url(c, "https://api.example.test/v2/"), NULL);
    cortiauth_manager *m = manager_of(c);
    CHECK(strcmp(cortiauth_manager_api_base_url(m), "https://api.example.test/v2") == 0);
    cortiauth_manager_free(m);

    /* Many attempts allowed, but the deadline ends the retries: nothing listens on port 1. */
    c = kc_config();
    CHECK_OK(cortiauth_config_set_token_url(c, "http://127.0.0.1:1/token"), NULL);
    CHECK_OK(cortiauth_config_set_max_attempts(c, 100), NULL);
    CHECK_OK(cortiauth_config_set_initial_backoff_ms(c, 50), NULL);
    CHECK_OK(cortiauth_config_set_max_backoff_ms(c, 50), NULL);
    CHECK_OK(cortiauth_config_set_retry_deadline_ms(c, 600), NULL);
    char *json = describe_config(c);
    CHECK(contains(json, "\"retry_deadline_ms\":600"));
    cortiauth_string_free(json);
    m = manager_of(c);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char *token = NULL;
    CHECK_STATUS(CORTIAUTH_STATUS_NETWORK, cortiauth_manager_get_token(m, &token, NULL, NULL), NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double elapsed = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cortiauth_stats s = stats_of(m);
    CHECK(s.token_requests >= 2 && s.token_requests < 100); /* retried, then stopped */
    CHECK(elapsed < 3.0);
    cortiauth_manager_free(m);
}

/* The cooldown rule is the core's: off when max_attempts is 1, unless set. */
TEST(cooldown_rule_is_the_cores) {
    for (int with_cooldown = 0; with_cooldown <= 1; with_cooldown++) {
        cortiauth_config *c = kc_config(); /* max_attempts 1 */
        CHECK_OK(cortiauth_config_set_token_url(c, "http://127.0.0.1:1/token"), NULL);
        if (with_cooldown) CHECK_OK(cortiauth_config_set_failure_cooldown_ms(c, 60000), NULL);
        char *json = describe_config(c);
        CHECK(contains(json, with_cooldown ? "\"failure_cooldown_ms\":60000" : "\"failure_cooldown_ms\":0"));
        cortiauth_string_free(json);
        cortiauth_manager *m = manager_of(c);
        char *token = NULL;
        CHECK_STATUS(CORTIAUTH_STATUS_NETWORK, cortiauth_manager_get_token(m, &token, NULL, NULL), NULL);
        CHECK_STATUS(CORTIAUTH_STATUS_NETWORK, cortiauth_manager_get_token(m, &token, NULL, NULL), NULL);
        /* With the cooldown the second call gets the first error without a request. */
        CHECK(stats_of(m).token_requests == (with_cooldown ? 1u : 2u));
        cortiauth_manager_free(m);
    }
}

/* A loopback token endpoint that records one request and answers with a token. */
struct fake_endpoint {
    int fd;
    int port;
    pthread_t thread;
    char request[16384];
};

static void *serve_one(void *arg) {
    struct fake_endpoint *f = (struct fake_endpoint *)arg;
    int conn = accept(f->fd, NULL, NULL);
    if (conn < 0) return NULL;
    size_t len = 0;
    for (;;) {
        ssize_t n = read(conn, f->request + len, sizeof f->request - 1 - len);
        if (n <= 0) break;
        len += (size_t)n;
        f->request[len] = '\0';
        const char *end = strstr(f->request, "\r\n\r\n");
        const char *cl = strstr(f->request, "content-length: ");
        if (cl == NULL) cl = strstr(f->request, "Content-Length: ");
        if (end != NULL && cl != NULL &&
            len >= (size_t)(end + 4 - f->request) + (size_t)atoi(cl + strlen("content-length: ")))
            break;
    }
    static const char body[] = "{\"access_token\":\"fake-token-1\",\"token_type\":\"Bearer\",\"expires_in\":300}";
    char response[512];
    int n = snprintf(response, sizeof response,
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s",
                     strlen(body), body);
    CHECK(write(conn, response, (size_t)n) == n);
    close(conn);
    return NULL;
}

static void fake_endpoint_start(struct fake_endpoint *f) {
    memset(f, 0, sizeof *f);
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(f->fd >= 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(f->fd, (struct sockaddr *)&addr, sizeof addr) == 0);
    CHECK(listen(f->fd, 4) == 0);
    socklen_t alen = sizeof addr;
    CHECK(getsockname(f->fd, (struct sockaddr *)&addr, &alen) == 0);
    f->port = ntohs(addr.sin_port);
    CHECK(pthread_create(&f->thread, NULL, serve_one, f) == 0);
}

/* A name set twice sends only its last value (Python sent both). */
TEST(extra_param_set_twice_sends_the_last_value) {
    struct fake_endpoint f;
    fake_endpoint_start(&f);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/token", f.port);
    cortiauth_config *c = kc_config();
    CHECK_OK(cortiauth_config_set_token_url(c, url), NULL);
    CHECK_OK(cortiauth_config_set_extra_param(c, "audience", "first"), NULL);
    CHECK_OK(cortiauth_config_set_extra_param(c, "resource", "r"), NULL);
    CHECK_OK(cortiauth_config_set_extra_param(c, "audience", "second"), NULL);
    cortiauth_manager *m = manager_of(c);
    char *token = token_of_any(m);
    CHECK(strcmp(token, "fake-token-1") == 0);
    CHECK(pthread_join(f.thread, NULL) == 0);
    close(f.fd);
    CHECK(contains(f.request, "audience=second"));
    CHECK(!contains(f.request, "audience=first"));
    CHECK(contains(f.request, "resource=r"));
    /* The User-Agent names the C binding (core's format). */
    CHECK(contains(f.request, "cortiauth/" CORTIAUTH_VERSION " (c)"));
    cortiauth_string_free(token);
    cortiauth_manager_free(m);
}

/* The secret read from a file (CORTI_CLIENT_SECRET_FILE's setter), first line only. */
TEST(client_secret_file) {
    char path[] = "/tmp/cortiauth-secret-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *secret = need_env("CORTIAUTH_KC_CLIENT_SECRET");
    CHECK(write(fd, secret, strlen(secret)) == (ssize_t)strlen(secret));
    CHECK(write(fd, "\n", 1) == 1);
    close(fd);
    cortiauth_config *c = kc_config();
    CHECK_OK(cortiauth_config_set_client_secret(c, "replaced-by-the-file"), NULL);
    CHECK_OK(cortiauth_config_set_client_secret_file(c, path), NULL);
    cortiauth_manager *m = manager_of(c);
    char *token = token_of(m);
    CHECK(looks_like_jwt(token));
    cortiauth_string_free(token);
    cortiauth_manager_free(m);

    /* A missing file: the error names the path, never a secret. */
    CHECK(unlink(path) == 0);
    c = kc_config();
    CHECK_OK(cortiauth_config_set_client_secret_file(c, path), NULL);
    cortiauth_error *err = NULL;
    CHECK_STATUS(CORTIAUTH_STATUS_CONFIG, cortiauth_manager_new(c, &m, &err), &err);
    CHECK(contains(cortiauth_error_message(err), path));
    CHECK(!contains(cortiauth_error_message(err), secret));
    cortiauth_error_free(err);
    cortiauth_config_free(c);
}

/* cortiauth_string_free wipes and frees the whole string even when the caller
 * shortened it (ASan checks the free; the Rust unit test checks the size kept). */
TEST(string_free_after_shortening) {
    cortiauth_manager *m = manager_of(kc_config());
    char *token = token_of(m);
    size_t len = strlen(token);
    token[3] = '\0';
    cortiauth_string_free(token);
    char *header = NULL;
    CHECK_OK(cortiauth_manager_authorization_header(m, &header, NULL), NULL);
    CHECK(strlen(header) == len + 7);
    header[0] = '\0';
    cortiauth_string_free(header);
    cortiauth_manager_free(m);
}

/* Several PEM calls add certificates (each counted in describe); "" removes them. */
TEST(ca_cert_pem_adds) {
    FILE *f = fopen(CORTIAUTH_TEST_SOURCE_DIR "/../parity/ca.pem", "r");
    CHECK(f != NULL);
    static char pem[16384];
    size_t n = fread(pem, 1, sizeof pem - 1, f);
    fclose(f);
    pem[n] = '\0';
    cortiauth_config *c = kc_config();
    CHECK_OK(cortiauth_config_set_ca_cert_pem(c, pem), NULL);
    CHECK_OK(cortiauth_config_set_ca_cert_pem(c, pem), NULL);
    char *json = describe_config(c);
    CHECK(contains(json, "\"ca_certificates\":2"));
    cortiauth_string_free(json);
    CHECK_OK(cortiauth_config_set_ca_cert_pem(c, ""), NULL);
    json = describe_config(c);
    CHECK(contains(json, "\"ca_certificates\":0"));
    cortiauth_string_free(json);
    cortiauth_config_free(c);
}

/* The core's TokenManager::invalidate accepts the header value ("Bearer x") too. */
TEST(invalidate_accepts_bearer_prefix) {
    cortiauth_manager *m = manager_of(kc_config());
    char *header = NULL;
    CHECK_OK(cortiauth_manager_authorization_header(m, &header, NULL), NULL);
    CHECK(cortiauth_manager_invalidate(m, header)); /* "Bearer <token>" */
    char *again = NULL;
    CHECK_OK(cortiauth_manager_authorization_header(m, &again, NULL), NULL);
    CHECK(strcmp(header, again) != 0);
    CHECK(stats_of(m).token_requests == 2);
    cortiauth_string_free(header);
    cortiauth_string_free(again);
    cortiauth_manager_free(m);
}

/* ---- events, rotation and fingerprints -------------------------------------------------- */

/* What the event callback saw (static: a callback already under way may finish after
 * the callback is removed or the manager freed). */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    pthread_t main_thread;
    int fetched, fetched_on_main, rejected, reloaded, leaked;
    char fingerprint[CORTIAUTH_FINGERPRINT_SIZE];
} seen = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};

static void on_event(const cortiauth_event *e, void *user_data) {
    CHECK(user_data == &seen);
    pthread_mutex_lock(&seen.lock);
    if (strcmp(e->name, "token_fetched") == 0) {
        seen.fetched++;
        if (pthread_equal(pthread_self(), seen.main_thread)) seen.fetched_on_main++;
        CHECK(e->fingerprint != NULL && strlen(e->fingerprint) == 16);
        snprintf(seen.fingerprint, sizeof seen.fingerprint, "%s", e->fingerprint);
        CHECK(!e->is_warning);
    } else if (strcmp(e->name, "token_rejected") == 0) {
        seen.rejected++;
    } else if (strcmp(e->name, "credential_reloaded") == 0) {
        seen.reloaded++;
        CHECK(contains(e->json, "\"credential_source\":\"set_client_secret\""));
    }
    CHECK(contains(e->json, e->name));
    if (contains(e->json, need_env("CORTIAUTH_KC_CLIENT_SECRET"))) seen.leaked++;
    pthread_cond_broadcast(&seen.changed);
    pthread_mutex_unlock(&seen.lock);
}

/* The callback receives the manager's events from its worker thread (the background
 * refresher here), with the token's fingerprint and never the token or secret. */
TEST(events_from_the_worker_thread) {
    char fp[CORTIAUTH_FINGERPRINT_SIZE];
    CHECK_OK(cortiauth_fingerprint("abc", &fp), NULL); /* pinned in every language */
    CHECK(strcmp(fp, "ba7816bf8f01cfea") == 0);
    CHECK_STATUS(CORTIAUTH_STATUS_NULL_PARAMETER, cortiauth_fingerprint(NULL, &fp), NULL);

    seen.main_thread = pthread_self();
    cortiauth_config *c = kc_config();
    CHECK_OK(cortiauth_config_set_background_refresh(c, true), NULL);
    cortiauth_manager *m = manager_of(c);
    cortiauth_error *err = NULL;
    CHECK_OK(cortiauth_manager_set_event_callback(m, on_event, &seen, &err), &err);
    char *first = token_of(m);

    pthread_mutex_lock(&seen.lock);
    int fetched = seen.fetched, on_main = seen.fetched_on_main;
    pthread_mutex_unlock(&seen.lock);
    /* The API rejected it: no caller asks again; the background refresher fetches. */
    CHECK(cortiauth_manager_invalidate(m, first));
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 20;
    pthread_mutex_lock(&seen.lock);
    while (seen.fetched == fetched) CHECK(pthread_cond_timedwait(&seen.changed, &seen.lock, &deadline) == 0);
    CHECK(seen.fetched_on_main == on_main); /* that fetch ran on the worker thread */
    CHECK(seen.rejected == 1);
    pthread_mutex_unlock(&seen.lock);

    char *second = token_of(m);
    CHECK(strcmp(first, second) != 0);
    CHECK_OK(cortiauth_fingerprint(second, &fp), NULL);
    pthread_mutex_lock(&seen.lock);
    CHECK(strcmp(fp, seen.fingerprint) == 0);
    pthread_mutex_unlock(&seen.lock);

    /* Rotation in place (the same secret here: Keycloak's is fixed for this client). */
    int64_t loaded = cortiauth_manager_credential_loaded_at_ms(m);
    CHECK(loaded > 0);
    CHECK_OK(cortiauth_manager_set_client_secret(m, need_env("CORTIAUTH_KC_CLIENT_SECRET"), &err), &err);
    CHECK(cortiauth_manager_credential_loaded_at_ms(m) >= loaded);
    CHECK_STATUS(CORTIAUTH_STATUS_CONFIG, cortiauth_manager_set_client_secret(m, "", &err), &err);
    cortiauth_error_free(err);
    err = NULL;
    CHECK_STATUS(CORTIAUTH_STATUS_NULL_PARAMETER, cortiauth_manager_set_client_secret(m, NULL, NULL), NULL);
    pthread_mutex_lock(&seen.lock);
    CHECK(seen.reloaded == 1);
    CHECK(seen.leaked == 0);
    pthread_mutex_unlock(&seen.lock);

    CHECK_OK(cortiauth_manager_set_event_callback(m, NULL, NULL, &err), &err);
    cortiauth_string_free(first);
    cortiauth_string_free(second);
    cortiauth_manager_free(m);
}

/* ---- runner ----------------------------------------------------------------------------- */

struct test_case {
    const char *name;
    void (*run)(void);
};

#define CASE(name) {#name, test_##name}
static const struct test_case TESTS[] = {
    CASE(version),
    CASE(events_from_the_worker_thread),
    CASE(docs_example),
    CASE(from_env_reports_missing_variables),
    CASE(caching),
    CASE(shared_cache_file_store),
    CASE(sixteen_threads_one_request),
    CASE(buffer),
    CASE(null_arguments),
    CASE(invalid_arguments),
    CASE(config_errors),
    CASE(wrong_secret_is_invalid_client),
    CASE(disabled_client_is_refused),
    CASE(unknown_tenant_is_http_404),
    CASE(scopes),
    CASE(websocket_url),
    CASE(authorization_header_and_api_urls),
    CASE(api_url_is_joined_by_the_core),
    CASE(invalidate_after_401),
    CASE(clone_shares_the_cache),
    CASE(tiro_auth_methods),
    CASE(network_error),
    CASE(timeout),
    CASE(bad_ca_certificate),
    CASE(background_refresh),
    CASE(defaults_are_the_cores),
    CASE(describe),
    CASE(api_base_url_and_retry_deadline_setters),
    CASE(cooldown_rule_is_the_cores),
    CASE(extra_param_set_twice_sends_the_last_value),
    CASE(client_secret_file),
    CASE(string_free_after_shortening),
    CASE(ca_cert_pem_adds),
    CASE(invalidate_accepts_bearer_prefix),
    CASE(client_assertions),
};
#define NTESTS (sizeof TESTS / sizeof TESTS[0])

int main(int argc, char **argv) {
    if (argc == 2) {
        for (size_t i = 0; i < NTESTS; i++) {
            if (strcmp(argv[1], TESTS[i].name) == 0) {
                TESTS[i].run();
                printf("ok %s\n", TESTS[i].name);
                return 0;
            }
        }
        fprintf(stderr, "unknown test %s\n", argv[1]);
        return 2;
    }
    for (size_t i = 0; i < NTESTS; i++) {
        TESTS[i].run();
        printf("ok %s\n", TESTS[i].name);
    }
    printf("%zu passed, 0 failed\n", NTESTS);
    return 0;
}
