//! Text for people: durations, plurals, display widths, wrapping to the terminal, and the
//! nearest word to a typo. Shared by every renderer and by the stderr wording.

use std::io;

/// A duration in the unit that reads best: `850 µs`, `48.2 ms`, `1.23 s`.
pub(crate) fn duration(secs: f64) -> String {
    if secs < 1e-3 {
        format!("{:.0} µs", secs * 1e6)
    } else if secs < 1.0 {
        format!("{:.1} ms", secs * 1e3)
    } else {
        format!("{secs:.2} s")
    }
}

/// A span of time in one style for every message: `3d`, `1h 15m`, `42m 1s`, `250ms`, `0s`
/// (days, hours, minutes, seconds; milliseconds only under a second).
pub(crate) fn span(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return if ms == 0 {
            "0s".into()
        } else {
            format!("{ms}ms")
        };
    }
    let secs = d.as_secs();
    let parts = [
        (secs / 86_400, "d"),
        (secs / 3600 % 24, "h"),
        (secs / 60 % 60, "m"),
        (secs % 60, "s"),
    ];
    let words: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    words.join(" ")
}

/// [`span`] of a number of milliseconds (a negative one reads as `0s`).
pub(crate) fn span_ms(ms: i64) -> String {
    span(std::time::Duration::from_millis(ms.max(0) as u64))
}

/// `1 request`, `3 requests`: `n` and the word for that many.
pub(crate) fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The columns `text` takes on a terminal (a CJK character takes two).
pub(crate) fn width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

/// The columns the widest of `names` takes (0 for none).
pub(crate) fn widest(names: &[String]) -> usize {
    names.iter().map(|n| width(n)).max().unwrap_or(0)
}

/// `text` padded with spaces on the right to `columns` display columns.
pub(crate) fn pad(text: &str, columns: usize) -> String {
    format!("{text}{}", " ".repeat(columns.saturating_sub(width(text))))
}

/// Columns and rows of the terminal stdout is, or `None` when it is a file or a pipe.
/// (A terminal that reports a zero size, such as a new pseudo-terminal, counts as unknown.)
pub(crate) fn stdout_size() -> Option<(usize, usize)> {
    terminal_size::terminal_size_of(io::stdout())
        .map(|(w, h)| (usize::from(w.0), usize::from(h.0)))
        .filter(|&(w, h)| w > 0 && h > 0)
}

/// Columns of the terminal stderr is, or `None` when it is a file or a pipe.
pub fn stderr_width() -> Option<usize> {
    terminal_size::terminal_size_of(io::stderr())
        .map(|(w, _)| usize::from(w.0))
        .filter(|&w| w > 0)
}

/// The columns `word` takes, leaving out ANSI colour sequences (`\x1b[33m`).
fn visible_width(word: &str) -> usize {
    let mut n = 0;
    let mut escape = false;
    for c in word.chars() {
        match (escape, c) {
            (false, '\x1b') => escape = true,
            (true, c) if c.is_ascii_alphabetic() => escape = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

/// Breaks `text` at spaces so that no line is longer than `width` (a longer word stands
/// alone), indenting the lines after the first by `indent` spaces; `None` leaves it whole.
pub(crate) fn wrap(text: &str, width: Option<usize>, indent: usize) -> String {
    let Some(width) = width else {
        return text.to_owned();
    };
    let mut out = String::with_capacity(text.len() + 8);
    let mut line = 0;
    for word in text.split(' ') {
        let len = visible_width(word);
        if line > 0 && line + 1 + len > width {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', indent));
            line = indent;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += len;
    }
    out
}

/// The candidate closest to `typo` by edit distance, if it is close enough to be a typo of it
/// (at most a third of its letters changed).
pub(crate) fn nearest<'a>(
    typo: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::damerau_levenshtein(typo, c), c))
        .filter(|&(d, c)| d > 0 && d <= (c.chars().count() / 3).max(1))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// `n` in decimal, written into `buffer`.
pub(crate) fn itoa(mut n: u64, buffer: &mut [u8; 20]) -> &str {
    let mut at = buffer.len();
    loop {
        at -= 1;
        buffer[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buffer[at..]).unwrap_or("0")
}

#[cfg(test)]
mod span_tests {
    use super::span_ms;

    #[test]
    fn spans_read_in_one_style() {
        assert_eq!(span_ms(0), "0s");
        assert_eq!(span_ms(250), "250ms");
        assert_eq!(span_ms(4_500_000), "1h 15m");
        assert_eq!(span_ms(3 * 86_400_000), "3d");
        assert_eq!(span_ms(7 * 86_400_000 + 3_601_000), "7d 1h 1s");
        assert_eq!(span_ms(-5), "0s");
    }
}
