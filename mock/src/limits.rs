//! Binance's per-IP rules as the mock enforces them: the wall-clock minute's request weight,
//! 429 with `Retry-After` past it, and a 418 ban for anything sent inside the window.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::response::Response;

use crate::faults::{Fault, random_fault};
use crate::record::unix_now;
use crate::respond::{ban_response, rate_limit_response};
use crate::{ANY, Hit, IN_FLIGHT_GRACE, Shared};

/// What the gatekeeping decided for one request, before its own answer is made.
pub(crate) enum Gate {
    /// Go on; the weight was charged and this is the minute's total so far.
    Pass(u32, usize),
    /// Refuse with this response (429 or 418).
    Refuse(Response),
    /// Play this fault after charging the weight.
    Fault(Fault, u32, usize),
}

/// Requests to a futures market's `fundingRate` per 5 minutes per IP.
pub const FUNDING_LIMIT: u32 = 500;

/// Which budget a path spends: 0 spot (`/api`), 1 USD-M (`/fapi`), 2 COIN-M (`/dapi`).
pub(crate) fn market_of(path: &str) -> usize {
    if path.starts_with("/fapi") {
        1
    } else if path.starts_with("/dapi") {
        2
    } else {
        0
    }
}

impl Shared {
    /// Charges `weight`, applies the ban and rate-limit rules, and picks a fault, recording the hit.
    pub(crate) fn admit(&self, path: &str, params: &HashMap<String, String>, weight: u32) -> Gate {
        let now = Instant::now();
        let mut book = self.book.lock().unwrap();
        let minute = unix_now().as_secs() / 60;
        let market = market_of(path);
        let limit = match market {
            0 => self.opts.weight_limit,
            _ => self.opts.futures_weight_limit,
        };
        if book.budgets[market].window.0 != minute {
            book.budgets[market].window = (minute, 0);
        }
        let mut hit = Hit {
            at: now,
            path: path.to_owned(),
            symbol: params.get("symbol").cloned(),
            symbols: params.get("symbols").cloned(),
            symbol_status: params.get("symbolStatus").cloned(),
            params: params.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            status: 200,
            weight,
        };
        if let Some((since, until)) = book.budgets[market].limited
            && now < until
            && now - since < IN_FLIGHT_GRACE
        {
            // Sent before the client could have seen the 429: over the limit, but not defiant.
            hit.status = 429;
            let used = book.budgets[market].window.1;
            book.hits.push(hit);
            return Gate::Refuse(rate_limit_response((until - now).as_secs().max(1), used));
        }
        let budget = &book.budgets[market];
        let banned = budget.banned_until.is_some_and(|t| now < t)
            || budget.limited.is_some_and(|(_, until)| now < until);
        if banned {
            // Sending inside a Retry-After window is what gets real IPs banned.
            let secs = 120;
            book.budgets[market].banned_until = Some(now + Duration::from_secs(secs));
            hit.status = 418;
            let used = book.budgets[market].window.1;
            book.hits.push(hit);
            return Gate::Refuse(ban_response(secs, used));
        }
        // The funding history has a limit of its own: 500 requests per 5 minutes per IP.
        if path.ends_with("/fundingRate") {
            let window = unix_now().as_secs() / 300;
            let funding = &mut book.budgets[market].funding;
            if funding.0 != window {
                *funding = (window, 0);
            }
            funding.1 += 1;
            if funding.1 > FUNDING_LIMIT {
                let secs = 300 - unix_now().as_secs() % 300;
                hit.status = 429;
                let used = book.budgets[market].window.1;
                book.hits.push(hit);
                return Gate::Refuse(rate_limit_response(secs, used));
            }
        }
        book.budgets[market].window.1 += weight;
        let used = book.budgets[market].window.1;
        if used > limit {
            let secs = 60 - unix_now().as_secs() % 60;
            book.budgets[market].limited = Some((now, now + Duration::from_secs(secs)));
            hit.status = 429;
            book.hits.push(hit);
            return Gate::Refuse(rate_limit_response(secs, used));
        }
        let key = hit.symbol.clone().unwrap_or_default();
        let endpoint_key = format!("{} {key}", hit.path);
        let fault = book
            .next_fault(&endpoint_key)
            .or_else(|| book.next_fault(&key))
            .or_else(|| book.next_fault(ANY))
            .or_else(|| {
                let rate = self.opts.fault_rate;
                (rate > 0.0 && book.rng.f64() < rate).then(|| random_fault(&mut book.rng))
            });
        match &fault {
            Some(Fault::RateLimit { retry_after_secs }) => {
                book.budgets[market].limited =
                    Some((now, now + Duration::from_secs(*retry_after_secs)));
                hit.status = 429;
            }
            Some(Fault::Ban { retry_after_secs }) => {
                book.budgets[market].banned_until =
                    Some(now + Duration::from_secs(*retry_after_secs));
                hit.status = 418;
            }
            Some(Fault::Status(s) | Fault::Html(s) | Fault::RetryAfter { status: s, .. }) => {
                hit.status = *s;
            }
            Some(Fault::GeoBlock) => hit.status = 451,
            Some(Fault::Hang | Fault::Reset) => hit.status = 0,
            _ => {}
        }
        book.hits.push(hit);
        let at = book.hits.len() - 1;
        match fault {
            Some(f) => Gate::Fault(f, used, at),
            None => Gate::Pass(used, at),
        }
    }
}
