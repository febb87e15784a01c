/*
 * cortiauth.hpp: a header-only C++17 wrapper over the cortiauth C API (cortiauth.h).
 *
 *   #include <cortiauth.hpp>
 *
 *   cortiauth::Manager manager = cortiauth::Manager::from_env();
 *   for (const auto &[name, value] : manager.headers()) request.set_header(name, value);
 *
 * - RAII: Config, Manager and the strings the library returns are released by
 *   destructors; nothing here needs a *_free call.
 * - Errors are thrown as cortiauth::Error (a std::runtime_error) carrying the
 *   status, the OAuth error code and description, and the HTTP status.
 * - Manager is a shared handle: copying it is cheap (cortiauth_manager_clone,
 *   one reference count) and every copy uses the same cache, so pass it by value
 *   to threads. It is thread-safe; Config is not (build it on one thread).
 * - Results are std::string copies; the library wipes its own copy of a token
 *   before freeing it, the std::string is yours to handle.
 *
 * Link with the C library as usual (CMake: find_package(cortiauth), target
 * cortiauth::cortiauth; pkg-config: cortiauth). Needs C++17.
 */
#ifndef CORTIAUTH_HPP
#define CORTIAUTH_HPP

#include <cortiauth.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace cortiauth {

/** A failed call: what happened and what to do (what()), never the secret or a token. */
class Error : public std::runtime_error {
public:
    Error(cortiauth_status status, std::string message, std::string oauth_code = {},
          std::string oauth_description = {}, unsigned http_status = 0, bool transient = false)
        : std::runtime_error(std::move(message)),
          status_(status),
          oauth_code_(std::move(oauth_code)),
          oauth_description_(std::move(oauth_description)),
          http_status_(http_status),
          transient_(transient) {}

    /** CORTIAUTH_STATUS_CONFIG, _OAUTH, _HTTP, _NETWORK, _TIMEOUT, … (never _OK). */
    cortiauth_status status() const noexcept { return status_; }
    /** The status's stable name: "config", "oauth", "network", … */
    const char *status_name() const noexcept { return cortiauth_status_str(status_); }
    /** The OAuth `error` code ("invalid_client", …), empty when not an OAuth error. */
    const std::string &oauth_code() const noexcept { return oauth_code_; }
    /** The OAuth `error_description`, empty when the server sent none. */
    const std::string &oauth_description() const noexcept { return oauth_description_; }
    /** The token endpoint's HTTP status (401, 404, …), 0 when there was no answer. */
    unsigned http_status() const noexcept { return http_status_; }
    /** Whether trying again later may succeed (the manager already retried). */
    bool transient() const noexcept { return transient_; }

private:
    cortiauth_status status_;
    std::string oauth_code_;
    std::string oauth_description_;
    unsigned http_status_;
    bool transient_;
};

namespace detail {

struct Free {
    void operator()(cortiauth_config *p) const noexcept { cortiauth_config_free(p); }
    void operator()(cortiauth_manager *p) const noexcept { cortiauth_manager_free(p); }
    void operator()(cortiauth_error *p) const noexcept { cortiauth_error_free(p); }
    void operator()(char *p) const noexcept { cortiauth_string_free(p); }
};

inline std::string or_empty(const char *s) { return s != nullptr ? std::string(s) : std::string(); }

/** Throws for a failed status, taking ownership of `err` (may be NULL). */
inline void check(cortiauth_status status, cortiauth_error *err) {
    std::unique_ptr<cortiauth_error, Free> owned(err);
    if (status == CORTIAUTH_STATUS_OK) return;
    if (!owned) throw Error(status, cortiauth_status_str(status));
    throw Error(status, or_empty(cortiauth_error_message(owned.get())),
                or_empty(cortiauth_error_oauth_code(owned.get())),
                or_empty(cortiauth_error_oauth_description(owned.get())),
                cortiauth_error_http_status(owned.get()), cortiauth_error_is_transient(owned.get()));
}

/** Calls `f(char **out, cortiauth_error **err)` and returns the string it produced. */
template <typename F>
std::string string_result(F &&f) {
    char *out = nullptr;
    cortiauth_error *err = nullptr;
    cortiauth_status status = f(&out, &err);
    std::unique_ptr<char, Free> owned(out);
    check(status, err);
    return or_empty(owned.get());
}

}  // namespace detail

/** How the client authenticates at the token endpoint. */
enum class AuthMethod : uint32_t {
    client_secret_post = CORTIAUTH_AUTH_METHOD_CLIENT_SECRET_POST,
    client_secret_basic = CORTIAUTH_AUTH_METHOD_CLIENT_SECRET_BASIC,
    client_secret_jwt = CORTIAUTH_AUTH_METHOD_CLIENT_SECRET_JWT,
    private_key_jwt = CORTIAUTH_AUTH_METHOD_PRIVATE_KEY_JWT,
    tls_client_auth = CORTIAUTH_AUTH_METHOD_TLS_CLIENT_AUTH,
};

/**
 * Settings for a Manager: one setter per setting of the README's settings table
 * (durations in milliseconds), each returning *this for chaining. Setters only
 * store values; the rules and ranges are checked when a Manager is built (or by
 * describe()), which throws an Error with status CORTIAUTH_STATUS_CONFIG naming
 * the setting. Move-only; not thread-safe.
 */
class Config {
public:
    /** Every setting at its default. */
    Config() : c_(cortiauth_config_new()) { require(); }
    /** Pre-filled from CORTI_CLIENT_ID, CORTI_CLIENT_SECRET(_FILE), CORTI_ENVIRONMENT, … */
    static Config from_env() { return Config(cortiauth_config_from_env()); }

    Config &client_id(const std::string &v) { return set(cortiauth_config_set_client_id(get(), v.c_str())); }
    Config &client_secret(const std::string &v) { return set(cortiauth_config_set_client_secret(get(), v.c_str())); }
    Config &client_secret_file(const std::string &path) {
        return set(cortiauth_config_set_client_secret_file(get(), path.c_str()));
    }
    Config &environment(const std::string &v) { return set(cortiauth_config_set_environment(get(), v.c_str())); }
    Config &tenant(const std::string &v) { return set(cortiauth_config_set_tenant(get(), v.c_str())); }
    /** Space-separated; replaces earlier scopes (openid is always sent first). */
    Config &scopes(const std::string &v) { return set(cortiauth_config_set_scopes(get(), v.c_str())); }
    Config &scopes(const std::vector<std::string> &v) {
        std::string joined;
        for (const auto &s : v) joined.append(joined.empty() ? "" : " ").append(s);
        return scopes(joined);
    }
    Config &token_url(const std::string &v) { return set(cortiauth_config_set_token_url(get(), v.c_str())); }
    Config &api_base_url(const std::string &v) { return set(cortiauth_config_set_api_base_url(get(), v.c_str())); }
    Config &auth_method(AuthMethod m) {
        return set(cortiauth_config_set_auth_method(get(), static_cast<uint32_t>(m)));
    }
    /** The PEM private key of private_key_jwt, re-read before every token request. */
    Config &private_key_file(const std::string &path) {
        return set(cortiauth_config_set_private_key_file(get(), path.c_str()));
    }
    /** A client assertion minted elsewhere (a projected Kubernetes token), read before every request. */
    Config &client_assertion_file(const std::string &path) {
        return set(cortiauth_config_set_client_assertion_file(get(), path.c_str()));
    }
    /** RS256, PS256, ES256 (private_key_jwt) or HS256 (client_secret_jwt). */
    Config &signing_alg(const std::string &v) { return set(cortiauth_config_set_signing_alg(get(), v.c_str())); }
    Config &key_id(const std::string &v) { return set(cortiauth_config_set_key_id(get(), v.c_str())); }
    Config &assertion_audience(const std::string &v) {
        return set(cortiauth_config_set_assertion_audience(get(), v.c_str()));
    }
    /** mTLS: the PEM client certificate (chain) and its key (required by tls_client_auth). */
    Config &client_certificate_file(const std::string &path) {
        return set(cortiauth_config_set_client_certificate_file(get(), path.c_str()));
    }
    Config &client_key_file(const std::string &path) {
        return set(cortiauth_config_set_client_key_file(get(), path.c_str()));
    }
    /** A name set again keeps its last value. */
    Config &extra_param(const std::string &name, const std::string &value) {
        return set(cortiauth_config_set_extra_param(get(), name.c_str(), value.c_str()));
    }
    Config &timeout_ms(uint64_t v) { return set(cortiauth_config_set_timeout_ms(get(), v)); }
    Config &max_attempts(uint32_t v) { return set(cortiauth_config_set_max_attempts(get(), v)); }
    Config &initial_backoff_ms(uint64_t v) { return set(cortiauth_config_set_initial_backoff_ms(get(), v)); }
    Config &max_backoff_ms(uint64_t v) { return set(cortiauth_config_set_max_backoff_ms(get(), v)); }
    Config &retry_deadline_ms(uint64_t v) { return set(cortiauth_config_set_retry_deadline_ms(get(), v)); }
    Config &failure_cooldown_ms(uint64_t v) { return set(cortiauth_config_set_failure_cooldown_ms(get(), v)); }
    Config &refresh_margin_ms(uint64_t v) { return set(cortiauth_config_set_refresh_margin_ms(get(), v)); }
    Config &refresh_margin_fraction(double v) {
        return set(cortiauth_config_set_refresh_margin_fraction(get(), v));
    }
    Config &expiry_skew_ms(uint64_t v) { return set(cortiauth_config_set_expiry_skew_ms(get(), v)); }
    Config &default_lifetime_ms(uint64_t v) { return set(cortiauth_config_set_default_lifetime_ms(get(), v)); }
    Config &background_refresh(bool on) { return set(cortiauth_config_set_background_refresh(get(), on)); }
    /** Adds PEM certificates to trust; "" removes those added before. */
    Config &ca_certificates_pem(const std::string &pem) {
        return set(cortiauth_config_set_ca_certificates_pem(get(), pem.c_str()));
    }
    /// Deprecated: use ca_certificates_pem (the same setting).
    [[deprecated("use ca_certificates_pem")]] Config &ca_cert_pem(const std::string &pem) {
        return ca_certificates_pem(pem);
    }
    Config &shared_cache(const std::string &url) { return set(cortiauth_config_set_shared_cache(get(), url.c_str())); }

    /** The effective settings as JSON (what Manager::describe() will return); throws if invalid. */
    std::string describe() const {
        return detail::string_result(
            [&](char **out, cortiauth_error **err) { return cortiauth_config_describe(c_.get(), out, err); });
    }

    cortiauth_config *get() const noexcept { return c_.get(); }

private:
    explicit Config(cortiauth_config *c) : c_(c) { require(); }
    void require() const {
        if (!c_) throw Error(CORTIAUTH_STATUS_PANIC, "cortiauth: could not create a configuration");
    }
    Config &set(cortiauth_status s) {
        detail::check(s, nullptr);
        return *this;
    }
    std::unique_ptr<cortiauth_config, detail::Free> c_;
};

/**
 * A token manager: caches the access token, fetches one per lifetime however many
 * threads ask, refreshes ahead of expiry, retries transient failures.
 *
 * A shared handle: copies are cheap and share one cache (the C manager is
 * reference counted); the manager lives until the last copy is destroyed. A
 * moved-from Manager is empty: only destruction and assignment are allowed.
 * Thread-safe.
 */
class Manager {
public:
    /** Builds a manager (nothing is fetched yet unless background refresh is on). */
    explicit Manager(const Config &config) {
        cortiauth_manager *m = nullptr;
        cortiauth_error *err = nullptr;
        cortiauth_status status = cortiauth_manager_new(config.get(), &m, &err);
        m_.reset(m);
        detail::check(status, err);
    }
    /** From CORTI_CLIENT_ID, CORTI_CLIENT_SECRET(_FILE), CORTI_ENVIRONMENT, CORTI_TENANT_NAME, … */
    static Manager from_env() {
        cortiauth_manager *m = nullptr;
        cortiauth_error *err = nullptr;
        cortiauth_status status = cortiauth_manager_from_env(&m, &err);
        Manager manager(m);
        detail::check(status, err);
        return manager;
    }

    Manager(const Manager &other) : m_(other.m_ ? cortiauth_manager_clone(other.m_.get()) : nullptr) {}
    Manager &operator=(const Manager &other) {
        if (this != &other) m_.reset(other.m_ ? cortiauth_manager_clone(other.m_.get()) : nullptr);
        return *this;
    }
    Manager(Manager &&) noexcept = default;
    Manager &operator=(Manager &&) noexcept = default;
    ~Manager() = default;

    /** A valid access token (from the cache, or fetched once for all callers). */
    std::string token() const { return token(nullptr); }
    /** A valid access token, and its expiry in seconds since the Unix epoch. */
    std::string token(int64_t *expires_at_unix) const {
        return detail::string_result([&](char **out, cortiauth_error **err) {
            return cortiauth_manager_get_token(m_.get(), out, expires_at_unix, err);
        });
    }
    /** "Bearer <token>". */
    std::string authorization_header() const {
        return detail::string_result([&](char **out, cortiauth_error **err) {
            return cortiauth_manager_authorization_header(m_.get(), out, err);
        });
    }
    /** The two headers of a Corti API call: {"Authorization", "Bearer …"}, {"Tenant-Name", tenant}. */
    std::vector<std::pair<std::string, std::string>> headers() const {
        std::vector<std::pair<std::string, std::string>> h;
        h.reserve(2);
        h.emplace_back("Authorization", authorization_header());
        h.emplace_back("Tenant-Name", tenant());
        return h;
    }
    /** `stream_url` with `token=Bearer%20<token>` appended (call again on reconnect). */
    std::string websocket_url(const std::string &stream_url) const {
        return detail::string_result([&](char **out, cortiauth_error **err) {
            return cortiauth_manager_websocket_url(m_.get(), stream_url.c_str(), out, err);
        });
    }
    /** Replaces the client secret in place (the next token request sends it;
     * the token in use stays until its refresh). */
    void set_client_secret(const std::string &secret) const {
        cortiauth_error *err = nullptr;
        detail::check(cortiauth_manager_set_client_secret(m_.get(), secret.c_str(), &err), err);
    }
    /** The API answered 401 to `rejected_token` (the token or "Bearer <token>"):
     * drop it if still cached. True if dropped. */
    bool invalidate(const std::string &rejected_token) const {
        return cortiauth_manager_invalidate(m_.get(), rejected_token.c_str());
    }
    /** The one 401 rule of the HTTP integrations: true when the answer (`status`
     * from `answered_by`, the final URL) to a request that carried `sent_token` to
     * `sent_to` rejected the token (a 401 from that origin); it is then invalidated:
     * send the request once more with a new token. */
    bool on_response(const std::string &sent_token, const std::string &sent_to,
                     const std::string &answered_by, uint16_t status) const {
        return cortiauth_manager_on_response(m_.get(), sent_token.c_str(), sent_to.c_str(),
                                             answered_by.c_str(), status);
    }
    /** The effective settings as one line of JSON (the core's describe(), unchanged). */
    std::string describe() const {
        return detail::string_result([&](char **out, cortiauth_error **err) {
            return cortiauth_manager_describe(m_.get(), out, err);
        });
    }
    /** The tenant name ("base" unless configured). */
    std::string tenant() const { return detail::or_empty(cortiauth_manager_tenant(m_.get())); }
    /** The Corti API base URL, when an environment or api_base_url is configured. */
    std::optional<std::string> api_base_url() const {
        const char *u = cortiauth_manager_api_base_url(m_.get());
        return u != nullptr ? std::optional<std::string>(u) : std::nullopt;
    }
    /** A relative API path ("/interactions") joined onto api_base_url() by the core;
     * throws (CORTIAUTH_STATUS_CONFIG) without a base URL or for an absolute URL. */
    std::string api_url(const std::string &path) const {
        return detail::string_result([&](char **out, cortiauth_error **err) {
            return cortiauth_manager_api_url(m_.get(), path.c_str(), out, err);
        });
    }
    /** The manager's counters. */
    cortiauth_stats stats() const {
        cortiauth_stats s{};
        detail::check(cortiauth_manager_stats(m_.get(), &s), nullptr);
        return s;
    }

    /** The C handle (still owned by this object), for calls this wrapper does not cover. */
    const cortiauth_manager *get() const noexcept { return m_.get(); }
    explicit operator bool() const noexcept { return static_cast<bool>(m_); }

private:
    explicit Manager(cortiauth_manager *m) : m_(m) {}
    std::unique_ptr<cortiauth_manager, detail::Free> m_;
};

/** The library's version, "MAJOR.MINOR.PATCH" (compare with CORTIAUTH_VERSION). */
inline std::string version() { return cortiauth_version(); }

}  // namespace cortiauth

#endif /* CORTIAUTH_HPP */
