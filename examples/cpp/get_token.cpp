// The Corti docs' example in C++17 with include/cortiauth.hpp: get an access token
// with the client-credentials grant and print it, then show what a Corti API call
// and a WebSocket need.
//
//   export CORTI_CLIENT_ID=... CORTI_CLIENT_SECRET=... CORTI_ENVIRONMENT=eu CORTI_TENANT_NAME=base
//   ./get_token_cpp [stream-url]
//
// (CORTI_TOKEN_URL replaces environment + tenant for other servers, e.g.
// Tiro.health's https://auth.tiro.health/oauth/token.)
#include <cortiauth.hpp>

#include <iostream>

int main(int argc, char **argv) {
    try {
        // One manager per client; copies share it (pass them to your threads).
        cortiauth::Manager manager = cortiauth::Manager::from_env();

        // 1. An access token (cached and refreshed ahead of expiry from now on).
        std::cout << manager.token() << '\n';

        // 2. An API request carries the token and the tenant name.
        std::cerr << "POST " << manager.api_base_url().value_or("https://api.{environment}.corti.app/v2")
                  << "/interactions/\n";
        for (const auto &[name, value] : manager.headers())
            std::cerr << name << ": " << (name == "Authorization" ? "Bearer <token>" : value) << '\n';

        // 3. A WebSocket URL for a stream (call again on every reconnect).
        if (argc > 1) std::cerr << "websocket: " << manager.websocket_url(argv[1]).size() << " characters\n";

        // The effective settings (the secret redacted).
        std::cerr << manager.describe() << '\n';
    } catch (const cortiauth::Error &e) {
        std::cerr << "failed (" << e.status_name() << "): " << e.what() << '\n';
        if (!e.oauth_code().empty())
            std::cerr << "  OAuth error " << e.oauth_code() << ", HTTP " << e.http_status() << '\n';
        return 1;
    }
    return 0;
}
