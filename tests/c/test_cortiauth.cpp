// C++17 tests of libcortiauth, through the kind of thin RAII wrapper a C++ user
// writes (unique_ptr deleters, an exception carrying the status), against the real
// servers of tests/servers/with-servers.sh.
//
//   test_cortiauth_cpp NAME   run one test (ctest runs each CASE below)
//   test_cortiauth_cpp        run all of them
#include <cortiauth.h>

#include <array>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

// In C++ the status and auth method are enums whose underlying type is uint32_t.
static_assert(std::is_same<std::underlying_type_t<cortiauth_status>, uint32_t>::value,
              "cortiauth_status is a uint32_t enum");
static_assert(sizeof(cortiauth_stats) == 4 * sizeof(uint64_t) + 8, "cortiauth_stats layout");

namespace {

[[noreturn]] void fail(const char *file, int line, const std::string &what) {
    std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what.c_str());
    std::exit(1);
}
#define CHECK(cond) \
    do {            \
        if (!(cond)) fail(__FILE__, __LINE__, #cond); \
    } while (0)

std::string need_env(const char *name) {
    const char *v = std::getenv(name);
    if (v == nullptr || *v == '\0') fail(__FILE__, __LINE__, std::string(name) + " is not set");
    return v;
}

// ---- the wrapper ------------------------------------------------------------------------

struct Free {
    void operator()(cortiauth_config *p) const noexcept { cortiauth_config_free(p); }
    void operator()(cortiauth_manager *p) const noexcept { cortiauth_manager_free(p); }
    void operator()(cortiauth_error *p) const noexcept { cortiauth_error_free(p); }
    void operator()(char *p) const noexcept { cortiauth_string_free(p); }
};
using ConfigPtr = std::unique_ptr<cortiauth_config, Free>;
using ManagerPtr = std::unique_ptr<cortiauth_manager, Free>;
using ErrorPtr = std::unique_ptr<cortiauth_error, Free>;
using OwnedString = std::unique_ptr<char, Free>;

class Error : public std::runtime_error {
public:
    Error(cortiauth_status status, cortiauth_error *raw)
        : std::runtime_error(raw ? cortiauth_error_message(raw) : cortiauth_status_str(status)),
          status_(status),
          oauth_code_(raw && cortiauth_error_oauth_code(raw) ? cortiauth_error_oauth_code(raw) : ""),
          http_status_(raw ? cortiauth_error_http_status(raw) : 0) {}
    cortiauth_status status() const { return status_; }
    const std::string &oauth_code() const { return oauth_code_; }
    int http_status() const { return http_status_; }

private:
    cortiauth_status status_;
    std::string oauth_code_;
    int http_status_;
};

// Takes `err` by address: in `check(f(&e), e)` the second argument could be read
// before `f` runs (argument evaluation order is unspecified).
void check(cortiauth_status status, cortiauth_error **err) {
    ErrorPtr owned(err ? *err : nullptr);
    if (status != CORTIAUTH_STATUS_OK) throw Error(status, owned.get());
}

class Config {
public:
    Config() : c_(cortiauth_config_new()) { CHECK(c_ != nullptr); }
    Config &client_id(const std::string &v) { return set(cortiauth_config_set_client_id(c_.get(), v.c_str())); }
    Config &client_secret(const std::string &v) { return set(cortiauth_config_set_client_secret(c_.get(), v.c_str())); }
    Config &token_url(const std::string &v) { return set(cortiauth_config_set_token_url(c_.get(), v.c_str())); }
    Config &max_attempts(uint32_t n) { return set(cortiauth_config_set_max_attempts(c_.get(), n)); }
    const cortiauth_config *get() const { return c_.get(); }

private:
    Config &set(cortiauth_status s) {
        check(s, nullptr);
        return *this;
    }
    ConfigPtr c_;
};

class TokenManager {
public:
    explicit TokenManager(const Config &config) {
        cortiauth_manager *m = nullptr;
        cortiauth_error *e = nullptr;
        check(cortiauth_manager_new(config.get(), &m, &e), &e);
        m_.reset(m);
    }
    std::string token() const {
        char *t = nullptr;
        cortiauth_error *e = nullptr;
        check(cortiauth_manager_get_token(m_.get(), &t, nullptr, &e), &e);
        return std::string(OwnedString(t).get());
    }
    // No allocation in the library: the token is copied into `buf`.
    template <std::size_t N>
    std::size_t token_into(std::array<char, N> &buf) const {
        std::size_t needed = 0;
        cortiauth_error *e = nullptr;
        check(cortiauth_manager_get_token_buf(m_.get(), buf.data(), buf.size(), &needed, nullptr, &e), &e);
        return needed;
    }
    std::string websocket_url(const std::string &stream_url) const {
        char *u = nullptr;
        cortiauth_error *e = nullptr;
        check(cortiauth_manager_websocket_url(m_.get(), stream_url.c_str(), &u, &e), &e);
        return std::string(OwnedString(u).get());
    }
    cortiauth_stats stats() const {
        cortiauth_stats s{};
        check(cortiauth_manager_stats(m_.get(), &s), nullptr);
        return s;
    }
    const cortiauth_manager *get() const { return m_.get(); }

private:
    ManagerPtr m_;
};

Config kc_config() {
    Config c;
    c.client_id(need_env("CORTIAUTH_KC_CLIENT_ID"))
        .client_secret(need_env("CORTIAUTH_KC_CLIENT_SECRET"))
        .token_url(need_env("CORTIAUTH_KC_TOKEN_URL_BASE"))
        .max_attempts(1);
    return c;
}

// ---- tests ------------------------------------------------------------------------------

void test_docs_example() {
    TokenManager manager(kc_config());
    std::string token = manager.token();
    CHECK(token.size() > 20 && token.rfind("eyJ", 0) == 0);
    std::printf("access token: %.12s... (%zu bytes)\n", token.c_str(), token.size());
    CHECK(std::string(cortiauth_version()) == CORTIAUTH_VERSION);
}

void test_caching() {
    TokenManager manager(kc_config());
    CHECK(manager.token() == manager.token());
    cortiauth_stats s = manager.stats();
    CHECK(s.token_requests == 1 && s.cache_hits >= 1);
}

void test_sixteen_threads_one_request() {
    TokenManager manager(kc_config());
    std::mutex mu;
    std::condition_variable cv;
    bool go = false;
    int ready = 0;
    std::vector<std::string> tokens(16);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        threads.emplace_back([&, i] {
            std::unique_lock<std::mutex> lock(mu);
            ++ready;
            cv.notify_all();
            cv.wait(lock, [&] { return go; });
            lock.unlock();
            tokens[i] = manager.token();
        });
    }
    {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return ready == 16; });
        go = true;
    }
    cv.notify_all();
    for (auto &t : threads) t.join();
    for (const auto &t : tokens) CHECK(!t.empty() && t == tokens[0]);
    CHECK(manager.stats().token_requests == 1);
}

void test_buffer() {
    TokenManager manager(kc_config());
    std::array<char, 8> small{};
    try {
        manager.token_into(small);
        fail(__FILE__, __LINE__, "a token does not fit in 8 bytes");
    } catch (const Error &e) {
        CHECK(e.status() == CORTIAUTH_STATUS_BUFFER_TOO_SMALL);
    }
    std::array<char, 4096> big{};
    std::size_t needed = manager.token_into(big);
    std::string token = manager.token();
    CHECK(needed == token.size() + 1);
    CHECK(token == big.data());
}

void test_wrong_secret_is_invalid_client() {
    Config config = kc_config();
    config.client_secret("wrong-secret-cpp");
    TokenManager manager(config);
    try {
        manager.token();
        fail(__FILE__, __LINE__, "a wrong secret must fail");
    } catch (const Error &e) {
        CHECK(e.status() == CORTIAUTH_STATUS_OAUTH);
        CHECK(e.oauth_code() == "invalid_client");
        CHECK(e.http_status() == 401);
        CHECK(std::string(e.what()).find("wrong-secret-cpp") == std::string::npos);
    }
}

void test_websocket_url() {
    TokenManager manager(kc_config());
    const std::string stream = "wss://api.us.corti.app/audio-bridge/v2/interactions/9/streams?tenant-name=base";
    std::string url = manager.websocket_url(stream);
    CHECK(url == stream + "&token=Bearer%20" + manager.token());
}

void test_null_arguments() {
    cortiauth_error *e = nullptr;
    char *t = nullptr;
    CHECK(cortiauth_manager_get_token(nullptr, &t, nullptr, &e) == CORTIAUTH_STATUS_NULL_PARAMETER);
    ErrorPtr owned(e);
    CHECK(cortiauth_error_status(owned.get()) == CORTIAUTH_STATUS_NULL_PARAMETER);
    CHECK(t == nullptr);
    TokenManager manager(kc_config());
    CHECK(cortiauth_manager_get_token(manager.get(), nullptr, nullptr, nullptr) ==
          CORTIAUTH_STATUS_NULL_PARAMETER);
    CHECK(cortiauth_config_set_client_id(nullptr, "x") == CORTIAUTH_STATUS_NULL_PARAMETER);
}

struct Case {
    const char *name;
    void (*run)();
};
#define CASE(name) {#name, test_##name}
const Case TESTS[] = {
    CASE(docs_example),
    CASE(caching),
    CASE(sixteen_threads_one_request),
    CASE(buffer),
    CASE(wrong_secret_is_invalid_client),
    CASE(websocket_url),
    CASE(null_arguments),
};

}  // namespace

int main(int argc, char **argv) {
    try {
        std::size_t ran = 0;
        for (const Case &c : TESTS) {
            if (argc == 2 && std::strcmp(argv[1], c.name) != 0) continue;
            c.run();
            std::printf("ok %s\n", c.name);
            ++ran;
        }
        if (ran == 0) {
            std::fprintf(stderr, "unknown test %s\n", argc == 2 ? argv[1] : "");
            return 2;
        }
        if (argc != 2) std::printf("%zu passed, 0 failed\n", ran);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "unexpected exception: %s\n", e.what());
        return 1;
    }
    return 0;
}
