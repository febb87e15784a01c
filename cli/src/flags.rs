//! The settings flags: one per row of the core's settings table, spelled as the
//! CLI spells it (`--max-backoff`, durations in seconds), added to the command
//! at run time, so a new setting is a new flag with no change here. Old
//! spellings (`--scope`, `--extra-param`) are hidden flags of their own, so the
//! core can say they are old. Values go to the core as text (`Settings::apply`
//! parses them by the setting's kind); this module only collects them.

use clap::{Arg, ArgAction, ArgMatches, Command};
use cortiauth::surface::{spelling, Field, Setting, SettingValue, Surface, SETTINGS};
use cortiauth::Settings;

/// Rows with a flag of the CLI's own: the secret file (`-` reads standard input).
/// The binding is the CLI itself.
fn own_flag(row: &Setting) -> bool {
    matches!(row.name, "client_secret_file" | "binding")
}

fn leak(s: String) -> &'static str {
    // A few dozen short strings, once per process.
    Box::leak(s.into_boxed_str())
}

fn value_name(field: &Field<'_>) -> &'static str {
    match field {
        Field::Duration(_) => "SECONDS",
        Field::Count(_) => "N",
        Field::Fraction(_) => "FRACTION",
        Field::Url(_) => "URL",
        Field::Path(_) => "FILE",
        Field::Pairs(_) => "NAME=VALUE",
        Field::Pems(_) => "PEM",
        Field::Scopes(_) => "SCOPES",
        Field::AuthMethod(_) => "METHOD",
        _ => "VALUE",
    }
}

fn arg(row: &Setting, long: &'static str, hidden: bool) -> Arg {
    let mut blank = Settings::default();
    let field = (row.field)(&mut blank);
    let repeat = if matches!(field, Field::Pairs(_) | Field::Pems(_) | Field::Scopes(_)) {
        " Repeatable."
    } else {
        ""
    };
    let env = row
        .env
        .map(|e| format!(" Environment: {e}."))
        .unwrap_or_default();
    let arg = Arg::new(long)
        .long(long)
        .global(true)
        .hide(hidden)
        .help(format!("{}{repeat}{env}", row.doc));
    match field {
        Field::Flag(_) => arg.action(ArgAction::SetTrue),
        Field::Scopes(_) | Field::Pairs(_) | Field::Pems(_) => {
            arg.action(ArgAction::Append).value_name(value_name(&field))
        }
        _ => arg.action(ArgAction::Set).value_name(value_name(&field)),
    }
}

/// `command` with a flag per setting (and hidden ones for old spellings).
pub fn add(mut command: Command) -> Command {
    for row in SETTINGS.iter().filter(|r| !own_flag(r)) {
        command = command.arg(arg(row, leak(spelling(row, Surface::Cli)), false));
        for alias in row.aliases.iter().filter(|a| a.surface == Surface::Cli) {
            command = command.arg(arg(row, alias.spelling, true));
        }
    }
    command
}

/// The settings flags given, as (flag name, value) for `Settings::apply`.
pub fn given(m: &ArgMatches) -> Vec<(String, SettingValue)> {
    let mut out = Vec::new();
    for row in SETTINGS.iter().filter(|r| !own_flag(r)) {
        let flags = std::iter::once(spelling(row, Surface::Cli)).chain(
            row.aliases
                .iter()
                .filter(|a| a.surface == Surface::Cli)
                .map(|a| a.spelling.to_string()),
        );
        let mut blank = Settings::default();
        let field = (row.field)(&mut blank);
        for flag in flags {
            let value = match field {
                Field::Flag(_) => m.get_flag(&flag).then_some(SettingValue::Bool(true)),
                Field::Scopes(_) | Field::Pairs(_) | Field::Pems(_) => m
                    .get_many::<String>(&flag)
                    .map(|v| SettingValue::List(v.cloned().collect())),
                _ => m
                    .get_one::<String>(&flag)
                    .map(|v| SettingValue::Parse(v.clone())),
            };
            if let Some(v) = value {
                out.push((flag, v));
            }
        }
    }
    out
}
