//! Which proxy a request goes through, and where that setting came from, so that a failure
//! can name the proxy (never its password) instead of blaming Binance.
//!
//! reqwest does the proxying; this module only works out the same choice: `--proxy` for
//! everything, else `HTTPS_PROXY` for https targets and `HTTP_PROXY` for http ones, else
//! `ALL_PROXY` (each also in lower case), unless `NO_PROXY` names the host. It also refuses, at
//! start-up, what reqwest would only fail on later: a SOCKS proxy (this build has no SOCKS
//! support) or a variable that is not a URL.

use url::Url;

use crate::error::UsageError;

/// The proxy a request goes through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Choice {
    /// `host:port` of the proxy, for messages (no credentials).
    pub(crate) host: String,
    /// Where the setting came from: `--proxy` or a variable's name.
    pub(crate) source: String,
}

/// Variables reqwest reads for each kind of target, in the order it prefers them.
const HTTPS_VARS: &[&str] = &["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"];
const HTTP_VARS: &[&str] = &["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"];

/// The proxy for `target`, given `--proxy` and the environment (`env` injected for tests).
pub(crate) fn choice(
    target: &Url,
    explicit: Option<&Url>,
    env: impl Fn(&str) -> Option<String>,
) -> Option<Choice> {
    if let Some(p) = explicit {
        return Some(Choice {
            host: crate::host::authority(p),
            source: "--proxy".into(),
        });
    }
    let no_proxy = env("NO_PROXY")
        .or_else(|| env("no_proxy"))
        .unwrap_or_default();
    if bypassed(target.host_str().unwrap_or(""), &no_proxy) {
        return None;
    }
    let vars = if matches!(target.scheme(), "https" | "wss") {
        HTTPS_VARS
    } else {
        HTTP_VARS
    };
    vars.iter().find_map(|var| {
        let value = env(var).filter(|v| !v.trim().is_empty())?;
        let url = Url::parse(value.trim()).ok()?;
        Some(Choice {
            host: crate::host::authority(&url),
            source: (*var).to_owned(),
        })
    })
}

/// Refuses proxy variables reqwest could not use: not a URL, or a SOCKS proxy.
pub(crate) fn check_env(env: impl Fn(&str) -> Option<String>) -> Result<(), UsageError> {
    for var in HTTPS_VARS.iter().chain(HTTP_VARS) {
        let Some(value) = env(var).filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        let shown = mask_password(value.trim());
        let url = Url::parse(value.trim()).map_err(|e| {
            UsageError(format!(
                "{var}='{shown}' is not a proxy URL ({e}): write http://HOST:PORT"
            ))
        })?;
        if url.scheme().starts_with("socks") {
            return Err(UsageError(format!(
                "{var}='{shown}': SOCKS proxies are not supported by this build; use an http:// \
                 proxy, or unset {var}"
            )));
        }
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(UsageError(format!(
                "{var}='{shown}' is not a proxy URL: write http://HOST:PORT"
            )));
        }
    }
    Ok(())
}

/// `NO_PROXY`: `*`, or hosts and domains (`example.com` and `.example.com` cover subdomains).
fn bypassed(host: &str, no_proxy: &str) -> bool {
    no_proxy.split(',').map(str::trim).any(|entry| {
        let entry = entry.trim_start_matches('.');
        entry == "*"
            || (!entry.is_empty() && (host == entry || host.ends_with(&format!(".{entry}"))))
    })
}

/// A URL as it may be shown: a password in it (`http://user:secret@proxy:3128`) becomes `***`.
pub(crate) fn mask_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// `--proxy URL`: an `http://` or `https://` URL with a host (a password in it is never shown).
pub(crate) fn parse_proxy(s: &str) -> Result<url::Url, UsageError> {
    let bad = |why: &str| UsageError(format!("invalid --proxy '{}': {why}", mask_password(s)));
    let url = url::Url::parse(s).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad("give http://HOST:PORT or https://HOST:PORT"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_choice_follows_the_flag_then_the_variables_then_no_proxy() {
        let https: Url = "https://api.binance.com".parse().unwrap();
        let http: Url = "http://127.0.0.1:8731".parse().unwrap();
        let flag: Url = "http://u:secret@flag:3128".parse().unwrap();
        let c = choice(&https, Some(&flag), env(&[])).unwrap();
        assert_eq!(
            (c.host.as_str(), c.source.as_str()),
            ("flag:3128", "--proxy")
        );
        let vars = [
            ("https_proxy", "http://corp:8080"),
            ("ALL_PROXY", "http://all:1"),
        ];
        assert_eq!(
            choice(&https, None, env(&vars)).unwrap().source,
            "https_proxy"
        );
        assert_eq!(choice(&http, None, env(&vars)).unwrap().source, "ALL_PROXY");
        let bypass = [
            ("HTTPS_PROXY", "http://corp:8080"),
            ("NO_PROXY", "localhost,.binance.com"),
        ];
        assert_eq!(choice(&https, None, env(&bypass)), None);
        assert_eq!(choice(&http, None, env(&[])), None);
    }

    #[test]
    fn socks_and_garbage_in_the_variables_are_refused_naming_them() {
        let e = check_env(env(&[("ALL_PROXY", "socks5://u:pw@h:1080")])).unwrap_err();
        assert!(
            e.0.contains("ALL_PROXY") && e.0.contains("SOCKS") && !e.0.contains("pw"),
            "{}",
            e.0
        );
        let e = check_env(env(&[("HTTPS_PROXY", "proxy:3128 oops")])).unwrap_err();
        assert!(e.0.contains("HTTPS_PROXY"), "{}", e.0);
        assert!(check_env(env(&[("HTTPS_PROXY", "http://proxy:3128")])).is_ok());
    }
}
