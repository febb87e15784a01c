/*
 * C side of the settings parity test (tests/parity/run.sh): maps each
 * case's canonical settings onto the C setters (cortiauth_config_set_*) and prints
 * one line per case:
 *
 *     NAME<TAB>DESCRIBE-JSON
 *
 * where DESCRIBE-JSON is cortiauth_config_describe() of the config, the string
 * cortiauth_manager_describe() returns for a manager built from it (tests/c checks
 * that they are equal). The config is described rather than a manager built so
 * that no case starts a background refresh towards a non-loopback host.
 *
 * Input (stdin, UTF-8), written by tests/parity/cases_to_lines.py from cases.json:
 * cases one after another, each
 *
 *     name<TAB>CASE-NAME                first line of a case
 *     KEY<TAB>VALUE                     zero or more; KEY a canonical key
 *     ---                               ends the case
 *
 * - KEY is a canonical setting (first column of the settings table: client_id,
 *   timeout_ms, …); keys are applied in input order, once per line.
 * - Strings are verbatim (they contain no TAB or newline); durations and
 *   max_attempts are decimal integers (milliseconds); refresh_margin_fraction a
 *   decimal number; background_refresh `true` or `false`.
 * - scopes: one line, the scopes separated by single spaces (one setter call).
 * - extra_params: one line per pair, in order: extra_params<TAB>NAME<TAB>VALUE.
 * - ca_certificates: one line per file: the path of a PEM file (relative to the
 *   working directory), whose content is passed to cortiauth_config_set_ca_cert_pem.
 * - auth_method: client_secret_post or client_secret_basic.
 * - Empty lines are ignored. Anything else is an error: the message goes to stderr
 *   and the exit status is 1 (also when a case's settings are refused).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cortiauth.h>

static int line_no = 0;

static void die(const char *what, const char *detail) {
    fprintf(stderr, "run_c: line %d: %s%s%s\n", line_no, what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static uint64_t number(const char *v) {
    char *end = NULL;
    unsigned long long n = strtoull(v, &end, 10);
    if (*v == '\0' || *end != '\0' || *v == '-') die("not a non-negative integer", v);
    return (uint64_t)n;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) die("cannot open", path);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf != NULL && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (buf == NULL) die("out of memory", NULL);
    buf[len] = '\0';
    return buf;
}

static void ok(cortiauth_status s, const char *key) {
    if (s != CORTIAUTH_STATUS_OK) die(cortiauth_status_str(s), key);
}

static void apply(cortiauth_config *c, const char *key, char *value) {
#define STR(k, setter) else if (strcmp(key, k) == 0) ok(setter(c, value), key)
#define MS(k, setter) else if (strcmp(key, k) == 0) ok(setter(c, number(value)), key)
    if (0) {
    }
    STR("client_id", cortiauth_config_set_client_id);
    STR("client_secret", cortiauth_config_set_client_secret);
    STR("client_secret_file", cortiauth_config_set_client_secret_file);
    STR("environment", cortiauth_config_set_environment);
    STR("tenant", cortiauth_config_set_tenant);
    STR("scopes", cortiauth_config_set_scopes);
    STR("token_url", cortiauth_config_set_token_url);
    STR("api_base_url", cortiauth_config_set_api_base_url);
    STR("shared_cache", cortiauth_config_set_shared_cache);
    MS("timeout_ms", cortiauth_config_set_timeout_ms);
    MS("initial_backoff_ms", cortiauth_config_set_initial_backoff_ms);
    MS("max_backoff_ms", cortiauth_config_set_max_backoff_ms);
    MS("retry_deadline_ms", cortiauth_config_set_retry_deadline_ms);
    MS("failure_cooldown_ms", cortiauth_config_set_failure_cooldown_ms);
    MS("refresh_margin_ms", cortiauth_config_set_refresh_margin_ms);
    MS("expiry_skew_ms", cortiauth_config_set_expiry_skew_ms);
    MS("default_lifetime_ms", cortiauth_config_set_default_lifetime_ms);
    else if (strcmp(key, "max_attempts") == 0) {
        uint64_t n = number(value);
        if (n > UINT32_MAX) die("max_attempts out of range", value);
        ok(cortiauth_config_set_max_attempts(c, (uint32_t)n), key);
    } else if (strcmp(key, "refresh_margin_fraction") == 0) {
        char *end = NULL;
        double f = strtod(value, &end);
        if (*value == '\0' || *end != '\0') die("not a number", value);
        ok(cortiauth_config_set_refresh_margin_fraction(c, f), key);
    } else if (strcmp(key, "background_refresh") == 0) {
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) die("not true/false", value);
        ok(cortiauth_config_set_background_refresh(c, strcmp(value, "true") == 0), key);
    } else if (strcmp(key, "auth_method") == 0) {
        uint32_t m;
        if (strcmp(value, "client_secret_post") == 0) m = CORTIAUTH_AUTH_METHOD_CLIENT_SECRET_POST;
        else if (strcmp(value, "client_secret_basic") == 0) m = CORTIAUTH_AUTH_METHOD_CLIENT_SECRET_BASIC;
        else die("unknown auth_method", value);
        ok(cortiauth_config_set_auth_method(c, m), key);
    } else if (strcmp(key, "extra_params") == 0) {
        char *tab = strchr(value, '\t');
        if (tab == NULL) die("extra_params needs NAME<TAB>VALUE", value);
        *tab = '\0';
        ok(cortiauth_config_set_extra_param(c, value, tab + 1), key);
    } else if (strcmp(key, "ca_certificates") == 0) {
        char *pem = read_file(value);
        ok(cortiauth_config_set_ca_cert_pem(c, pem), key);
        free(pem);
    } else {
        die("unknown canonical setting", key);
    }
#undef STR
#undef MS
}

int main(void) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    cortiauth_config *config = NULL;
    char *name = NULL;
    while ((got = getline(&line, &cap, stdin)) != -1) {
        line_no++;
        if (got > 0 && line[got - 1] == '\n') line[--got] = '\0';
        if (got == 0) continue;
        if (strcmp(line, "---") == 0) {
            if (config == NULL) die("--- outside a case", NULL);
            char *json = NULL;
            cortiauth_error *err = NULL;
            if (cortiauth_config_describe(config, &json, &err) != CORTIAUTH_STATUS_OK)
                die(name, cortiauth_error_message(err));
            printf("%s\t%s\n", name, json);
            cortiauth_string_free(json);
            cortiauth_config_free(config);
            config = NULL;
            free(name);
            name = NULL;
            continue;
        }
        char *tab = strchr(line, '\t');
        if (tab == NULL) die("expected KEY<TAB>VALUE", line);
        *tab = '\0';
        if (strcmp(line, "name") == 0) {
            if (config != NULL) die("a case without ---", name);
            config = cortiauth_config_new();
            if (config == NULL) die("cortiauth_config_new failed", NULL);
            name = strdup(tab + 1);
        } else {
            if (config == NULL) die("a setting before name<TAB>…", line);
            apply(config, line, tab + 1);
        }
    }
    if (config != NULL) die("the last case has no ---", name);
    free(line);
    return fflush(stdout) == 0 ? 0 : 1;
}
