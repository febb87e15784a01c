//! The one settings table (`docs/settings.md`) must list exactly the keys `describe()` shows.

use std::collections::BTreeSet;

#[test]
fn the_settings_table_lists_what_describe_shows() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/settings.md"))
            .expect("docs/settings.md in the workspace");
    let section = readme
        .split("<!-- settings table")
        .nth(1)
        .expect("the generated settings table");
    let table_keys: BTreeSet<String> = section
        .lines()
        .skip_while(|l| !l.starts_with("| `describe()` key"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_start_matches('|')
                .split('|')
                .next()
                .unwrap()
                .trim()
                .trim_matches('`')
                .to_string()
        })
        .collect();
    let config = cortiauth::Settings {
        client_id: Some("id".into()),
        client_secret: Some("secret".into()),
        environment: Some("eu".into()),
        ..cortiauth::Settings::default()
    }
    .build()
    .unwrap();
    let described: serde_json::Value = serde_json::from_str(&config.describe()).unwrap();
    let describe_keys: BTreeSet<String> = described.as_object().unwrap().keys().cloned().collect();
    assert_eq!(table_keys, describe_keys);
}
