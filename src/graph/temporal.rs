//! Time in the network: when each identity was active (first and last contact, activity by
//! hour of week), which contacts start or stop around a date, and the burner pattern.
//!
//! Times are the records' own: UTC where the source's zone was known, the device's wall
//! clock where it was not (spoor never guesses a zone), so an hour of week is "as recorded".

use serde::Serialize;

use super::Analysed;
use super::network::{Network, NodeKind, epoch_seconds};

/// Hours in a week: bin 0 is Monday 00:00–00:59, bin 167 Sunday 23:00–23:59.
pub const HOURS_PER_WEEK: usize = 168;

/// The burner pattern's thresholds (see [`burners`]).
pub const BURNER_MAX_DAYS: f64 = 30.0;
pub const BURNER_MAX_CORRESPONDENTS: usize = 3;
pub const BURNER_MIN_CONTACTS: u64 = 3;
/// A burner's active span is at most this share of the case's span, so that a case covering
/// only a few days does not make everyone short-lived.
pub const BURNER_MAX_SHARE_OF_CASE: f64 = 1.0 / 3.0;
/// "Central" for the burner pattern: among the top tenth of identities by betweenness (at
/// least the top three), or in the innermost k-core when that core is 3 or more.
pub const CENTRAL_TOP_SHARE: f64 = 0.1;

/// When one node was active.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Activity {
    /// Contacts with a known time in which it took part (sent, received, called, in a group
    /// it wrote to), each contact once.
    pub contacts: u64,
    pub first: Option<String>,
    pub last: Option<String>,
    /// Contacts by hour of week, Monday 00 first.
    pub by_hour_of_week: Vec<u64>,
}

impl Activity {
    /// Days between the first and the last contact.
    pub fn active_days(&self) -> Option<f64> {
        let first = epoch_seconds(self.first.as_deref()?)?;
        let last = epoch_seconds(self.last.as_deref()?)?;
        Some((last - first) as f64 / 86_400.0)
    }
}

/// Hour of week (Monday 00 = 0) of seconds since 1970, which was a Thursday.
pub fn hour_of_week(epoch: i64) -> usize {
    let days = epoch.div_euclid(86_400);
    let weekday = (days + 3).rem_euclid(7); // Monday = 0
    let hour = epoch.rem_euclid(86_400) / 3600;
    (weekday * 24 + hour) as usize
}

/// Every node's activity, from the times its communication edges keep.
pub fn activity(network: &Network) -> Vec<Activity> {
    let n = network.nodes.len();
    let mut out: Vec<Activity> = (0..n)
        .map(|_| Activity {
            by_hour_of_week: vec![0; HOURS_PER_WEEK],
            ..Activity::default()
        })
        .collect();
    for edge in network.edges.iter().filter(|e| e.kind.is_communication()) {
        let ends = if edge.from == edge.to {
            vec![edge.from]
        } else {
            vec![edge.from, edge.to]
        };
        for time in &edge.times {
            let Some(epoch) = epoch_seconds(time) else {
                continue;
            };
            for &v in &ends {
                let a = &mut out[v];
                a.contacts += 1;
                a.by_hour_of_week[hour_of_week(epoch)] += 1;
                if a.first.as_deref().is_none_or(|f| time.as_str() < f) {
                    a.first = Some(time.clone());
                }
                if a.last.as_deref().is_none_or(|l| time.as_str() > l) {
                    a.last = Some(time.clone());
                }
            }
        }
    }
    out
}

/// The first and last contact of the whole case.
pub fn case_span(activity: &[Activity]) -> (Option<String>, Option<String>) {
    let first = activity.iter().filter_map(|a| a.first.clone()).min();
    let last = activity.iter().filter_map(|a| a.last.clone()).max();
    (first, last)
}

/// A tie (two people, any direction and type) whose contacts start or stop near a date.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TieChange {
    pub a: usize,
    pub b: usize,
    pub first: String,
    pub last: String,
    pub contacts: u64,
    /// `started` (first contact within the window), `stopped` (last contact within it) or
    /// `both`.
    pub change: &'static str,
}

/// Ties whose first or last contact falls within `window` seconds of `date` (seconds since
/// 1970), in time order of the change: contacts that begin or end around an event (an arrest,
/// a delivery), as an analyst asks of i2's timeline.
pub fn around(network: &Network, date: i64, window: i64) -> Vec<TieChange> {
    use std::collections::BTreeMap;
    let mut ties: BTreeMap<(usize, usize), (String, String, u64)> = BTreeMap::new();
    for edge in network.edges.iter().filter(|e| e.kind.is_communication()) {
        let (Some(first), Some(last)) = (edge.first.as_ref(), edge.last.as_ref()) else {
            continue;
        };
        let key = (edge.from.min(edge.to), edge.from.max(edge.to));
        let tie = ties
            .entry(key)
            .or_insert_with(|| (first.clone(), last.clone(), 0));
        if first < &tie.0 {
            tie.0 = first.clone();
        }
        if last > &tie.1 {
            tie.1 = last.clone();
        }
        tie.2 += edge.times.len() as u64;
    }
    let near = |t: &str| epoch_seconds(t).is_some_and(|e| (e - date).abs() <= window);
    let mut out: Vec<TieChange> = ties
        .into_iter()
        .filter_map(|((a, b), (first, last, contacts))| {
            let change = match (near(&first), near(&last)) {
                (true, true) => "both",
                (true, false) => "started",
                (false, true) => "stopped",
                (false, false) => return None,
            };
            Some(TieChange {
                a,
                b,
                first,
                last,
                contacts,
                change,
            })
        })
        .collect();
    out.sort_by(|x, y| {
        let at = |t: &TieChange| {
            if t.change == "stopped" {
                t.last.clone()
            } else {
                t.first.clone()
            }
        };
        at(x).cmp(&at(y)).then((x.a, x.b).cmp(&(y.a, y.b)))
    });
    out
}

/// Seconds since 1970 of a date (`2024-03-01`) or a time (`2024-03-01T18:00:00Z`).
pub fn parse_date(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let full = if text.len() == 10 {
        format!("{text}T00:00:00")
    } else {
        text.to_string()
    };
    epoch_seconds(&full)
        .ok_or_else(|| format!("{text:?} is not a date (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM:SS)"))
}

/// Which person nodes are central (see [`CENTRAL_TOP_SHARE`]).
pub fn central(analysed: &Analysed) -> Vec<bool> {
    let network = &analysed.network;
    let by_betweenness = super::people_by_betweenness(analysed);
    let people = &by_betweenness;
    let top = ((people.len() as f64 * CENTRAL_TOP_SHARE).ceil() as usize).max(3);
    let mut out = vec![false; network.nodes.len()];
    for &v in by_betweenness.iter().take(top) {
        out[v] = analysed.metrics[v].betweenness > 0.0;
    }
    let max_core = people
        .iter()
        .map(|&v| analysed.metrics[v].core)
        .max()
        .unwrap_or(0);
    if max_core >= 3 {
        for &v in people {
            out[v] |= analysed.metrics[v].core == max_core;
        }
    }
    out
}

/// An identity that fits the burner pattern.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Burner {
    pub node: usize,
    pub active_days: f64,
    pub contacts: u64,
    pub correspondents: usize,
    /// The central identities it reached.
    pub central_correspondents: Vec<usize>,
}

/// The burner pattern: a short-lived identifier with few contacts that reaches central
/// members. A person identity fits when its contacts span at most [`BURNER_MAX_DAYS`] and at
/// most [`BURNER_MAX_SHARE_OF_CASE`] of the case's span, it has at least
/// [`BURNER_MIN_CONTACTS`] timed contacts (one call is not a pattern) with at most
/// [`BURNER_MAX_CORRESPONDENTS`] distinct people or groups, and at least one of them is
/// central ([`central`]) while it is not central itself. Only phone numbers are burners
/// (a prepaid SIM bought for a job); an address or a handle used briefly is not one.
pub fn burners(analysed: &Analysed, activity: &[Activity]) -> Vec<Burner> {
    let network = &analysed.network;
    let (Some(case_first), Some(case_last)) = case_span(activity) else {
        return Vec::new();
    };
    let (Some(f), Some(l)) = (epoch_seconds(&case_first), epoch_seconds(&case_last)) else {
        return Vec::new();
    };
    let case_days = (l - f) as f64 / 86_400.0;
    let central = central(analysed);
    let csr = super::contact_graph(network);
    let mut out = Vec::new();
    for v in 0..network.nodes.len() {
        let node = &network.nodes[v];
        let phone = node.identifiers.iter().any(|i| {
            i.starts_with("tel:")
                || i.starts_with(&format!("{}:", crate::text::identifiers::PHONE_FIELD))
        });
        if node.kind != NodeKind::Person || central[v] || !phone {
            continue;
        }
        let a = &activity[v];
        let Some(days) = a.active_days() else {
            continue;
        };
        let correspondents: Vec<usize> = csr
            .neighbours(v)
            .iter()
            .map(|&w| w as usize)
            .filter(|&w| w != v)
            .collect();
        if days > BURNER_MAX_DAYS
            || days > case_days * BURNER_MAX_SHARE_OF_CASE
            || a.contacts < BURNER_MIN_CONTACTS
            || correspondents.is_empty()
            || correspondents.len() > BURNER_MAX_CORRESPONDENTS
        {
            continue;
        }
        let central_correspondents: Vec<usize> = correspondents
            .iter()
            .copied()
            .filter(|&w| central[w])
            .collect();
        if central_correspondents.is_empty() {
            continue;
        }
        out.push(Burner {
            node: v,
            active_days: days,
            contacts: a.contacts,
            correspondents: correspondents.len(),
            central_correspondents,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_of_week_starts_on_monday() {
        // 2024-01-01 was a Monday.
        let monday = epoch_seconds("2024-01-01T00:30:00Z").unwrap();
        assert_eq!(hour_of_week(monday), 0);
        let sunday_late = epoch_seconds("2024-01-07T23:59:59Z").unwrap();
        assert_eq!(hour_of_week(sunday_late), 167);
        let wednesday_nine = epoch_seconds("2024-01-03T09:00:00Z").unwrap();
        assert_eq!(hour_of_week(wednesday_nine), 2 * 24 + 9);
        // Before 1970 too.
        let old = epoch_seconds("1969-12-29T05:00:00Z").unwrap(); // a Monday
        assert_eq!(hour_of_week(old), 5);
    }

    #[test]
    fn dates_parse() {
        assert_eq!(parse_date("1970-01-02").unwrap(), 86_400);
        assert_eq!(parse_date("1970-01-01T01:00:00Z").unwrap(), 3600);
        assert!(parse_date("yesterday").is_err());
    }
}
