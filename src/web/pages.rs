//! The review UI's pages, rendered on the server with maud (every value escaped; nothing
//! here marks a value raw). One stylesheet and one small script, both in the binary.

use maud::{DOCTYPE, Markup, html};
use serde_json::Value;

use super::QUEUE_PAGE;
use super::auth::Session;
use crate::leads::words;
use crate::model::StoredObservation;
use crate::store::web::{ItemView, QueueFilter, QueueRow};

pub const CSS: &str = include_str!("assets/app.css");
pub const JS: &str = include_str!("assets/app.js");

fn text(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        other => words::plain(other),
    }
}

fn number(v: &Value) -> String {
    v.as_f64().map_or_else(|| text(v), words::number)
}

fn layout(title: &str, session: Option<&Session>, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (title) " — spoor" }
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/app.js" defer {}
            }
            body {
                nav {
                    b { "spoor" }
                    a href="/queue" { "Lead queue" }
                    a href="/map" { "Map" }
                    a href="/network" { "Network" }
                    a href="/audit" { "Audit log" }
                    a href="/report" { "Report (HTML)" }
                    @if let Some(s) = session {
                        span.who { "reviewer: " b { (s.reviewer) } }
                        form.inline method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(s.csrf);
                            button { "log out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
    .into_string()
}

pub fn message(title: &str, text: &str) -> String {
    layout(
        title,
        None,
        html! { h1 { (title) } p { (text) } p { a href="/queue" { "back to the queue" } } },
    )
}

pub fn login(error: Option<&str>) -> String {
    layout(
        "Log in",
        None,
        html! {
            h1 { "Log in to this case" }
            p { "The access token is printed by " code { "spoor serve" } " when it starts. Your name is recorded with every decision and every picture you reveal." }
            @if let Some(e) = error { p.error { (e) } }
            form method="post" action="/login" {
                label { "access token " input type="password" name="token" autocomplete="off" required; }
                label { "your name " input type="text" name="reviewer" required; }
                button { "log in" }
            }
        },
    )
}

fn query_string(f: &QueueFilter, page: usize) -> String {
    let mut parts = Vec::new();
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    for (k, v) in [
        ("rule", &f.rule),
        ("state", &f.state),
        ("subject", &f.subject),
    ] {
        if let Some(v) = v {
            parts.push(format!("{k}={}", enc(v)));
        }
    }
    if let Some(m) = f.min_score {
        parts.push(format!("min_score={m}"));
    }
    parts.push(format!("page={page}"));
    parts.join("&")
}

pub fn queue(
    s: &Session,
    f: &QueueFilter,
    rules: &[String],
    rows: &[QueueRow],
    total: usize,
    page: usize,
) -> String {
    let pages = total.div_ceil(QUEUE_PAGE).max(1);
    let selected = |a: &Option<String>, b: &str| a.as_deref() == Some(b);
    layout(
        "Lead queue",
        Some(s),
        html! {
            h1 { "Lead queue" }
            p.note { "Leads are proposals: none is a finding until a named reviewer confirms it. The copies of one picture, and the pictures at a place of interest, are listed under their group." }
            form.filters method="get" action="/queue" {
                label { "rule " select name="rule" { option value="" { "any" } @for r in rules { option value=(r) selected[selected(&f.rule, r)] { (r) } } } }
                label { "state " select name="state" { option value="" { "any" } @for st in ["proposed", "confirmed", "rejected", "needs-info"] { option value=(st) selected[selected(&f.state, st)] { (st) } } } }
                label { "subject " select name="subject" { option value="" { "any" } @for k in crate::model::SUBJECT_KINDS { option value=(k) selected[selected(&f.subject, k)] { (k) } } } }
                label { "score at least " input type="number" step="any" name="min_score" value=(f.min_score.map(|m| m.to_string()).unwrap_or_default()); }
                button { "filter" }
            }
            div.quick {
                "Keyboard: " kbd { "j" } "/" kbd { "k" } " move, " kbd { "Enter" } " open, " kbd { "c" } " confirm, " kbd { "r" } " reject, " kbd { "n" } " needs info, " kbd { "s" } " skip. A decision by key uses this reason: "
                input #quick-reason type="text" placeholder="reason (required)";
                form #quick method="post" action="" {
                    input type="hidden" name="csrf" value=(s.csrf);
                    input type="hidden" name="decision" value="";
                    input type="hidden" name="reason" value="";
                    input type="hidden" name="next" value="queue";
                }
            }
            p { (total) " lead(s); page " (page) " of " (pages) }
            table #queue {
                tr { th { "rank" } th { "lead" } th { "score" } th { "state" } th { "subject" } th { "source" } th { "what" } th { "rules" } }
                @for r in rows {
                    tr.lead.member[r.part_of.is_some()] data-id=(r.id) {
                        td { @if r.part_of.is_none() { (r.rank) } }
                        td { a href={ "/lead/" (r.id) } { code { (r.id) } } }
                        td { (format!("{:.1}", r.score)) }
                        td.state { (r.state) }
                        td { (r.subject) }
                        td { (r.source.clone().unwrap_or_else(|| "—".into())) }
                        td { @if r.part_of.is_some() { "└ " } (r.path.clone().or_else(|| r.label.clone()).unwrap_or_default()) }
                        td { (r.rules.replace(',', ", ")) }
                    }
                }
            }
            p.pager {
                @if page > 1 { a href={ "/queue?" (query_string(f, page - 1)) } { "← previous" } " " }
                @if page < pages { a href={ "/queue?" (query_string(f, page + 1)) } { "next →" } }
            }
        },
    )
}

fn observation(o: &Value) -> Markup {
    html! {
        li {
            code { (text(&o["kind"])) } " by " (text(&o["analyzer"])) " v" (text(&o["analyzer_version"])) ": " (text(&o["words"]))
            br; small { "confidence " (number(&o["confidence"])) "; " (text(&o["precision"]["words"])) }
            br; small { "error margin: " (text(&o["error_margin"])) }
        }
    }
}

pub fn lead(s: &Session, page: &super::LeadPage, revealed: Option<&[u8]>) -> String {
    use base64::Engine;
    let (l, reviews, stats) = (&page.row, &page.reviews, &page.stats);
    let item = page.item.as_ref().map(|(i, _)| *i);
    let marks = page.item.as_ref().and_then(|(_, o)| outlines(o));
    let h = &l.hits;
    let subject = &h["subject"];
    let confirmers = crate::review::current_confirmers(reviews);
    let four_eyes = h["four_eyes"] == true;
    let has_picture = l.thumbnail_key.is_some() || subject["members"].is_array();
    layout(
        &format!("Lead {}", l.id),
        Some(s),
        html! {
            h1 { "Lead " code { (l.id) } }
            p {
                "rank " (l.rank) ", score " (format!("{:.1}", l.score)) ", state " b.state { (l.state) }
                @if !l.active { " (no rule fires any more)" }
                @if four_eyes { " — " b { "four eyes" } ": a finding only once two reviewers confirmed it; confirmed by " (confirmers.len()) " so far" @if !confirmers.is_empty() { " (" (confirmers.join(", ")) ")" } }
            }
            @if let Some(group) = &l.part_of { p { "Gathered under the group lead " a href={ "/lead/" (group) } { code { (group) } } } }
            h2 { "About" }
            p { (l.subject) ": " (l.source) " " code { (l.path) } @if let Some(i) = item { " — " a href={ "/item/" (i) } { "the item: metadata, observations, records" } } }
            @if let Some(item) = h["subject"]["sha256"].as_str() { p { small { "SHA-256 " code { (item) } } } }
            @if let Some(ids) = subject["identities"].as_array() { p { "identities: " @for (n, i) in ids.iter().enumerate() { @if n > 0 { ", " } code { (text(i)) } } } }
            @if let Some(members) = subject["members"].as_array() {
                table {
                    tr { th { "member" } th { "SHA-256" } th { "lead" } }
                    @for m in members {
                        tr {
                            td { code { (text(&m["source"])) ":" (text(&m["path"])) } @if !m["latitude"].is_null() { br; small { "GPS " (number(&m["latitude"])) ", " (number(&m["longitude"])) " — " (number(&m["distance_m"])) " m from the place" } } }
                            td { small { code { (text(&m["sha256"])) } } }
                            td { @if let Some(lead) = m["lead"].as_str() { a href={ "/lead/" (lead) } { code { (lead) } } } }
                        }
                    }
                }
            }
            @if has_picture {
                h2 { "Picture" }
                @if let Some(bytes) = revealed {
                    (picture(html! { img.revealed alt="the picture, revealed" src={ "data:image/jpeg;base64," (base64::engine::general_purpose::STANDARD.encode(bytes)) }; }, marks.as_ref()))
                    p.note { "Revealed to " (s.reviewer) "; the audit log records it." }
                } @else {
                    (picture(html! { img.thumb.blurred alt="the picture, blurred" src={ "/lead/" (l.id) "/thumb" }; }, marks.as_ref()))
                    form method="post" action={ "/lead/" (l.id) "/reveal" } {
                        input type="hidden" name="csrf" value=(s.csrf);
                        label { "reveal it, because " input type="text" name="reason" required placeholder="why you need to see it"; }
                        button { "reveal (logged)" }
                    }
                }
            }
            h2 { "Why it was proposed" }
            p { small { "rules version " (text(&h["rules_version"])) ", digest " code { (l.rules_digest) } "; " (text(&h["score"]["formula"])) } }
            @for hit in h["hits"].as_array().into_iter().flatten() {
                div.hit {
                    h3 { code { (text(&hit["rule"])) } " — " (text(&hit["title"])) }
                    p { (text(&hit["explanation"])) }
                    p { small {
                        "contributes " (number(&hit["weight"])) " × confidence " (number(&hit["confidence"])) " × precision "
                        (if hit["precision"].is_null() { "1 (a combination: its parts carry theirs)".to_string() } else { number(&hit["precision"]["factor"]) })
                        " = " (format!("{:.1}", hit["contribution"].as_f64().unwrap_or(0.0)))
                        @if hit["counted"] == false { "; not added: a repeat in its group" }
                    } }
                    @if let Some(st) = stats.iter().find(|st| Some(st.rule.as_str()) == hit["rule"].as_str()) {
                        p { small { "as reviewers found it: " (st.confirmed) " confirmed, " (st.rejected) " rejected of " (st.leads) " lead(s)"
                            @if let Some(p) = st.precision { " — precision " (words::number(p)) } } }
                    }
                    ul {
                        @for o in hit["observations"].as_array().into_iter().flatten() { (observation(o)) }
                        @for o in hit["with"].as_array().into_iter().flatten() { (observation(o)) }
                        @for p in hit["parts"].as_array().into_iter().flatten() {
                            li { "rests on " code { (text(&p["rule"])) } " on " code { (text(&p["subject"])) } " (lead " a href={ "/lead/" (text(&p["lead"])) } { code { (text(&p["lead"])) } } ", via " (text(&p["via"])) ")" }
                        }
                    }
                }
            }
            @let counter = h["counter_indications"].as_array().cloned().unwrap_or_default();
            @if !counter.is_empty() { div.counter { b { "Counter-indications" } ul { @for c in &counter { li { (text(c)) } } } } }
            h2 { "Decide" }
            form.decide method="post" action={ "/lead/" (l.id) "/decide" } {
                input type="hidden" name="csrf" value=(s.csrf);
                select name="decision" { option value="confirm" { "confirm" } option value="reject" { "reject" } option value="needs-info" { "needs info" } }
                label { " because " input type="text" name="reason" required placeholder="reason (required)"; }
                button { "record the decision as " (s.reviewer) }
            }
            h2 { "Decisions" }
            @if reviews.is_empty() { p { "None yet." } }
            ul { @for r in reviews { li { (r.decision) " by " b { (r.reviewer) } " at " (r.at) ": " (r.reason) " (audit entry " (r.audit_seq) ")" } } }
        },
    )
}

pub fn item(s: &Session, v: &ItemView) -> String {
    let chat = !v.records.is_empty();
    let marks = outlines(&v.observations);
    layout(
        &format!("Item {}", v.id),
        Some(s),
        html! {
            h1 { "Item " code { (v.source) ":" (v.path) } }
            table {
                @for (k, val) in v.facts.as_object().into_iter().flatten() { tr { th { (k) } td { code { (text(val)) } } } }
            }
            @if v.thumbnail_key.is_some() {
                (picture(html! { img.thumb.blurred alt="the picture, blurred" src={ "/item/" (v.id) "/thumb" }; }, marks.as_ref()))
                p.note {
                    "Blurred; a lead on this picture can reveal it with a reason (logged)."
                    @if let Some(m) = &marks { " Drawn on it: " (m.shapes.len()) " outline(s) of what the models found (" span.o-object { "objects" } ", " span.o-face { "faces" } ", " span.o-text { "text lines" } ")." }
                }
            }
            h2 { "Observations" }
            ul {
                @for o in &v.observations {
                    li { code { (o.kind) } " by " (o.analyzer) " v" (o.analyzer_version) ": " (words::describe(o)) " — confidence " (words::number(o.confidence)) }
                }
            }
            @if chat {
                h2 { "Records (" (v.records_total) ")" }
                div.chat {
                    @for r in &v.records {
                        @let from = r["participants"].as_array().and_then(|p| p.iter().find(|x| x["role"] == "from")).map(|x| text(&x["identifier"])).unwrap_or_default();
                        div.msg.out[r["direction"] == "outgoing"] {
                            small { (text(&r["time_utc"])) " " (text(&r["kind"])) " " (from) }
                            br; (text(&r["body"]))
                        }
                    }
                }
                @if v.records_total > v.records.len() { p.note { "the first " (v.records.len()) " of " (v.records_total) } }
            }
        },
    )
}

/// What the models found on a picture, as outlines in the pixels of the frame they were found
/// in: the detectors' boxes (`image.object`, `image.faces`) and OCR's text lines
/// (`image.text`, four corners each). Drawn over the thumbnail in an SVG of that frame's size,
/// so the thumbnail's scale does not matter.
pub struct Outlines {
    pub width: f64,
    pub height: f64,
    pub shapes: Vec<Shape>,
}

pub struct Shape {
    pub class: &'static str,
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

fn pair(v: &Value) -> Option<(f64, f64)> {
    let a = v.as_array()?;
    Some((a.first()?.as_f64()?, a.get(1)?.as_f64()?))
}

fn rectangle(b: &Value) -> Option<Vec<(f64, f64)>> {
    let v: Vec<f64> = b.as_array()?.iter().filter_map(Value::as_f64).collect();
    (v.len() == 4).then(|| vec![(v[0], v[1]), (v[2], v[1]), (v[2], v[3]), (v[0], v[3])])
}

pub fn outlines(observations: &[StoredObservation]) -> Option<Outlines> {
    // Observations written before they recorded their frame were found on the decoded
    // picture, whose size the PDQ observation gives.
    let decoded = observations
        .iter()
        .find(|o| o.kind == "image.pdq")
        .and_then(|o| Some((o.value["width"].as_f64()?, o.value["height"].as_f64()?)));
    let mut out: Option<Outlines> = None;
    for o in observations {
        let v = &o.value;
        let score = |x: &Value| x.as_f64().map(|s| format!(" {s:.2}")).unwrap_or_default();
        let found: Vec<Shape> = match o.kind.as_str() {
            "image.object" => v["boxes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|b| {
                    Some(Shape {
                        class: "o-object",
                        label: format!("{}{}", text(&v["label"]), score(&b["score"])),
                        points: rectangle(&b["box"])?,
                    })
                })
                .collect(),
            "image.faces" => v["faces"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| {
                    Some(Shape {
                        class: "o-face",
                        label: format!("face{}", score(&f["score"])),
                        points: rectangle(&f["box"])?,
                    })
                })
                .collect(),
            "image.text" => v["lines"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|l| {
                    let corners: Vec<(f64, f64)> =
                        l["corners"].as_array()?.iter().filter_map(pair).collect();
                    (corners.len() >= 3).then(|| Shape {
                        class: "o-text",
                        label: text(&l["text"]).chars().take(40).collect(),
                        points: corners,
                    })
                })
                .collect(),
            _ => continue,
        };
        let Some((w, h)) = pair(&v["frame"]).or(decoded) else {
            continue;
        };
        if found.is_empty() || w <= 0.0 || h <= 0.0 {
            continue;
        }
        let o = out.get_or_insert(Outlines {
            width: w,
            height: h,
            shapes: Vec::new(),
        });
        // Two analyzers may have seen the picture at different sizes: one frame for all.
        let (sx, sy) = (o.width / w, o.height / h);
        o.shapes.extend(found.into_iter().map(|mut s| {
            s.points.iter_mut().for_each(|p| *p = (p.0 * sx, p.1 * sy));
            s
        }));
    }
    out
}

/// A picture with its outlines drawn over it.
fn picture(img: Markup, marks: Option<&Outlines>) -> Markup {
    html! {
        div.picture {
            (img)
            @if let Some(m) = marks {
                svg.outlines xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (m.width) " " (m.height) } preserveAspectRatio="none" {
                    @for s in &m.shapes {
                        @let points = s.points.iter().map(|(x, y)| format!("{x:.0},{y:.0}")).collect::<Vec<_>>().join(" ");
                        @let (x, y) = s.points.iter().fold((f64::MAX, f64::MAX), |a, p| (a.0.min(p.0), a.1.min(p.1)));
                        polygon class=(s.class) points=(points) vector-effect="non-scaling-stroke" { title { (s.label) } }
                        text class=(s.class) x=(format!("{x:.0}")) y=(format!("{:.0}", (y - m.height / 80.0).max(m.height / 14.0))) font-size=(format!("{:.0}", m.height / 14.0)) { (s.label) }
                    }
                }
            }
        }
    }
}

/// The records behind an identity's ties, a page at a time, each linked to its item.
pub fn identity_records(
    s: &Session,
    key: &str,
    label: &str,
    rows: &[Value],
    total: usize,
    page: usize,
) -> String {
    let pages = total.div_ceil(super::RECORDS_PAGE).max(1);
    let here = |p: usize| format!("/identity/records?key={}&page={p}", pct(key));
    layout(
        &format!("Records of {label}"),
        Some(s),
        html! {
            h1 { "Records of " (label) }
            p { code { (key) } " — " (total) " record(s) behind its ties, from every device, in time order. "
                a href={ "/network?around=" (pct(key)) } { "its neighbourhood" } }
            table {
                tr { th { "time" } th { "kind" } th { "from → to" } th { "text" } th { "where" } }
                @for r in rows {
                    @let parts = r["participants"].as_array().cloned().unwrap_or_default();
                    @let of = |role: &str| parts.iter().filter(|p| p["role"] == role).map(|p| text(&p["identifier"])).collect::<Vec<_>>().join(", ");
                    tr {
                        td { small { (text(&r["time_utc"])) @if r["time_utc"].is_null() { (text(&r["time_local"])) " (local)" } } }
                        td { (text(&r["kind"])) " " small { (text(&r["direction"])) } }
                        td { small { (of("from")) " → " (of("to")) } }
                        td { (r["body"].as_str().unwrap_or("").chars().take(300).collect::<String>()) }
                        td { a href={ "/item/" (text(&r["item"])) } { code { (text(&r["device"])) ":" (text(&r["path"])) } } }
                    }
                }
            }
            p.pager {
                @if page > 1 { a href=(here(page - 1)) { "← earlier" } " " }
                "page " (page) " of " (pages) " "
                @if page < pages { a href=(here(page + 1)) { "later →" } }
            }
        },
    )
}

pub fn audit(s: &Session, rows: &[Value], total: usize, page: usize, verdict: &str) -> String {
    let pages = total.div_ceil(100).max(1);
    layout(
        "Audit log",
        Some(s),
        html! {
            h1 { "Audit log" }
            p { "The chain is " b { (verdict) } "." }
            table {
                tr { th { "seq" } th { "at" } th { "who" } th { "action" } th { "details" } }
                @for r in rows {
                    tr { td { (text(&r["seq"])) } td { (text(&r["at"])) } td { (text(&r["actor"])) } td { code { (text(&r["action"])) } } td { small { (r["details"].as_str().unwrap_or("").chars().take(400).collect::<String>()) } } }
                }
            }
            p.pager {
                @if page > 1 { a href={ "/audit?page=" (page - 1) } { "← newer" } " " }
                @if page < pages { a href={ "/audit?page=" (page + 1) } { "older →" } }
            }
        },
    )
}

const COMMUNITY_COLOURS: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

fn edge_colour(kind: crate::graph::network::EdgeKind) -> &'static str {
    use crate::graph::network::EdgeKind::*;
    match kind {
        Message => "#3366cc",
        Call => "#2a9d3a",
        Email => "#e07b00",
        ContactSaved => "#999999",
        GroupMember => "#8e44ad",
    }
}

fn metric_of(m: &crate::graph::NodeMetrics, name: &str) -> f64 {
    match name {
        "degree" => m.degree as f64,
        "strength" => m.strength,
        "pagerank" => m.pagerank,
        "eigenvector" => m.eigenvector,
        "core" => m.core as f64,
        _ => m.betweenness,
    }
}

/// The network page: an identity's neighbourhood drawn as SVG on the server (force layout),
/// nodes sized by the chosen metric and coloured by Leiden community, ties coloured by kind,
/// a time slider over the contacts, the time-respecting path to another identity.
pub fn network(s: &Session, v: &super::NetworkView) -> String {
    let (w, h) = (1000.0, 640.0);
    let hood = &v.hood;
    let max_metric = hood
        .nodes
        .iter()
        .map(|n| metric_of(&n.2, &v.metric))
        .fold(0.0, f64::max);
    let radius = |m: f64| {
        if max_metric > 0.0 {
            5.0 + 15.0 * (m / max_metric).sqrt()
        } else {
            6.0
        }
    };
    let at = |i: usize| (v.positions[i].0 * w, v.positions[i].1 * h);
    let on_path = |a: usize, b: usize| {
        v.path.as_ref().is_some_and(|p| {
            p.iter()
                .any(|(x, y, _)| (*x, *y) == (Some(a), Some(b)) || (*x, *y) == (Some(b), Some(a)))
        })
    };
    let link = |key: &str, depth: usize| {
        let mut q = format!(
            "/network?around={}&depth={depth}&metric={}",
            pct(key),
            pct(&v.metric)
        );
        if let Some(u) = &v.until {
            q.push_str(&format!("&until={}", pct(u)));
        }
        q
    };
    layout(
        "Network",
        Some(s),
        html! {
            h1 { "Network" }
            form.filters method="get" action="/network" {
                label { "identity " input type="text" name="around" value=(v.around) placeholder="tel:+31…, an address, a key" required; }
                label { "depth " select name="depth" { @for d in 1..=3usize { option value=(d) selected[d == v.depth] { (d) } } } }
                label { "size by " select name="metric" { @for m in super::METRICS { option value=(m) selected[*m == v.metric] { (m) } } } }
                label { "contacts until " input type="date" name="until" value=(v.until.clone().unwrap_or_default()); }
                @if let Some((first, last)) = &v.days {
                    input #time-slider type="range" min="0" max="1000" value="1000" data-first=(first) data-last=(last);
                    small #time-slider-day { (v.until.clone().unwrap_or_else(|| last.clone())) }
                }
                label { "path to " input type="text" name="to" value=(v.to.clone().unwrap_or_default()) placeholder="another identity"; }
                button { "show" }
            }
            @if hood.nodes.is_empty() {
                p { "Choose an identity, or start from one of the strongest brokers:" }
                ul { @for (key, label, b) in &v.top { li { a href=(link(key, 1)) { (label) } " " small { code { (key) } " — betweenness " (words::number(*b)) } } } }
            } @else {
                p.note {
                    (hood.nodes.len()) " identities within " (v.depth) " contact(s) of " b { (hood.nodes[0].1.label) } ", " (hood.edges.len()) " ties"
                    @if hood.cut { "; only the " (super::layout::MAX_NODES) " most tied are drawn" }
                    @if hood.stale { "; the stored network is older than the case's records or decisions (a scan or `spoor graph` rebuilds it)" }
                    ". Node size: " (v.metric) "; colour: Leiden community; ties: "
                    span.k-message { "message" } ", " span.k-call { "call" } ", " span.k-email { "e-mail" } ", " span.k-contact { "saved contact" } ", " span.k-group { "group member" } "."
                }
                svg #network-graph xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (w) " " (h) } width="100%" {
                    @for (a, b, e) in &hood.edges {
                        @let ((x1, y1), (x2, y2)) = (at(*a), at(*b));
                        line x1=(format!("{x1:.1}")) y1=(format!("{y1:.1}")) x2=(format!("{x2:.1}")) y2=(format!("{y2:.1}"))
                            stroke=(if on_path(*a, *b) { "#d00" } else { edge_colour(e.kind) })
                            stroke-width=(format!("{:.1}", if on_path(*a, *b) { 4.0 } else { 1.0 + (e.count as f64).ln_1p() }))
                            stroke-opacity="0.7" {
                            title { (hood.nodes[*a].1.label) " → " (hood.nodes[*b].1.label) ": " (e.count) " " (e.kind.as_str()) "(s), " (e.first.clone().unwrap_or_default()) " – " (e.last.clone().unwrap_or_default()) }
                        }
                    }
                    @for (i, (_, node, m, dist)) in hood.nodes.iter().enumerate() {
                        @let (x, y) = at(i);
                        a href=(link(&node.key, v.depth)) {
                            circle.node cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r=(format!("{:.1}", radius(metric_of(m, &v.metric))))
                                fill=(COMMUNITY_COLOURS[m.community % COMMUNITY_COLOURS.len()])
                                stroke=(if i == 0 { "#000" } else { "#fff" }) stroke-width=(if i == 0 { "3" } else { "1" }) {
                                title { (node.label) " (" (node.key) "): " (v.metric) " " (words::number(metric_of(m, &v.metric))) ", community " (m.community) ", " (dist) " contact(s) away" }
                            }
                            text x=(format!("{:.1}", x + 8.0)) y=(format!("{:.1}", y - 8.0)) font-size="11" { (node.label.chars().take(28).collect::<String>()) }
                        }
                    }
                }
                @if let Some(path) = &v.path {
                    h2 { "Earliest time-respecting path" }
                    @if path.is_empty() { p { "No time-respecting path from " (hood.nodes[0].1.label) " to " (v.to.clone().unwrap_or_default()) "." } }
                    ol { @for (a, b, hop) in path { li { (hop) @if a.is_none() || b.is_none() { " " small { "(outside the drawn neighbourhood)" } } } } }
                }
                h2 { "Identities" }
                table {
                    tr { th { "identity" } th { "key" } th { (v.metric) } th { "community" } th { "devices" } th { "records" } th { "lead" } }
                    @for (_, node, m, _) in &hood.nodes {
                        tr {
                            td { a href=(link(&node.key, v.depth)) { (node.label) } }
                            td { code { (node.key) } }
                            td { (words::number(metric_of(m, &v.metric))) }
                            td { (m.community) }
                            td { (node.devices.join(", ")) }
                            td { a href={ "/identity/records?key=" (pct(&node.key)) } { "records" } }
                            td { @if let Some(l) = v.leads.get(&node.key) { a href={ "/lead/" (l) } { code { (l) } } } }
                        }
                    }
                }
                p { a #identity-records href={ "/identity/records?key=" (pct(&hood.nodes[0].1.key)) } { "The records of " (hood.nodes[0].1.label) } " (every message, call and e-mail behind its ties, with the item each is in)" }
                h2 { "How " (hood.nodes[0].1.label) " was merged (ledger)" }
                @if v.ledger.is_empty() { p { "One identifier; no merge." } }
                ul { @for m in &v.ledger { li { code { (text(&m["rule"])) } " on " (text(&m["device"])) ": " (text(&m["identifiers"])) " (" (text(&m["records"])) " record(s), confidence " (number(&m["confidence"])) ")" } } }
            }
        },
    )
}

/// A query-string value, percent-encoded.
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The map: the basemap's borders and coasts in the view, the places of interest with their
/// radius, the pictures' GPS positions clustered on a 28-pixel grid (a cluster links to a
/// closer view, a single picture to its item). Equirectangular, scaled by the cosine of the
/// middle latitude so that a degree east looks as long as it is at that latitude.
pub fn map(s: &Session, v: &super::MapView) -> String {
    let (w_px, h_px) = (1000.0f64, 640.0f64);
    let (mut w, mut so, mut e, mut n) = v.bbox;
    let c = ((so + n) / 2.0).to_radians().cos().max(0.05);
    let (span_x, span_y) = ((e - w) * c, n - so);
    if span_x / span_y < w_px / h_px {
        let want = span_y * w_px / h_px / c;
        let mid = (w + e) / 2.0;
        (w, e) = (mid - want / 2.0, mid + want / 2.0);
    } else {
        let want = span_x * h_px / w_px;
        let mid = (so + n) / 2.0;
        (so, n) = (mid - want / 2.0, mid + want / 2.0);
    }
    let x = |lon: f64| (lon - w) / (e - w) * w_px;
    let y = |lat: f64| (n - lat) / (n - so) * h_px;
    let metres_per_px = (e - w) * c * 111_320.0 / w_px;
    let outlines: Vec<String> = super::basemap::arcs()
        .iter()
        .filter(|a| a.max.0 >= w && a.min.0 <= e && a.max.1 >= so && a.min.1 <= n)
        .map(|a| {
            a.points
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    format!(
                        "{}{:.1},{:.1}",
                        if i == 0 { "M" } else { "L" },
                        x(p.0),
                        y(p.1)
                    )
                })
                .collect::<String>()
        })
        .collect();
    // Clusters: points in one 28 px cell.
    let mut cells: std::collections::BTreeMap<(i64, i64), Vec<&crate::store::web::GpsPoint>> =
        Default::default();
    for p in &v.points {
        let (px, py) = (x(p.longitude), y(p.latitude));
        if (0.0..=w_px).contains(&px) && (0.0..=h_px).contains(&py) {
            cells
                .entry(((px / 28.0) as i64, (py / 28.0) as i64))
                .or_default()
                .push(p);
        }
    }
    let in_view: usize = cells.values().map(Vec::len).sum();
    let bbox_link =
        |b: (f64, f64, f64, f64)| format!("/map?bbox={:.5},{:.5},{:.5},{:.5}", b.0, b.1, b.2, b.3);
    let (cw, cs) = ((w + e) / 2.0, (so + n) / 2.0);
    let (hx, hy) = ((e - w) * 1.5, (n - so) * 1.5);
    let zoom_out = (
        (cw - hx).max(-180.0),
        (cs - hy).max(-90.0),
        (cw + hx).min(180.0),
        (cs + hy).min(90.0),
    );
    layout(
        "Map",
        Some(s),
        html! {
            h1 { "Map" }
            p.note {
                (v.points.len()) " picture(s) with GPS, " (in_view) " in this view; " (v.places.len()) " place(s) of interest. "
                a href=(bbox_link(zoom_out)) { "zoom out" } " · " a href="/map" { "fit the case" } " · " a href="/map?bbox=-180,-85,180,85" { "the world" }
                ". Basemap: Natural Earth 1:50m countries (world-atlas), in the binary: no tile server."
            }
            svg #map xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (w_px) " " (h_px) } width="100%" {
                rect width=(w_px) height=(h_px) fill="#eaf2fb" {}
                @for d in &outlines { path d=(d) fill="none" stroke="#7a8a99" stroke-width="0.8" {} }
                @for (name, lat, lon, radius) in &v.places {
                    circle cx=(format!("{:.1}", x(*lon))) cy=(format!("{:.1}", y(*lat))) r=(format!("{:.1}", (radius / metres_per_px).max(4.0)))
                        fill="#d9534f" fill-opacity="0.15" stroke="#d9534f" stroke-width="1.5" { title { "place of interest: " (name) " (radius " (words::number(*radius)) " m)" } }
                    text x=(format!("{:.1}", x(*lon) + 6.0)) y=(format!("{:.1}", y(*lat) - 6.0)) font-size="12" fill="#a33" { (name) }
                }
                @for members in cells.values() {
                    @let (mx, my) = (members.iter().map(|p| x(p.longitude)).sum::<f64>() / members.len() as f64, members.iter().map(|p| y(p.latitude)).sum::<f64>() / members.len() as f64);
                    @if let [one] = members.as_slice() {
                        a href={ "/item/" (one.item) } {
                            circle.point cx=(format!("{mx:.1}")) cy=(format!("{my:.1}")) r="6" fill=(if one.lead.is_some() { "#e07b00" } else { "#3366cc" }) stroke="#fff" {
                                title { (one.source) ":" (one.path) " — " (words::number(one.latitude)) ", " (words::number(one.longitude)) @if one.lead.is_some() { " (has a lead)" } }
                            }
                        }
                    } @else {
                        @let b = super::fit(members.iter().map(|p| (p.longitude, p.latitude)), 0.0005);
                        a href=(bbox_link(b)) {
                            circle.cluster cx=(format!("{mx:.1}")) cy=(format!("{my:.1}")) r=(format!("{:.1}", 9.0 + (members.len() as f64).ln() * 3.0)) fill="#3366cc" fill-opacity="0.85" stroke="#fff" {
                                title { (members.len()) " pictures: click to zoom in" }
                            }
                            text x=(format!("{mx:.1}")) y=(format!("{:.1}", my + 4.0)) font-size="11" fill="#fff" text-anchor="middle" { (members.len()) }
                        }
                    }
                }
            }
            h2 { "Pictures in this view" }
            table {
                tr { th { "picture" } th { "position" } th { "lead" } }
                @for p in cells.values().flatten().take(200) {
                    tr {
                        td { a href={ "/item/" (p.item) } { code { (p.source) ":" (p.path) } } }
                        td { (words::number(p.latitude)) ", " (words::number(p.longitude)) }
                        td { @if let Some(l) = &p.lead { a href={ "/lead/" (l) } { code { (l) } } } }
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn observation(kind: &str, value: Value) -> StoredObservation {
        StoredObservation {
            kind: kind.into(),
            analyzer: "test".into(),
            analyzer_version: "1".into(),
            value,
            confidence: 1.0,
            provenance: json!({}),
        }
    }

    #[test]
    fn outlines_share_one_frame_and_fall_back_to_the_decoded_size() {
        let found = outlines(&[
            // No frame of its own: the PDQ observation's size (the decoded picture) is used.
            observation("image.pdq", json!({"width": 800, "height": 600})),
            observation(
                "image.object",
                json!({"label": "truck", "boxes": [{"score": 0.5, "box": [80, 60, 400, 300]}]}),
            ),
            // Found on a picture half the size: scaled up to the first frame.
            observation(
                "image.faces",
                json!({"frame": [400, 300], "faces": [{"score": 0.9, "box": [10, 20, 30, 40]}]}),
            ),
            observation(
                "image.text",
                json!({"frame": [800, 600], "lines": [{"text": "PIER 4", "corners": [[1, 2], [50, 2], [50, 9], [1, 9]]}]}),
            ),
            observation("image.exif", json!({"Make": "NIKON"})),
        ])
        .expect("outlines");
        assert_eq!((found.width, found.height), (800.0, 600.0));
        type Drawn<'a> = (&'a str, &'a str, Vec<(f64, f64)>);
        let shapes: Vec<Drawn> = found
            .shapes
            .iter()
            .map(|s| (s.class, s.label.as_str(), s.points.clone()))
            .collect();
        assert_eq!(
            shapes,
            vec![
                (
                    "o-object",
                    "truck 0.50",
                    vec![(80.0, 60.0), (400.0, 60.0), (400.0, 300.0), (80.0, 300.0)]
                ),
                (
                    "o-face",
                    "face 0.90",
                    vec![(20.0, 40.0), (60.0, 40.0), (60.0, 80.0), (20.0, 80.0)]
                ),
                (
                    "o-text",
                    "PIER 4",
                    vec![(1.0, 2.0), (50.0, 2.0), (50.0, 9.0), (1.0, 9.0)]
                ),
            ]
        );
        // Nothing found, or no size to draw in: no outlines.
        assert!(outlines(&[observation("image.pdq", json!({"width": 8, "height": 8}))]).is_none());
        assert!(
            outlines(&[observation(
                "image.object",
                json!({"label": "car", "boxes": [{"box": [1, 2, 3, 4]}]})
            )])
            .is_none()
        );
    }
}
