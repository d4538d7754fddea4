//! The config file: remembered settings, below flags and environment variables.
//!
//! Precedence is flag > environment (`PRICEFETCH_*`) > config file > built-in default. clap
//! already applies flags, environment and defaults, and `ArgMatches::value_source` says which of
//! them gave each value; so [`FileSettings::apply`] fills in only the settings whose value came
//! from clap's default. [`SETTINGS`] is the one list of what can be remembered: it drives the
//! merge and `--show-config`.
//!
//! The file is TOML with the flags' names as keys (`concurrency = 8`, `timeout = "5s"`,
//! `symbols = ["BTCUSDT", "ETHUSDT"]`). An unknown key or a wrong type is a usage error that
//! names the file, the line and the key.

use std::num::{NonZeroU32, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, ValueEnum};
use serde::{Deserialize, Deserializer};

use crate::cli::TickerChoice;
use crate::cli::values::parse_duration;
use crate::cli::{Cli, ColorChoice, StrategyChoice};
use crate::error::UsageError;
use crate::output::Format;

mod mistakes;

/// Every setting the file may hold, by its flag's name, in `--show-config` order.
pub(crate) const SETTINGS: &[&str] = &[
    "market",
    "base-url",
    "allow-http",
    "proxy",
    "concurrency",
    "timeout",
    "connect-timeout",
    "retries",
    "retry-delay",
    "deadline",
    "max-wait",
    "weight-limit",
    "max-weight",
    "format",
    "color",
    "ticker",
    "window",
    "tz",
    "in",
    "via",
    "strategy",
    "batch-size",
    "mirror",
    "hedge",
    "stream-url",
    "cacert",
];

/// The file's contents. Keys are the flags' long names.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileSettings {
    /// The watch-list fetched when no symbol is given.
    symbols: Option<Vec<String>>,
    #[serde(default, deserialize_with = "value_enum")]
    market: Option<crate::cli::MarketChoice>,
    base_url: Option<String>,
    allow_http: Option<bool>,
    proxy: Option<String>,
    concurrency: Option<NonZeroUsize>,
    #[serde(default, deserialize_with = "duration")]
    timeout: Option<Duration>,
    #[serde(default, deserialize_with = "duration")]
    connect_timeout: Option<Duration>,
    retries: Option<u32>,
    #[serde(default, deserialize_with = "duration")]
    retry_delay: Option<Duration>,
    #[serde(default, deserialize_with = "duration")]
    deadline: Option<Duration>,
    #[serde(default, deserialize_with = "duration")]
    max_wait: Option<Duration>,
    weight_limit: Option<NonZeroU32>,
    max_weight: Option<u32>,
    #[serde(default, deserialize_with = "value_enum")]
    format: Option<Format>,
    #[serde(default, deserialize_with = "value_enum")]
    color: Option<ColorChoice>,
    #[serde(default, deserialize_with = "value_enum")]
    ticker: Option<TickerChoice>,
    #[serde(default, deserialize_with = "window")]
    window: Option<crate::market::Window>,
    tz: Option<String>,
    /// `--in`: the asset every price is given in.
    #[serde(rename = "in")]
    target: Option<String>,
    via: Option<String>,
    #[serde(default, deserialize_with = "value_enum")]
    strategy: Option<StrategyChoice>,
    batch_size: Option<u16>,
    mirror: Option<Vec<String>>,
    #[serde(default, deserialize_with = "duration")]
    hedge: Option<Duration>,
    stream_url: Option<String>,
    cacert: Option<PathBuf>,
    /// `[commodity]`: names for assets in ledger and beancount (`"1INCH" = "ONEINCH"`).
    commodity: Option<std::collections::BTreeMap<String, String>>,
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(d)?;
    parse_duration(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

fn window<'de, D: Deserializer<'de>>(d: D) -> Result<Option<crate::market::Window>, D::Error> {
    let text = String::deserialize(d)?;
    crate::market::Window::parse(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

fn value_enum<'de, D: Deserializer<'de>, T: ValueEnum>(d: D) -> Result<Option<T>, D::Error> {
    let text = String::deserialize(d)?;
    T::from_str(&text, true).map(Some).map_err(|_| {
        let names: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| Some(v.to_possible_value()?.get_name().to_owned()))
            .collect();
        serde::de::Error::custom(format!("'{text}' is not one of {}", names.join(", ")))
    })
}

/// Where the config file is, and whether its absence is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `--no-config`.
    Disabled,
    /// `--config FILE` or `PRICEFETCH_CONFIG`: it must exist.
    Given(PathBuf),
    /// The platform's default; fine if missing.
    Default(PathBuf),
    /// No config directory on this platform (no home directory).
    Nowhere,
}

impl Location {
    /// Resolves the location from the parsed flags.
    pub fn of(cli: &Cli) -> Self {
        if cli.config.no_config {
            return Self::Disabled;
        }
        if let Some(path) = &cli.config.config {
            return Self::Given(path.clone());
        }
        match directories::ProjectDirs::from("", "", "pricefetch") {
            Some(dirs) => Self::Default(dirs.config_dir().join("config.toml")),
            None => Self::Nowhere,
        }
    }

    /// Reads and checks the file; no file at the default place is no settings.
    pub fn load(&self) -> Result<Option<FileSettings>, UsageError> {
        let (path, must_exist) = match self {
            Self::Given(p) => (p, true),
            Self::Default(p) => (p, false),
            Self::Disabled | Self::Nowhere => return Ok(None),
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => return Ok(None),
            Err(e) => {
                return Err(UsageError(format!(
                    "cannot read config file {}: {e}",
                    path.display()
                )));
            }
        };
        parse(&text, path).map(Some)
    }

    /// For `--show-config`.
    fn describe(&self, found: bool) -> String {
        match self {
            Self::Disabled => "none (--no-config)".into(),
            Self::Nowhere => "none (no config directory on this system)".into(),
            Self::Given(p) => p.display().to_string(),
            Self::Default(p) if found => p.display().to_string(),
            Self::Default(p) => format!("{} (not present)", p.display()),
        }
    }
}

/// Parses the file's text, naming file, line and key on error.
fn parse(text: &str, path: &Path) -> Result<FileSettings, UsageError> {
    toml::from_str(text).map_err(|e| mistakes::explain(text, path, &e, SETTINGS))
}

/// True when clap took this setting's value from its default (or it has none at all).
fn from_default(matches: &ArgMatches, id: &str) -> bool {
    matches!(
        matches.value_source(&id.replace('-', "_")),
        None | Some(ValueSource::DefaultValue)
    )
}

impl FileSettings {
    /// Fills in every setting that neither a flag nor the environment set.
    pub fn apply(&self, cli: &mut Cli, matches: &ArgMatches) {
        // `group: field` takes the file's value as it is (`: field` for the main options);
        // `=> Some` wraps it for an Option flag.
        macro_rules! fill {
            (@wrap $v:ident) => { $v };
            (@wrap $v:ident, $wrap:path) => { $wrap($v) };
            ($($($group:ident).* : $field:ident $(=> $wrap:path)?),* $(,)?) => {$(
                if let Some(v) = self.$field.clone()
                    && from_default(matches, stringify!($field))
                {
                    cli $(.$group)* .$field = fill!(@wrap v $(, $wrap)?);
                }
            )*};
        }
        fill!(
            network: market,
            network: base_url,
            network: allow_http,
            network: proxy => Some,
            : concurrency => Some,
            fetch: timeout,
            fetch: connect_timeout,
            fetch: retries,
            fetch: retry_delay,
            fetch: deadline => Some,
            limits: max_wait,
            limits: weight_limit,
            limits: max_weight,
            : format => Some,
            output: color,
            : ticker,
            fetch: strategy,
            fetch: batch_size => Some,
            network: mirror,
            network: hedge => Some,
            network: stream_url,
            network: cacert => Some,
            fetch: window => Some,
            fetch: tz => Some,
            input: via => Some,
        );
        // `--in`'s argument id is `in`, not its field's name.
        if let Some(target) = &self.target
            && from_default(matches, "in")
        {
            cli.target = Some(target.clone());
        }
        if let Some(list) = &self.symbols {
            cli.watchlist = Some((list.clone(), "config file watch-list".into()));
        }
        // A flag's mapping of an asset wins over the file's.
        if let Some(table) = &self.commodity {
            let flagged: Vec<String> = cli
                .history
                .commodity
                .iter()
                .map(|(a, _)| a.clone())
                .collect();
            cli.history.commodity.extend(
                table
                    .iter()
                    .map(|(asset, name)| (asset.to_uppercase(), name.clone()))
                    .filter(|(asset, _)| !flagged.contains(asset)),
            );
        }
    }

    /// Whether the file sets this setting (by flag name).
    fn has(&self, id: &str) -> bool {
        match id {
            "market" => self.market.is_some(),
            "base-url" => self.base_url.is_some(),
            "allow-http" => self.allow_http.is_some(),
            "proxy" => self.proxy.is_some(),
            "concurrency" => self.concurrency.is_some(),
            "timeout" => self.timeout.is_some(),
            "connect-timeout" => self.connect_timeout.is_some(),
            "retries" => self.retries.is_some(),
            "retry-delay" => self.retry_delay.is_some(),
            "deadline" => self.deadline.is_some(),
            "max-wait" => self.max_wait.is_some(),
            "weight-limit" => self.weight_limit.is_some(),
            "max-weight" => self.max_weight.is_some(),
            "format" => self.format.is_some(),
            "color" => self.color.is_some(),
            "ticker" => self.ticker.is_some(),
            "strategy" => self.strategy.is_some(),
            "batch-size" => self.batch_size.is_some(),
            "mirror" => self.mirror.is_some(),
            "hedge" => self.hedge.is_some(),
            "stream-url" => self.stream_url.is_some(),
            "cacert" => self.cacert.is_some(),
            "window" => self.window.is_some(),
            "tz" => self.tz.is_some(),
            "in" => self.target.is_some(),
            "via" => self.via.is_some(),
            _ => false,
        }
    }
}

/// One setting's value as `--show-config` prints it.
fn shown(cli: &Cli, id: &str) -> String {
    let d = |d: Duration| crate::text::span(d).to_string();
    let name = |v: Option<clap::builder::PossibleValue>| v.map(|v| v.get_name().to_owned());
    let unset = || "(not set)".to_owned();
    match id {
        "market" => cli.market().name().to_owned(),
        // The host the market's requests go to when --base-url is left alone.
        "base-url" => match cli.network.base_url.as_str() {
            crate::host::DEFAULT_BASE_URL => cli.market().rest_host().to_owned(),
            given => given.to_owned(),
        },
        "allow-http" => cli.network.allow_http.to_string(),
        "proxy" => cli
            .network
            .proxy
            .as_deref()
            .map(crate::proxy::mask_password)
            .unwrap_or_else(|| "(not set: HTTPS_PROXY etc.)".into()),
        "concurrency" => cli
            .concurrency
            .map_or_else(|| "(16; 64 for batches)".into(), |c| c.to_string()),
        "timeout" => d(cli.fetch.timeout),
        "connect-timeout" => d(cli.fetch.connect_timeout),
        "retries" => cli.fetch.retries.to_string(),
        "retry-delay" => d(cli.fetch.retry_delay),
        "deadline" => cli.fetch.deadline.map_or_else(unset, d),
        "max-wait" => d(cli.limits.max_wait),
        "weight-limit" => cli.weight_limit().to_string(),
        "max-weight" => cli.limits.max_weight.to_string(),
        "format" => cli
            .format
            .and_then(|f| name(f.to_possible_value()))
            .unwrap_or_else(|| "(terminal: table, else plain)".into()),
        "color" => name(cli.output.color.to_possible_value()).unwrap_or_default(),
        "ticker" => name(cli.ticker.to_possible_value()).unwrap_or_default(),
        "mirror"
            if cli.network.mirror.is_empty()
                && cli.network.base_url == "https://api.binance.com" =>
        {
            "(Binance's alternates)".into()
        }
        "mirror" if cli.network.mirror.is_empty() => "(none)".into(),
        "mirror" => cli.network.mirror.join(" "),
        "hedge" => cli.network.hedge.map_or_else(unset, d),
        "stream-url" => cli.network.stream_url.clone(),
        "cacert" => cli
            .network
            .cacert
            .as_ref()
            .map_or_else(|| "(the system's)".into(), |p| p.display().to_string()),
        "strategy" => name(cli.fetch.strategy.to_possible_value()).unwrap_or_default(),
        "window" => cli
            .fetch
            .window
            .map_or_else(|| "(not set)".into(), |w| w.param()),
        "tz" => cli.fetch.tz.clone().unwrap_or_else(|| "UTC".into()),
        "in" => cli.target.clone().unwrap_or_else(|| "(not set)".into()),
        "via" => cli
            .input
            .via
            .clone()
            .unwrap_or_else(|| "(first hub with both legs)".into()),
        "batch-size" => cli.fetch.batch_size.map_or_else(
            || {
                let ticker = name(cli.ticker.to_possible_value()).unwrap_or_default();
                format!("(default for --ticker {ticker})")
            },
            |n| n.to_string(),
        ),
        _ => String::new(),
    }
}

/// Where the setting `id` (`base-url`) came from: `flag`, `env VARIABLE`, `config file` or
/// `default`.
fn source_of(
    command: &clap::Command,
    id: &str,
    matches: &ArgMatches,
    file: Option<&FileSettings>,
) -> String {
    match matches.value_source(&id.replace('-', "_")) {
        Some(ValueSource::CommandLine) => "flag".into(),
        Some(ValueSource::EnvVariable) => {
            let var = command
                .get_arguments()
                .find(|a| a.get_id() == id.replace('-', "_").as_str())
                .and_then(|a| a.get_env())
                .map(|v| v.to_string_lossy().into_owned())
                .unwrap_or_default();
            format!("env {var}")
        }
        _ if file.is_some_and(|f| f.has(id)) => "config file".into(),
        _ => "default".into(),
    }
}

/// For a usage error about a flag (`invalid --base-url …`) whose value did not come from the
/// command line, where it came from: the user may never have typed that flag.
pub fn origin_note(
    message: &str,
    matches: &ArgMatches,
    location: &Location,
    file: Option<&FileSettings>,
) -> Option<String> {
    let command = super::command();
    let long = command
        .get_arguments()
        .filter_map(|a| a.get_long())
        .find(|long| {
            message
                .split(|c: char| c.is_whitespace() || c == '\'' || c == ':')
                .any(|word| word == format!("--{long}"))
        })?;
    match source_of(&command, long, matches, file).as_str() {
        "flag" | "default" => None,
        "config file" => Some(format!(
            "the value for --{long} came from the config file{}",
            match location {
                Location::Given(p) | Location::Default(p) => format!(" {}", p.display()),
                Location::Disabled | Location::Nowhere => String::new(),
            }
        )),
        env => Some(format!(
            "the value for --{long} came from the environment variable {}",
            env.trim_start_matches("env ")
        )),
    }
}

/// `--show-config`: every setting, its effective value and where it came from.
pub(crate) fn show(
    cli: &Cli,
    matches: &ArgMatches,
    location: &Location,
    file: Option<&FileSettings>,
) -> String {
    let command = super::command();
    let source = |id: &str| source_of(&command, id, matches, file);
    let mut rows: Vec<(String, String, String)> = SETTINGS
        .iter()
        .map(|id| ((*id).to_owned(), shown(cli, id), source(id)))
        .collect();
    let (list, from) = match (&cli.watchlist, cli.symbols.is_empty()) {
        (_, false) => (cli.symbols.join(" "), "arguments".to_owned()),
        (Some((list, _)), true) => (list.join(" "), "config file".to_owned()),
        (None, true) => ("(none)".to_owned(), "default".to_owned()),
    };
    rows.insert(0, ("symbols".into(), list, from));
    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    // The VALUE column is at most 31 wide, so that the widest source (env
    // PRICEFETCH_CONNECT_TIMEOUT) still fits 80 columns; a longer value pushes its own row's
    // source along.
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).min(31);
    let mut out = format!("config file: {}\n", location.describe(file.is_some()));
    out += &format!("{:<w0$}  {:<w1$}  SOURCE\n", "SETTING", "VALUE");
    for (k, v, s) in rows {
        out += &format!("{k:<w0$}  {v:<w1$}  {s}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> FileSettings {
        parse(text, Path::new("c.toml")).unwrap()
    }

    #[test]
    fn every_setting_has_a_flag_of_the_same_name() {
        let command = crate::cli::command();
        for id in SETTINGS {
            let arg = command
                .get_arguments()
                .find(|a| a.get_long() == Some(*id))
                .unwrap_or_else(|| panic!("no --{id}"));
            assert!(
                arg.get_env().is_some(),
                "--{id} has no PRICEFETCH_ variable"
            );
        }
    }

    #[test]
    fn values_parse_like_their_flags() {
        let f = parse_ok(
            "symbols = [\"btc/usdt\", \"ETHUSDT\"]\nconcurrency = 8\ntimeout = \"2s\"\n\
             format = \"json\"\ncolor = \"never\"\n",
        );
        assert_eq!(f.concurrency.map(NonZeroUsize::get), Some(8));
        assert_eq!(f.timeout, Some(Duration::from_secs(2)));
        assert_eq!(f.format, Some(Format::Json));
        assert_eq!(f.color, Some(ColorChoice::Never));
        assert_eq!(f.symbols.unwrap().len(), 2);
    }

    fn parse_err(text: &str) -> String {
        parse(text, Path::new("c.toml")).unwrap_err().0
    }

    #[test]
    fn a_list_left_open_is_named_where_it_opens_not_at_the_next_key() {
        for text in [
            "symbols = [\"BTCUSDT\", \"ETHUSDT\"\nconcurrency = 8\n",
            "# a watch-list\nsymbols = [\"BTC]USDT\", # ] in a comment\n  \"ETHUSDT\"\n\ntimeout = \"2s\"\n",
        ] {
            let e = parse_err(text);
            let line = if text.starts_with('#') { 2 } else { 1 };
            assert!(
                e.contains(&format!(
                    "line {line}: key 'symbols': the list is not closed"
                )),
                "{e}"
            );
        }
        // A closed list and a table header are not open.
        assert!(mistakes::unclosed_list("symbols = [\"A\"]\n[commodity]\n").is_none());
        assert!(mistakes::unclosed_list("[pricefetch").is_none());
        assert!(mistakes::unclosed_list("symbols = [\n  [").is_some());
    }

    #[test]
    fn errors_name_the_line_and_the_key() {
        let e = parse_err("timeout = \"2s\"\nconcurency = 8\n");
        assert!(
            e.contains("c.toml line 2") && e.contains("concurency"),
            "{e}"
        );
        let e = parse_err("concurrency = \"many\"\n");
        assert!(e.contains("line 1: key 'concurrency'"), "{e}");
        let e = parse_err("\n\ntimeout = \"-1s\"\n");
        assert!(
            e.contains("line 3: key 'timeout'") && e.contains("negative"),
            "{e}"
        );
        let e = parse_err("format = \"xml\"\n");
        assert!(
            e.contains("'xml' is not one of table, plain, json, ndjson, csv"),
            "{e}"
        );
        let e = parse_err("concurrency = 0\n");
        assert!(e.contains("key 'concurrency'"), "{e}");
    }
}
