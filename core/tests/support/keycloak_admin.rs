//! The loopback Keycloak's admin REST API, as the `master` realm's bootstrap
//! admin (`CORTIAUTH_KC_ADMIN_*`): for tests that change a client while a
//! manager uses it (a new signing key, a regenerated secret).

pub struct KeycloakAdmin {
    pub http: reqwest::blocking::Client,
    /// `CORTIAUTH_KEYCLOAK_URL`.
    pub base: String,
    /// The admin's access token.
    pub token: String,
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run these tests under tests/servers/with-servers.sh")
    })
}

/// Sends the request and reads the JSON answer (any error fails the test).
fn json(request: reqwest::blocking::RequestBuilder) -> serde_json::Value {
    request
        .send()
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .unwrap()
}

impl KeycloakAdmin {
    pub fn login() -> KeycloakAdmin {
        let http = reqwest::blocking::Client::new();
        let base = var("CORTIAUTH_KEYCLOAK_URL");
        let answer: serde_json::Value = http
            .post(format!(
                "{base}/realms/master/protocol/openid-connect/token"
            ))
            .form(&[
                ("grant_type", "password"),
                ("client_id", "admin-cli"),
                ("username", &var("CORTIAUTH_KC_ADMIN_USERNAME")),
                ("password", &var("CORTIAUTH_KC_ADMIN_PASSWORD")),
            ])
            .send()
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .unwrap();
        let token = answer["access_token"].as_str().unwrap().to_string();
        KeycloakAdmin { http, base, token }
    }

    /// The `base` realm's clients URL.
    pub fn clients_url(&self) -> String {
        format!("{}/admin/realms/base/clients", self.base)
    }

    /// The client's representation in realm `base`, if it exists.
    pub fn client(&self, client_id: &str) -> Option<serde_json::Value> {
        let found = json(
            self.http
                .get(self.clients_url())
                .query(&[("clientId", client_id)])
                .bearer_auth(&self.token),
        );
        found.as_array()?.first().cloned()
    }

    /// Regenerates the client's secret and returns the new one (the old one is
    /// refused from then on).
    pub fn regenerate_secret(&self, client_id: &str) -> String {
        let client = self.client(client_id).expect("the client exists");
        let answer = json(
            self.http
                .post(format!(
                    "{}/{}/client-secret",
                    self.clients_url(),
                    client["id"].as_str().unwrap()
                ))
                .bearer_auth(&self.token),
        );
        answer["value"].as_str().unwrap().to_string()
    }
}
