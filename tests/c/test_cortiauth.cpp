// C++17 tests of libcortiauth through include/cortiauth.hpp (the header-only
// wrapper: RAII handles, std::string results, cortiauth::Error), against the real
// servers of tests/servers/with-servers.sh.
//
//   test_cortiauth_cpp NAME   run one test (ctest runs each CASE below)
//   test_cortiauth_cpp        run all of them
#include <cortiauth.hpp>

#include <array>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

// In C++ the status and auth method are enums whose underlying type is uint32_t.
static_assert(std::is_same<std::underlying_type_t<cortiauth_status>, uint32_t>::value,
              "cortiauth_status is a uint32_t enum");
static_assert(sizeof(cortiauth_stats) == 8 * sizeof(uint64_t) + 8 + sizeof(const char *), "cortiauth_stats layout");
// Config is move-only; Manager is a shared handle (copyable, and movable without a clone).
static_assert(!std::is_copy_constructible<cortiauth::Config>::value, "Config is move-only");
static_assert(std::is_nothrow_move_constructible<cortiauth::Config>::value, "Config moves");
static_assert(std::is_copy_constructible<cortiauth::Manager>::value, "Manager copies share");
static_assert(std::is_nothrow_move_constructible<cortiauth::Manager>::value, "Manager moves");
static_assert(std::is_base_of<std::runtime_error, cortiauth::Error>::value, "Error is an exception");

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

bool contains(const std::string &haystack, const std::string &needle) {
    return haystack.find(needle) != std::string::npos;
}

cortiauth::Config kc_config() {
    cortiauth::Config c;
    c.client_id(need_env("CORTIAUTH_KC_CLIENT_ID"))
        .client_secret(need_env("CORTIAUTH_KC_CLIENT_SECRET"))
        .token_url(need_env("CORTIAUTH_KC_TOKEN_URL_BASE"))
        .max_attempts(1);
    return c;
}

// ---- tests ------------------------------------------------------------------------------

void test_docs_example() {
    cortiauth::Manager manager(kc_config());
    int64_t expires_at = 0;
    std::string token = manager.token(&expires_at);
    CHECK(token.size() > 20 && token.rfind("eyJ", 0) == 0);
    CHECK(expires_at > static_cast<int64_t>(std::time(nullptr)));
    std::printf("access token: %.12s... (%zu bytes)\n", token.c_str(), token.size());
    CHECK(cortiauth::version() == CORTIAUTH_VERSION);
}

void test_caching() {
    cortiauth::Manager manager(kc_config());
    CHECK(manager.token() == manager.token());
    cortiauth_stats s = manager.stats();
    CHECK(s.token_requests == 1 && s.cache_hits >= 1);
}

void test_sixteen_threads_one_request() {
    cortiauth::Manager manager(kc_config());
    std::mutex mu;
    std::condition_variable cv;
    bool go = false;
    int ready = 0;
    std::vector<std::string> tokens(16);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        // Each thread gets its own copy of the handle: one cache for all.
        threads.emplace_back([&, i, m = manager] {
            std::unique_lock<std::mutex> lock(mu);
            ++ready;
            cv.notify_all();
            cv.wait(lock, [&] { return go; });
            lock.unlock();
            tokens[i] = m.token();
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

void test_copies_share_one_cache_and_moves_empty() {
    std::string first;
    cortiauth::Manager copy = [&] {
        cortiauth::Manager original(kc_config());
        first = original.token();
        return cortiauth::Manager(original);  // a second reference; the original goes away
    }();
    CHECK(copy.token() == first);
    CHECK(copy.stats().token_requests == 1);
    cortiauth::Manager moved(std::move(copy));
    CHECK(!copy);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
    CHECK(moved && moved.token() == first);
    try {
        copy.token();
        fail(__FILE__, __LINE__, "a moved-from manager must throw");
    } catch (const cortiauth::Error &e) {
        CHECK(e.status() == CORTIAUTH_STATUS_NULL_PARAMETER);
    }
    cortiauth::Manager assigned = moved;
    const cortiauth::Manager &alias = assigned;
    assigned = alias;  // self-assignment keeps the handle
    CHECK(assigned.token() == first);
}

void test_headers_and_urls() {
    cortiauth::Config config = kc_config();
    config.environment("eu").tenant("base");
    cortiauth::Manager manager(config);
    auto headers = manager.headers();
    CHECK(headers.size() == 2);
    CHECK(headers[0].first == "Authorization" && headers[0].second == "Bearer " + manager.token());
    CHECK(headers[1].first == "Tenant-Name" && headers[1].second == "base");
    CHECK(manager.api_base_url() == std::optional<std::string>("https://api.eu.corti.app/v2"));
    const std::string stream = "wss://api.us.corti.app/audio-bridge/v2/interactions/9/streams?tenant-name=base";
    CHECK(manager.websocket_url(stream) == stream + "&token=Bearer%20" + manager.token());
    CHECK(!cortiauth::Manager(kc_config()).api_base_url().has_value());
    CHECK(manager.api_url("/interactions") == "https://api.eu.corti.app/v2/interactions");
}

void test_invalidate() {
    cortiauth::Manager manager(kc_config());
    std::string first = manager.token();
    CHECK(!manager.invalidate("some-other-token"));
    CHECK(manager.invalidate(first));
    CHECK(!manager.invalidate(first));
    std::string second = manager.token();
    CHECK(second != first);
    CHECK(manager.stats().token_requests == 2);
    // The core's 401 rule: a 401 from a redirect target keeps the token; one from
    // the API's origin drops it.
    const std::string api = "https://api.eu.corti.app/v2/interactions";
    CHECK(!manager.on_response(second, api, "https://login.example/", 401));
    CHECK(manager.token() == second);
    CHECK(manager.on_response(second, api, api, 401));
    CHECK(manager.token() != second);
    CHECK(manager.stats().token_requests == 3);
}

void test_describe() {
    cortiauth::Config config = kc_config();
    config.retry_deadline_ms(12000).api_base_url("https://api.example.test/v2/").extra_param("audience", "a")
        .extra_param("audience", "b");
    std::string expected = config.describe();
    cortiauth::Manager manager(config);
    std::string json = manager.describe();
    CHECK(json == expected);
    CHECK(contains(json, "\"retry_deadline_ms\":12000"));
    CHECK(contains(json, "\"api_base_url\":\"https://api.example.test/v2\""));
    CHECK(contains(json, "\"extra_params\":[[\"audience\",\"b\"]]"));
    CHECK(contains(json, "\"client_secret\":\"[REDACTED]\""));
    CHECK(!contains(json, need_env("CORTIAUTH_KC_CLIENT_SECRET")));
    CHECK(contains(json, " (c)\""));
    CHECK(manager.stats().token_requests == 0);  // describing fetches nothing
}

void test_config_errors_name_the_setting() {
    cortiauth::Config config = kc_config();
    config.timeout_ms(0);
    try {
        cortiauth::Manager manager(config);
        fail(__FILE__, __LINE__, "a zero timeout must be refused");
    } catch (const cortiauth::Error &e) {
        CHECK(e.status() == CORTIAUTH_STATUS_CONFIG);
        CHECK(std::string(e.status_name()) == "config");
        CHECK(contains(e.what(), "timeout"));
        CHECK(e.http_status() == 0 && e.oauth_code().empty() && !e.transient());
    }
    try {
        (void)config.describe();
        fail(__FILE__, __LINE__, "describe checks the settings too");
    } catch (const cortiauth::Error &e) {
        CHECK(e.status() == CORTIAUTH_STATUS_CONFIG);
    }
    try {
        config.auth_method(static_cast<cortiauth::AuthMethod>(7));
        fail(__FILE__, __LINE__, "an unknown auth method is refused by the setter");
    } catch (const cortiauth::Error &e) {
        CHECK(e.status() == CORTIAUTH_STATUS_INVALID_ARGUMENT);
    }
}

void test_buffer() {
    cortiauth::Manager manager(kc_config());
    std::array<char, 4096> big{};
    std::size_t needed = 0;
    CHECK(cortiauth_manager_get_token_buf(manager.get(), big.data(), big.size(), &needed, nullptr,
                                          nullptr) == CORTIAUTH_STATUS_OK);
    std::string token = manager.token();
    CHECK(needed == token.size() + 1);
    CHECK(token == big.data());
}

void test_wrong_secret_is_invalid_client() {
    cortiauth::Config config = kc_config();
    config.client_secret("wrong-secret-cpp");
    cortiauth::Manager manager(config);
    try {
        manager.token();
        fail(__FILE__, __LINE__, "a wrong secret must fail");
    } catch (const cortiauth::Error &e) {
        CHECK(e.status() == CORTIAUTH_STATUS_OAUTH);
        CHECK(e.oauth_code() == "invalid_client");
        CHECK(e.http_status() == 401);
        CHECK(!e.transient());
        CHECK(!contains(e.what(), "wrong-secret-cpp"));
    }
}

void test_network_error_is_transient() {
    cortiauth::Config config = kc_config();
    config.token_url("http://127.0.0.1:1/token");
    cortiauth::Manager manager(config);
    try {
        manager.authorization_header();
        fail(__FILE__, __LINE__, "nothing listens on port 1");
    } catch (const cortiauth::Error &e) {
        CHECK(e.status() == CORTIAUTH_STATUS_NETWORK);
        CHECK(e.transient() && e.http_status() == 0);
    }
}

void test_tiro_basic_auth() {
    cortiauth::Config config;
    config.client_id(need_env("CORTIAUTH_TIRO_CLIENT_ID"))
        .client_secret(need_env("CORTIAUTH_TIRO_CLIENT_SECRET"))
        .token_url(need_env("CORTIAUTH_TIRO_TOKEN_URL"))
        .auth_method(cortiauth::AuthMethod::client_secret_basic)
        .max_attempts(1);
    cortiauth::Manager manager(config);
    CHECK(manager.token().size() > 10);
    CHECK(contains(manager.describe(), "\"auth_method\":\"client_secret_basic\""));
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
    CASE(copies_share_one_cache_and_moves_empty),
    CASE(headers_and_urls),
    CASE(invalidate),
    CASE(describe),
    CASE(config_errors_name_the_setting),
    CASE(buffer),
    CASE(wrong_secret_is_invalid_client),
    CASE(network_error_is_transient),
    CASE(tiro_basic_auth),
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
