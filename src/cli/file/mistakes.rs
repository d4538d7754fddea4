//! The config file's mistakes, in words that say the fix: a duration without its unit, a
//! list without brackets, a setting inside a table, a typo of a key, a list left open (blamed
//! by toml on the next key).

use std::path::Path;

use crate::error::UsageError;

/// The error for `e`, naming file, line and key (one of `keys`, the settings), and what to write instead where the parser's
/// words would not say it.
pub(super) fn explain(text: &str, path: &Path, e: &toml::de::Error, keys: &[&str]) -> UsageError {
    let at = e.span().map_or(0, |s| s.start);
    // toml blames the next key for a list left open above it: name the list instead.
    if let Some(open) = unclosed_list(&text[..at.min(text.len())]) {
        let line_no = text[..open].matches('\n').count() + 1;
        let line = text.lines().nth(line_no - 1).unwrap_or("");
        let name = line.split('=').next().unwrap_or("").trim();
        return UsageError(format!(
            "config file {} line {line_no}: key '{name}': the list is not closed: end it \
                 with ] after its last value",
            path.display()
        ));
    }
    let line_no = text[..at.min(text.len())].matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("");
    let name = line.split('=').next().unwrap_or("").trim();
    let key = if name.is_empty() || !line.contains('=') {
        String::new()
    } else {
        format!(" key '{name}':")
    };
    let message = e.message().trim();
    if let Some(fix) = the_fix(name, line, message) {
        return UsageError(format!(
            "config file {} line {line_no}:{key} {fix}",
            path.display()
        ));
    }
    // serde lists every key for an unknown one; the nearest is what the user meant.
    let message = match message.strip_prefix("unknown field `") {
        Some(rest) => {
            let typo = rest.split('`').next().unwrap_or("");
            match crate::text::nearest(typo, keys.iter().copied().chain(["symbols", "commodity"])) {
                Some(near) => format!("unknown key; did you mean '{near}'?"),
                None => format!(
                    "unknown key '{typo}'; the keys are: symbols, {}, and a [commodity] table",
                    keys.join(", ")
                ),
            }
        }
        None => message.to_owned(),
    };
    UsageError(format!(
        "config file {} line {line_no}:{key} {message}",
        path.display(),
    ))
}

/// Where a `[` of a value that is still open at the end of `text` stands, if one is (quotes and
/// comments skipped; a table header closes on its own line).
pub(super) fn unclosed_list(text: &str) -> Option<usize> {
    let mut open: Vec<usize> = Vec::new();
    // `skip`: the rest of the line is a comment, or a table header (`[commodity]`, a `[`
    // first on its line while no list is open).
    let (mut quote, mut skip, mut line_start) = (None, false, 0);
    for (i, c) in text.char_indices() {
        match (c, quote) {
            ('\n', _) => (skip, line_start) = (false, i + 1),
            _ if skip => {}
            (q @ ('"' | '\''), None) => quote = Some(q),
            (q, Some(open_quote)) if q == open_quote => quote = None,
            (_, Some(_)) => {}
            ('#', None) => skip = true,
            ('[', None) if open.is_empty() && text[line_start..i].trim().is_empty() => skip = true,
            ('[', None) => open.push(i),
            (']', None) => {
                open.pop();
            }
            _ => {}
        }
    }
    open.first().copied()
}

/// What to write instead, where serde's words describe its parser: a duration is a string
/// with its unit, a list is in brackets, settings stand outside any table but `[commodity]`.
fn the_fix(name: &str, line: &str, message: &str) -> Option<String> {
    let durations = [
        "timeout",
        "connect-timeout",
        "retry-delay",
        "deadline",
        "max-wait",
        "hedge",
    ];
    let value = line.split_once('=').map_or("", |(_, v)| v.trim());
    if message.contains("expected a string") && durations.contains(&name) {
        let number = value.trim_matches('"');
        return Some(format!(
            "a duration is a string with its unit: {name} = \"{number}s\" (or \"{number}ms\", \"1m\")"
        ));
    }
    if message.contains("expected a sequence") {
        return Some(format!("a list goes in brackets: {name} = [{value}]"));
    }
    let table = line.trim().strip_prefix('[')?.strip_suffix(']')?.trim();
    (message.contains("unknown field") && table != "commodity").then(|| {
        format!(
            "unknown table [{table}]: settings go at the top of the file, outside any table \
             (only [commodity] is a table)"
        )
    })
}
