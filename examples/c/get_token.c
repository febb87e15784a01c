/*
 * The Corti docs' example in C: get an access token with the client-credentials
 * grant and print it, then show what a Corti API call and a WebSocket need.
 *
 *   export CORTI_CLIENT_ID=... CORTI_CLIENT_SECRET=... CORTI_ENVIRONMENT=eu CORTI_TENANT_NAME=base
 *   ./get_token [stream-url]
 *
 * (CORTI_TOKEN_URL replaces environment + tenant for other servers, e.g.
 * Tiro.health's https://auth.tiro.health/oauth/token.)
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <cortiauth.h>

/* Prints what went wrong and frees the error. */
static int report(const char *what, cortiauth_status status, cortiauth_error *err) {
    fprintf(stderr, "%s failed (%s): %s\n", what, cortiauth_status_str(status),
            err ? cortiauth_error_message(err) : "no detail");
    if (cortiauth_error_oauth_code(err) != NULL)
        fprintf(stderr, "  OAuth error %s, HTTP %u\n", cortiauth_error_oauth_code(err),
                (unsigned)cortiauth_error_http_status(err));
    cortiauth_error_free(err);
    return 1;
}

int main(int argc, char **argv) {
    cortiauth_manager *manager = NULL;
    cortiauth_error *err = NULL;
    cortiauth_status status;

    /* One manager per client, shared by every thread of the program. */
    status = cortiauth_manager_from_env(&manager, &err);
    if (status != CORTIAUTH_STATUS_OK) return report("configuration", status, err);

    /* 1. Request an access token (cached and refreshed ahead of expiry from now on). */
    char *token = NULL;
    int64_t expires_at = 0;
    status = cortiauth_manager_get_token(manager, &token, &expires_at, &err);
    if (status != CORTIAUTH_STATUS_OK) {
        cortiauth_manager_free(manager);
        return report("token request", status, err);
    }
    printf("%s\n", token);
    fprintf(stderr, "expires at %" PRId64 " (Unix time)\n", expires_at);
    cortiauth_string_free(token);

    /* 2. An API request carries the token and the tenant name. */
    char *authorization = NULL;
    status = cortiauth_manager_authorization_header(manager, &authorization, &err);
    if (status != CORTIAUTH_STATUS_OK) {
        cortiauth_manager_free(manager);
        return report("authorization header", status, err);
    }
    const char *api = cortiauth_manager_api_base_url(manager);
    fprintf(stderr, "POST %s/interactions/\nTenant-Name: %s\nAuthorization: Bearer <token>\n",
            api ? api : "https://api.{environment}.corti.app/v2", cortiauth_manager_tenant(manager));
    cortiauth_string_free(authorization);

    /* 3. A WebSocket takes the token in its URL: build it again at each (re)connect. */
    if (argc > 1) {
        char *url = NULL;
        status = cortiauth_manager_websocket_url(manager, argv[1], &url, &err);
        if (status != CORTIAUTH_STATUS_OK) {
            cortiauth_manager_free(manager);
            return report("websocket URL", status, err);
        }
        fprintf(stderr, "websocket URL ready (%zu characters)\n", strlen(url));
        cortiauth_string_free(url);
    }

    cortiauth_manager_free(manager);
    return 0;
}
