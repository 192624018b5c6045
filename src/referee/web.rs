//! The live view: HTML and SVG pages of the referee's claims and their
//! disputes, for people.
//!
//! - `GET /`: every claim with its status (open, stands, refuted), the
//!   time left of its challenge window, and its disputes with their phase,
//!   who is to move and both clocks;
//! - `GET /games/ID/view`: one claim and its disputes;
//! - `GET /games/ID/disputes/K/view`: one dispute, the bisection drawn
//!   round by round on every level (the interval, the midpoint root and
//!   the challenger's verdict), the agreed and disputed roots, the final
//!   proof's verdict, and every move.
//!
//! The pages are rendered on the server by pure functions ([`index_page`],
//! [`claim_page`], [`game_page`]: the views and moves of the JSON API in,
//! an HTML string out). A small inline script keeps them live: the dispute
//! page long-polls `GET /games/ID/disputes/K?after_seq=N&wait_ms=M` and
//! swaps in the re-rendered page when a move arrives (counting the swaps
//! in `data-updates`, which the browser test reads); the index and claim
//! pages reload their `#live` part every two seconds. No build step, no
//! external resource; every string from a game (a claim's status is the
//! defender's text) is escaped, and [`HEADERS`] forbid anything but the
//! page's own inline style and script and requests to its own origin.

use crate::hash::Hash;
use crate::players::wire::{ClaimStatus, ClaimView, View};
use crate::referee::Referee;
use crate::rules::levels::{Level, LevelKind};
use crate::rules::transcript::Record;
use crate::rules::{Move, Outcome, Phase, Side};
use std::fmt::Write;

/// Headers of every page: HTML, and a policy that allows only the page's
/// own inline style and script, talking to its own origin. Names are in
/// lower case, as HTTP/2 and `hyper`'s static names want them.
pub const HEADERS: &[(&str, &str)] = &[
    ("content-type", "text/html; charset=utf-8"),
    (
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; \
         connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("cache-control", "no-store"),
];

/// The most claims the index shows (the newest).
pub const MAX_INDEX: usize = 100;

/// The most disputes of one claim the index shows.
pub const MAX_INDEX_DISPUTES: usize = 10;

/// A page of the live view, as routed from a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Page {
    /// `/`: every claim.
    Index,
    /// `/games/ID/view`: one claim and its disputes.
    Claim(String),
    /// `/games/ID/disputes/K/view`: one dispute's bisection.
    Dispute(String, u64),
}

impl Page {
    /// The page at `path`, or `None` if `path` is not a page (the JSON
    /// API answers it). Cheap: no game is read.
    pub fn route(path: &str) -> Option<Page> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        match parts.as_slice() {
            [""] => Some(Page::Index),
            ["games", id, "view"] => Some(Page::Claim(id.to_string())),
            ["games", id, "disputes", n, "view"] => {
                Some(Page::Dispute(id.to_string(), n.parse().ok()?))
            }
            _ => None,
        }
    }

    /// Renders the page from `referee`'s games: its HTTP status and HTML.
    pub fn render(&self, referee: &Referee) -> (u16, String) {
        match self {
            Page::Index => {
                // The newest claims first, a bounded page, a few disputes each.
                let shown: Vec<ClaimRow> = referee
                    .list_page(None, MAX_INDEX)
                    .iter()
                    .filter_map(|s| claim_row(referee, &s.id, MAX_INDEX_DISPUTES).ok())
                    .collect();
                (200, index_page(&shown))
            }
            Page::Claim(id) => match claim_row(referee, id, MAX_DISPUTES_SHOWN) {
                Ok(row) => (200, claim_page(&row)),
                Err(e) => (e.status, error_page(e.status, &e.reason)),
            },
            // The moves only (a dispute has a bounded number of them), not
            // the transcript with its program and input.
            Page::Dispute(id, n) => match referee
                .view(id, *n, None)
                .and_then(|v| Ok((v, referee.moves(id, *n)?)))
            {
                Ok((v, moves)) => (200, game_page(&v, &moves)),
                Err(e) => (e.status, error_page(e.status, &e.reason)),
            },
        }
    }
}

/// A claim with the view of each of its disputes (at most
/// [`MAX_DISPUTES_SHOWN`] of them).
pub type ClaimRow = (ClaimView, Vec<View>);

/// The most disputes of one claim a page shows.
pub const MAX_DISPUTES_SHOWN: usize = 100;

fn claim_row(
    referee: &Referee,
    id: &str,
    most: usize,
) -> Result<ClaimRow, crate::referee::Refusal> {
    referee.claim_with_views(id, most)
}

/// One round of a level's bisection, in positions of the level (units of
/// `2^unit_log2` steps).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Round {
    /// Agreed end of the interval.
    pub lo: u64,
    /// Disputed end.
    pub hi: u64,
    /// Its parts: `min(k, hi - lo)`.
    pub parts: u64,
    /// The defender's roots between the parts, once posted.
    pub roots: Vec<Hash>,
    /// The part the challenger picked (the first it disputes), once it has.
    pub part: Option<u64>,
}

impl Round {
    fn new(lo: u64, hi: u64, k: u32) -> Round {
        Round {
            lo,
            hi,
            parts: (k as u64).min(hi - lo).max(1),
            roots: Vec::new(),
            part: None,
        }
    }

    /// The units of one part.
    pub fn step(&self) -> u64 {
        (self.hi - self.lo) / self.parts.max(1)
    }

    /// The interval of part `i`.
    pub fn part_interval(&self, i: u64) -> (u64, u64) {
        let step = self.step();
        (self.lo + i * step, self.lo + (i + 1) * step)
    }
}

/// One level's bisection so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LevelRounds {
    /// Level index.
    pub level: usize,
    /// A-steps or micro-steps.
    pub kind: LevelKind,
    /// log2 of the level's units.
    pub log2: u32,
    /// Fan-out.
    pub k: u32,
    /// Absolute step (A-step, or micro-step of A-step `t`) of position 0.
    pub base: u64,
    /// log2 of the steps in one unit.
    pub unit_log2: u32,
    /// The disputed A-step (micro levels).
    pub t: Option<u64>,
    /// The rounds, the latest last.
    pub rounds: Vec<Round>,
}

impl LevelRounds {
    /// The interval after the latest round (the level's last interval
    /// once it is done).
    pub fn interval(&self) -> (u64, u64) {
        match self.rounds.last() {
            Some(r) => match r.part {
                Some(p) => r.part_interval(p),
                None => (r.lo, r.hi),
            },
            None => (0, 0),
        }
    }

    /// The absolute step of a position.
    pub fn absolute(&self, position: u64) -> u64 {
        self.base
            .saturating_add(position.checked_shl(self.unit_log2).unwrap_or(u64::MAX))
    }
}

/// The bisection, level by level, rebuilt from the moves (as the referee
/// plays them: a challenge opens level 0; each dissection splits the
/// interval into parts, each pick keeps the part picked; an interval of
/// one unit hands over to the next level).
pub fn rounds(levels: &[Level], moves: &[Record]) -> Vec<LevelRounds> {
    let unit_log2 = |i: usize| -> u32 {
        levels
            .iter()
            .skip(i + 1)
            .filter(|l| l.kind == levels[i].kind)
            .map(|l| l.log2)
            .sum()
    };
    let open = |i: usize, base: u64, t: Option<u64>| -> Option<LevelRounds> {
        let l = levels.get(i)?;
        let hi = 1u64.checked_shl(l.log2).unwrap_or(u64::MAX);
        Some(LevelRounds {
            level: i,
            kind: l.kind,
            log2: l.log2,
            k: l.k,
            base,
            unit_log2: unit_log2(i),
            t,
            rounds: vec![Round::new(0, hi, l.k)],
        })
    };
    let mut out: Vec<LevelRounds> = Vec::new();
    for r in moves {
        match &r.mv {
            Move::Challenge { .. } if out.is_empty() => out.extend(open(0, 0, None)),
            Move::Dissect { roots, .. } => {
                if let Some(round) = out.last_mut().and_then(|l| l.rounds.last_mut()) {
                    round.roots = roots.clone();
                }
            }
            Move::Pick { part, .. } => {
                let Some(level) = out.last_mut() else {
                    continue;
                };
                let Some(round) = level.rounds.last_mut() else {
                    continue;
                };
                let part = (*part).min(round.parts - 1);
                round.part = Some(part);
                let (lo, hi) = round.part_interval(part);
                if hi - lo > 1 {
                    level.rounds.push(Round::new(lo, hi, level.k));
                    continue;
                }
                // One unit left: the next level bisects it.
                let at = level.absolute(lo);
                let (i, kind, t) = (level.level, level.kind, level.t);
                let next = match levels.get(i + 1) {
                    Some(n) if n.kind == kind => open(i + 1, at, t),
                    Some(_) => open(i + 1, 0, Some(at)),
                    None => None,
                };
                out.extend(next);
            }
            _ => {}
        }
    }
    out
}

/// Escapes text for HTML (content and quoted attributes).
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// A hash shortened for a drawing, the whole of it in a tooltip.
fn short(h: &Hash) -> String {
    let hex = h.to_hex();
    format!(
        "<span class=\"hash\" title=\"{hex}\">{}…</span>",
        &hex[..10]
    )
}

/// `m:ss` of a clock.
fn clock(ms: u64) -> String {
    let s = ms / 1000;
    format!("{}:{:02}", s / 60, s % 60)
}

fn unit_name(k: LevelKind) -> &'static str {
    match k {
        LevelKind::Steps => "A-step",
        LevelKind::Micro => "micro-step",
    }
}

fn kind_name(k: LevelKind) -> &'static str {
    match k {
        LevelKind::Steps => "A-steps",
        LevelKind::Micro => "micro-steps",
    }
}

/// The phase in a few words.
fn phase_text(v: &View) -> String {
    match &v.game.phase {
        Phase::Open => "open: no challenge yet".into(),
        Phase::Bisect(b) => format!(
            "bisecting level {} ({}) between {} and {}",
            b.level,
            kind_name(b.kind),
            b.absolute(b.lo),
            b.absolute(b.hi)
        ),
        Phase::Prove(d) => format!("awaiting the proof of micro-step {} of A-step {}", d.j, d.t),
        Phase::Done(o) => format!(
            "over: the {} wins {}",
            o.winner(),
            match o {
                Outcome::Proof { .. } => "by the step proof",
                Outcome::Timeout { .. } => "on time",
            }
        ),
    }
}

/// Who is to move, in words.
fn to_move(v: &View) -> String {
    if v.game.is_over() {
        return "nobody".into();
    }
    format!("the {}: {}", v.game.turn, v.waiting_for)
}

fn clock_cell(v: &View, side: Side) -> String {
    let ms = match side {
        Side::Defender => v.time_left_ms.defender,
        Side::Challenger => v.time_left_ms.challenger,
    };
    let running = !v.game.is_over() && v.game.turn == side;
    format!(
        "<span class=\"clock{}\" data-clock-ms=\"{ms}\" data-running=\"{}\">{}</span>",
        if running { " running" } else { "" },
        u8::from(running),
        clock(ms)
    )
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}\
.hash{font-family:monospace}.clock{font-family:monospace}.running{color:#b00;font-weight:bold}\
.status.stands{color:#070;font-weight:bold}.status.refuted{color:#b00;font-weight:bold}.status.open{color:#850}\
.level{margin:1em 0}.verdict{font-size:1.2em;font-weight:bold}svg text{font:11px system-ui,sans-serif}\
.legend span{display:inline-block;width:1em;height:1em;vertical-align:middle;margin:0 .3em 0 1em}";

/// Reloads the page's `#live` element every two seconds.
const REFRESH_SCRIPT: &str = "(function(){function r(){fetch(location.pathname).then(function(x){return x.text()}).then(function(h){\
var t=new DOMParser().parseFromString(h,'text/html').getElementById('live');\
var o=document.getElementById('live');if(t&&o){o.replaceWith(t)}}).then(function(){setTimeout(r,2000)},function(){setTimeout(r,5000)})}\
setTimeout(r,2000)})();";

const GAME_SCRIPT: &str = "(function(){\
function f(ms){var s=Math.floor(ms/1000),m=Math.floor(s/60);s%=60;return m+':'+(s<10?'0':'')+s}\
setInterval(function(){document.querySelectorAll('[data-running=\"1\"]').forEach(function(c){\
var ms=Math.max(0,Number(c.dataset.clockMs)-1000);c.dataset.clockMs=String(ms);c.textContent=f(ms)})},1000);\
function el(){return document.getElementById('game')}\
function poll(){var g=el();if(!g||g.dataset.over==='1')return;var p='/games/'+encodeURIComponent(g.dataset.id)+'/disputes/'+Number(g.dataset.dispute),seq=Number(g.dataset.seq);\
fetch(p+'?after_seq='+seq+'&wait_ms=25000').then(function(r){if(!r.ok)throw r.status;return r.json()})\
.then(function(v){if(v.game.seq>seq||v.game.phase.phase==='done'){return fetch(p+'/view')\
.then(function(r){return r.text()}).then(function(h){var n=new DOMParser().parseFromString(h,'text/html').getElementById('game');\
if(n){n.dataset.updates=String(Number(g.dataset.updates||0)+1);g.replaceWith(n)}})}}).then(function(){setTimeout(poll,50)},function(){setTimeout(poll,2000)})}\
poll()})();";

fn html(title: &str, body: &str, script: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width\"><title>{}</title>\
<style>{STYLE}</style></head><body>\n{body}\n<script>{script}</script></body></html>\n",
        esc(title)
    )
}

/// `m:ss` left of a claim's challenge window, or "closed" (also for a
/// claim already decided: no dispute can change it any more).
fn window_text(c: &ClaimView) -> String {
    if c.window_left_ms == 0 || c.status != ClaimStatus::Open {
        "closed".into()
    } else {
        format!("{} left", clock(c.window_left_ms))
    }
}

/// The CSS class of a claim's status: a claim that stands and one that is
/// refuted look different at a glance.
fn status_class(s: ClaimStatus) -> &'static str {
    match s {
        ClaimStatus::Open => "open",
        ClaimStatus::Stands => "stands",
        ClaimStatus::Refuted => "refuted",
    }
}

/// A claim's status as a table cell, coloured by [`status_class`].
fn status_cell(c: &ClaimView) -> String {
    format!(
        "<td class=\"status {}\">{}</td>",
        status_class(c.status),
        c.status
    )
}

/// One line per dispute: its link, phase, who is to move and both clocks.
fn dispute_items(c: &ClaimView, views: &[View]) -> String {
    if views.is_empty() {
        return if c.window_left_ms == 0 {
            "none: no dispute was opened in the window".into()
        } else {
            "none yet".into()
        };
    }
    let id = esc(&c.id);
    let mut b = String::from("<ul class=\"disputes\">");
    for v in views {
        let _ = write!(
            b,
            "<li class=\"dispute\" data-dispute=\"{n}\"><a href=\"/games/{id}/disputes/{n}/view\">dispute {n}</a>: \
<span class=\"phase\">{}</span>; {} moves; to move: {}; defender {} · challenger {}</li>",
            esc(&phase_text(v)),
            v.game.seq,
            esc(&to_move(v)),
            clock_cell(v, Side::Defender),
            clock_cell(v, Side::Challenger),
            n = v.dispute,
        );
    }
    let total = (c.disputes_total as usize).max(c.disputes.len());
    if total > views.len() {
        let _ = write!(
            b,
            "<li>and {} more (JSON: <code>GET /games/{id}?disputes_from=K</code>, 100 a page)</li>",
            total - views.len()
        );
    }
    b.push_str("</ul>");
    b
}

/// The claim in one line: `2^b` steps, the final root, the defender's status text.
fn claim_text(c: &ClaimView) -> String {
    format!(
        "2<sup>{}</sup> A-steps end in {} ({}{})",
        c.claim.b,
        short(&c.claim.final_root),
        esc(&c.claim.status),
        c.claim
            .halted_after
            .map_or(String::new(), |h| format!(", halted after {h} steps"))
    )
}

/// The index: every claim with its status, the time left of its challenge
/// window, and its disputes with their phase, who is to move and clocks.
pub fn index_page(claims: &[ClaimRow]) -> String {
    let mut b = String::from(
        "<h1>mswap referee</h1>\n<table id=\"live\">\n<tr><th>claim</th><th>status</th><th>challenge window</th><th>what it says</th><th>disputes</th></tr>\n",
    );
    if claims.is_empty() {
        b.push_str("<tr><td colspan=\"5\">no claims yet</td></tr>\n");
    }
    for (c, views) in claims {
        let id = esc(&c.id);
        let _ = writeln!(
            b,
            "<tr class=\"claim\" data-id=\"{id}\"><td><a href=\"/games/{id}/view\">{id}</a></td>\
{}<td>{}</td><td>{}</td><td>{}</td></tr>",
            status_cell(c),
            window_text(c),
            claim_text(c),
            dispute_items(c, views),
        );
    }
    b.push_str(
        "</table>\n<p>A claim stands if no dispute is opened in its window, or if the defender wins every dispute. \
Each dispute's page draws its bisection as it narrows. JSON: <code>GET /games</code>.</p>",
    );
    html("mswap referee", &b, REFRESH_SCRIPT)
}

/// One claim: what it says, its status and window, and its disputes.
pub fn claim_page(row: &ClaimRow) -> String {
    let (c, views) = row;
    let id = esc(&c.id);
    let mut b = format!("<p><a href=\"/\">all claims</a></p>\n<h1>claim {id}</h1>\n");
    let _ = writeln!(
        b,
        "<p class=\"claim\">Program {} on input {}: {}. Initial root {}.</p>",
        short(&c.claim.program),
        short(&c.claim.input),
        claim_text(c),
        short(&c.initial_root),
    );
    let _ = writeln!(
        b,
        "<div id=\"live\"><table class=\"state\"><tr><th>status</th><td id=\"status\" class=\"status {}\">{}</td></tr>\
<tr><th>challenge window</th><td>{}</td></tr><tr><th>disputes</th><td>{}</td></tr></table></div>",
        status_class(c.status),
        c.status,
        window_text(c),
        dispute_items(c, views),
    );
    html(&format!("mswap claim {}", c.id), &b, REFRESH_SCRIPT)
}

/// The width of the drawing, its bar's left edge and width.
const SVG_W: u64 = 760;
const BAR_X: u64 = 80;
const BAR_W: u64 = 660;
const ROW_H: u64 = 50;

/// One level's rounds as SVG: each row is that round's interval drawn
/// full width and split into its parts; the parts before the picked one
/// are green (agreed), the picked part red (disputed: the next round's
/// interval), the parts after it grey (dropped); the thin line above shows
/// where the interval lies within the whole level.
fn level_svg(l: &LevelRounds, current: bool) -> String {
    let h = 10 + ROW_H * l.rounds.len() as u64;
    let mut s = format!(
        "<svg class=\"bisection\" width=\"{SVG_W}\" height=\"{h}\" viewBox=\"0 0 {SVG_W} {h}\" role=\"img\" aria-label=\"level {} bisection\">",
        l.level
    );
    let span = 1u64.checked_shl(l.log2).unwrap_or(u64::MAX) as f64;
    let last = l.rounds.len().saturating_sub(1);
    for (r, round) in l.rounds.iter().enumerate() {
        let y = 6 + ROW_H * r as u64;
        let x0 = BAR_X as f64 + BAR_W as f64 * round.lo as f64 / span;
        let w = (BAR_W as f64 * (round.hi - round.lo) as f64 / span).max(2.0);
        let _ = write!(
            s,
            "<g class=\"round\" data-round=\"{r}\" data-parts=\"{}\"><text x=\"4\" y=\"{}\">round {}</text>\
<rect x=\"{BAR_X}\" y=\"{y}\" width=\"{BAR_W}\" height=\"3\" fill=\"#ddd\"/>\
<rect x=\"{x0:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"3\" fill=\"#c62828\"/>",
            round.parts,
            y + 16,
            r + 1,
        );
        let part_w = BAR_W as f64 / round.parts as f64;
        for i in 0..round.parts {
            let (fill, word) = match round.part {
                Some(p) if i < p => ("#c8e6c9", "agreed"),
                Some(p) if i == p => ("#ffcdd2", "disputed"),
                Some(_) => ("#eeeeee", "dropped"),
                None => ("#e3f2fd", ""),
            };
            let x = BAR_X as f64 + part_w * i as f64;
            let _ = write!(
                s,
                "<rect class=\"part\" x=\"{x:.1}\" y=\"{}\" width=\"{part_w:.1}\" height=\"18\" fill=\"{fill}\" stroke=\"#888\"><title>{word} [{}, {}]</title></rect>",
                y + 6,
                l.absolute(round.part_interval(i).0),
                l.absolute(round.part_interval(i).1),
            );
            // Words where they fit (a round of up to 4 parts), and always
            // on the disputed part.
            if !word.is_empty() && (round.parts <= 4 || Some(i) == round.part) {
                let _ = write!(
                    s,
                    "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{word}</text>",
                    x + part_w / 2.0,
                    y + 19
                );
            }
        }
        let roots = match round.roots.as_slice() {
            [] if current && r == last => " (awaiting the defender)".to_string(),
            [] => String::new(),
            [one] => format!(" root {}…", &one.to_hex()[..8]),
            many => format!(" {} roots", many.len()),
        };
        let _ = write!(
            s,
            "<text x=\"{BAR_X}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{} parts of {}{roots}</text>\
<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text></g>",
            y + 37,
            l.absolute(round.lo),
            BAR_X + BAR_W / 2,
            y + 37,
            round.parts,
            round.step(),
            BAR_X + BAR_W,
            y + 37,
            l.absolute(round.hi),
        );
    }
    s.push_str("</svg>");
    s
}

/// One game: claim, clocks, the bisection on every level, the verdict and the moves.
pub fn game_page(v: &View, moves: &[Record]) -> String {
    let g = &v.game;
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<p><a href=\"/\">all claims</a> · <a href=\"/games/{id}/view\">claim {id}</a></p>\n\
<main id=\"game\" data-id=\"{id}\" data-dispute=\"{n}\" data-seq=\"{}\" data-over=\"{}\">\n<h1>claim {id}, dispute {n}</h1>",
        g.seq,
        u8::from(g.is_over()),
        id = esc(&v.id),
        n = v.dispute,
    );
    let _ = writeln!(
        b,
        "<p class=\"claim\">Claim: program {} on input {}, 2<sup>{}</sup> A-steps end in root {} ({}{}).</p>",
        short(&g.claim.program),
        short(&g.claim.input),
        g.claim.b,
        short(&g.claim.final_root),
        esc(&g.claim.status),
        g.claim
            .halted_after
            .map_or(String::new(), |h| format!(", halted after {h} steps"))
    );
    let _ = writeln!(
        b,
        "<table class=\"state\"><tr><th>phase</th><td id=\"phase\">{}</td></tr>\
<tr><th>to move</th><td id=\"to-move\">{}</td></tr>\
<tr><th>clocks</th><td>defender {} · challenger {}</td></tr>\
<tr><th>moves</th><td>{}</td></tr></table>",
        esc(&phase_text(v)),
        esc(&to_move(v)),
        clock_cell(v, Side::Defender),
        clock_cell(v, Side::Challenger),
        g.seq
    );
    // Agreed and disputed roots of the current interval.
    match &g.phase {
        Phase::Bisect(bi) => {
            let _ = writeln!(
                b,
                "<p id=\"roots\">Agreed: root {} at {} {}. Disputed: the defender's root {} at {} {}.</p>",
                short(&bi.lo_root),
                unit_name(bi.kind),
                bi.absolute(bi.lo),
                short(&bi.hi_root),
                unit_name(bi.kind),
                bi.absolute(bi.hi)
            );
        }
        Phase::Prove(d) => {
            let _ = writeln!(
                b,
                "<p id=\"roots\">Agreed: root {} before micro-step {} of A-step {}. Disputed: the defender's root {} after it. Either side may now submit its one-step proof.</p>",
                short(&d.root_before),
                d.j,
                d.t,
                short(&d.root_after)
            );
        }
        Phase::Open => {
            let _ = writeln!(
                b,
                "<p id=\"roots\">Agreed: the initial root {} (the referee computed it). Claimed: the final root {}.</p>",
                short(&g.initial_root),
                short(&g.claim.final_root)
            );
        }
        Phase::Done(_) => {}
    }
    let levels = rounds(&g.levels, moves);
    b.push_str("<p class=\"legend\">Each row is one round's interval, split into its parts:<span style=\"background:#c8e6c9\"></span>agreed<span style=\"background:#ffcdd2\"></span>disputed (the next round's interval)<span style=\"background:#eee\"></span>dropped<span style=\"background:#e3f2fd\"></span>awaiting a move; the thin line marks the interval within the whole level.</p>\n");
    for (i, lv) in g.levels.iter().enumerate() {
        let _ = write!(
            b,
            "<section class=\"level\" id=\"level-{i}\"><h2>Level {i}: 2<sup>{}</sup> {}, {} parts a round</h2>",
            lv.log2,
            kind_name(lv.kind),
            lv.k
        );
        match levels.iter().find(|l| l.level == i) {
            Some(l) => {
                if let Some(t) = l.t {
                    let _ = write!(b, "<p>Within A-step {t}.</p>");
                }
                let current = levels.last().is_some_and(|x| x.level == i)
                    && matches!(g.phase, Phase::Bisect(_));
                b.push_str(&level_svg(l, current));
            }
            None => b.push_str("<p>not reached</p>"),
        }
        b.push_str("</section>\n");
    }
    let verdict = match &g.phase {
        Phase::Done(Outcome::Proof {
            winner,
            by,
            computed,
        }) => format!(
            "The step proof (submitted by the {by}) leads to root {}, {}: the {winner} wins.",
            short(computed),
            if *winner == Side::Defender {
                "the defender's root"
            } else {
                "not the defender's root"
            }
        ),
        Phase::Done(Outcome::Timeout { winner }) => {
            format!("The {} ran out of time: the {winner} wins.", winner.other())
        }
        _ => "No verdict yet.".into(),
    };
    let _ = writeln!(b, "<p class=\"verdict\" id=\"verdict\">{verdict}</p>");
    b.push_str("<h2>Moves</h2>\n<table id=\"moves\"><tr><th>#</th><th>side</th><th>move</th><th>where</th><th>root</th><th>at</th></tr>\n");
    let start = moves.first().map_or(0, |m| m.time_ms);
    for r in moves {
        let (place, root) = match &r.mv {
            Move::Challenge { root } => ("the final state".to_string(), short(root)),
            Move::Dissect {
                level,
                position,
                roots,
            } => (
                place(&levels, *level, *position),
                match roots.as_slice() {
                    [one] => short(one),
                    _ => format!("{} roots", roots.len()),
                },
            ),
            Move::Pick {
                level,
                position,
                part,
            } => (
                format!("part {part}, {}", place(&levels, *level, *position)),
                String::new(),
            ),
            Move::Proof { .. } => ("the disputed micro-step".to_string(), String::new()),
        };
        let _ = writeln!(
            b,
            "<tr class=\"move\" data-seq=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{root}</td><td>+{:.1} s</td></tr>",
            r.seq,
            r.seq,
            r.side,
            r.mv.name(),
            esc(&place),
            r.time_ms.saturating_sub(start) as f64 / 1000.0
        );
    }
    b.push_str("</table>\n</main>");
    html(
        &format!("mswap claim {}, dispute {}", v.id, v.dispute),
        &b,
        GAME_SCRIPT,
    )
}

/// "level 0, A-step 48" for a move's place.
fn place(levels: &[LevelRounds], level: usize, position: u64) -> String {
    match levels.iter().find(|l| l.level == level) {
        Some(l) => format!(
            "level {level}, {} {}{}",
            unit_name(l.kind),
            l.absolute(position),
            l.t.map_or(String::new(), |t| format!(" of A-step {t}"))
        ),
        None => format!("level {level}, position {position}"),
    }
}

/// A refusal as a page.
pub fn error_page(status: u16, reason: &str) -> String {
    html(
        "mswap referee",
        &format!(
            "<p><a href=\"/\">all claims</a></p><h1>{status}</h1><p id=\"error\">{}</p>",
            esc(reason)
        ),
        "",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::players::wire::Clocks;
    use crate::rules::transcript::Transcript;

    fn example() -> Transcript {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/proofs/transcript.json");
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    /// A game over the default k-ary levels (the verifier's fixture).
    fn k_ary_example() -> Transcript {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/verify/tests/fixtures/hello.transcript.json"
        );
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    /// The view of `t` after its first `n` moves, as the referee serves it.
    fn view_after(t: &Transcript, n: usize) -> View {
        let mut g = t.start(&crate::elf::image_of(&t.program).unwrap()).unwrap();
        for r in &t.moves[..n] {
            g.apply(r.side, r.seq, &r.mv, r.time_ms).unwrap();
        }
        View {
            id: t.game.clone(),
            dispute: 1,
            time_left_ms: Clocks {
                defender: g.clock_ms[0],
                challenger: g.clock_ms[1],
            },
            waiting_for: g.waiting_for(),
            challenged: n > 0,
            recent: Vec::new(),
            game: g,
            queued: false,
        }
    }

    #[test]
    fn the_rounds_follow_the_rules_at_every_move() {
        for t in [example(), k_ary_example()] {
            rounds_follow_the_rules(&t);
        }
        // The k-ary game's rounds are drawn in their parts.
        let t = k_ary_example();
        assert!(t.levels.iter().all(|l| l.k > 2));
        let page = game_page(&view_after(&t, t.moves.len()), &t.moves);
        let drawn = rounds(&t.levels, &t.moves);
        let parts: u64 = drawn
            .iter()
            .flat_map(|l| l.rounds.iter().map(|r| r.parts))
            .sum();
        assert_eq!(page.matches("<rect class=\"part\"").count() as u64, parts);
        assert!(parts > 2 * drawn.iter().map(|l| l.rounds.len() as u64).sum::<u64>());
    }

    fn rounds_follow_the_rules(t: &Transcript) {
        let t = t.clone();
        for n in 0..=t.moves.len() {
            let v = view_after(&t, n);
            let levels = rounds(&t.levels, &t.moves[..n]);
            match &v.game.phase {
                Phase::Bisect(b) => {
                    let l = levels.last().expect("a level");
                    let r = l.rounds.last().unwrap();
                    assert_eq!(
                        (l.level, l.base, l.unit_log2, l.t, r.lo, r.hi),
                        (b.level, b.base, b.unit_log2, b.t, b.lo, b.hi),
                        "after {n} moves"
                    );
                    assert_eq!(r.roots, b.roots, "after {n} moves");
                    assert_eq!(r.parts, b.parts(), "after {n} moves");
                }
                Phase::Prove(d) => {
                    let l = levels.last().unwrap();
                    let (lo, hi) = l.interval();
                    assert_eq!((l.t, l.absolute(lo), hi - lo), (Some(d.t), d.j, 1));
                }
                Phase::Open => assert!(levels.is_empty()),
                Phase::Done(_) => assert_eq!(levels.len(), t.levels.len()),
            }
        }
    }

    #[test]
    fn the_game_page_draws_every_round_and_the_verdict() {
        let t = example();
        let v = view_after(&t, t.moves.len());
        let page = game_page(&v, &t.moves);
        let levels = rounds(&t.levels, &t.moves);
        let drawn: usize = levels.iter().map(|l| l.rounds.len()).sum();
        assert_eq!(page.matches("<g class=\"round\"").count(), drawn);
        assert_eq!(
            page.matches("<tr class=\"move\"").count(),
            t.moves.len(),
            "every move listed"
        );
        assert!(page.contains("data-over=\"1\""));
        let Some(Outcome::Proof {
            winner, computed, ..
        }) = &t.outcome
        else {
            panic!("the example ends with a proof");
        };
        assert!(page.contains(&format!("the {winner} wins.")), "{page}");
        assert!(page.contains(&computed.to_hex()));
        // Every level was reached; the micro level names its A-step.
        assert!(!page.contains("not reached"));
        assert!(page.contains(&format!("Within A-step {}.", levels[1].t.unwrap())));
        // Midway: the current round awaits a move, no verdict yet.
        let v = view_after(&t, 3);
        let page = game_page(&v, &t.moves[..3]);
        assert!(page.contains("No verdict yet.") && page.contains("data-over=\"0\""));
        assert!(page.contains("id=\"roots\">Agreed: root "), "{page}");
        assert!(
            page.contains("not reached"),
            "the micro level is not reached yet"
        );
    }

    /// The claim of `t` with `views` as its disputes.
    fn claim_of(t: &Transcript, views: Vec<View>, window_left_ms: u64) -> ClaimRow {
        let c = ClaimView {
            id: t.game.clone(),
            claim: t.claim.clone(),
            levels: t.levels.clone(),
            initial_root: views
                .first()
                .map_or(Hash::default(), |v| v.game.initial_root),
            clock_ms: t.clock_ms,
            created_ms: t.created_ms,
            window_ends_ms: t.created_ms + window_left_ms,
            window_left_ms,
            status: crate::players::wire::ClaimStatus::Open,
            seq: 0,
            disputes_total: views.len() as u64,
            disputes: views
                .iter()
                .map(|v| crate::players::wire::DisputeSummary {
                    dispute: v.dispute,
                    phase: "bisect".into(),
                    seq: v.game.seq,
                    winner: None,
                    outcome: None,
                })
                .collect(),
        };
        (c, views)
    }

    #[test]
    fn the_index_lists_claims_with_their_disputes_clocks_and_who_moves() {
        let t = example();
        let open = view_after(&t, 0);
        let mut mid = view_after(&t, 5);
        mid.dispute = 2;
        let busy = claim_of(&t, vec![open, mid.clone()], 60_000);
        let mut quiet = claim_of(&t, Vec::new(), 0);
        quiet.0.id = "g2".into();
        quiet.0.status = crate::players::wire::ClaimStatus::Stands;
        let page = index_page(&[busy.clone(), quiet]);
        assert_eq!(page.matches("<tr class=\"claim\"").count(), 2);
        assert_eq!(page.matches("<li class=\"dispute\"").count(), 2);
        assert!(page.contains(&format!("href=\"/games/{}/disputes/2/view\"", t.game)));
        assert!(page.contains("open: no challenge yet"));
        assert!(page.contains(&format!("the {}: ", mid.game.turn)));
        assert!(page.contains("data-clock-ms="));
        assert!(page.contains("1:00 left") && page.contains("closed"));
        assert!(page.contains("<td class=\"status stands\">stands</td>"));
        assert!(page.contains("<td class=\"status open\">open</td>"));
        assert!(
            STYLE.contains(".status.stands{color:#070")
                && STYLE.contains(".status.refuted{color:#b00")
        );
        // A claim decided while its window is open has no time left.
        let mut refuted = claim_of(&t, Vec::new(), 60_000);
        refuted.0.status = crate::players::wire::ClaimStatus::Refuted;
        let decided = index_page(&[refuted]);
        assert!(
            !decided.contains(" left<")
                && decided.contains("<td class=\"status refuted\">refuted</td>")
        );
        assert!(page.contains("no dispute was opened in the window"));
        assert!(index_page(&[]).contains("no claims yet"));
        let claim = claim_page(&busy);
        assert_eq!(claim.matches("<li class=\"dispute\"").count(), 2);
        assert!(claim.contains(">open<"));
    }

    #[test]
    fn pages_are_routed_by_path() {
        assert_eq!(Page::route("/"), Some(Page::Index));
        assert_eq!(
            Page::route("/games/g1/view"),
            Some(Page::Claim("g1".into()))
        );
        assert_eq!(
            Page::route("/games/g1/disputes/3/view"),
            Some(Page::Dispute("g1".into(), 3))
        );
        assert_eq!(Page::route("/games/g1/disputes/x/view"), None);
        assert_eq!(Page::route("/games/g1"), None);
        assert_eq!(Page::route("/games"), None);
    }

    #[test]
    fn text_from_a_game_is_escaped() {
        let t = example();
        let mut v = view_after(&t, 0);
        v.game.claim.status = "<script>alert(1)</script>\"'&".into();
        v.id = "g<1>".into();
        let mut row = claim_of(&t, vec![v.clone()], 1000);
        row.0.id = v.id.clone();
        row.0.claim.status = v.game.claim.status.clone();
        for page in [
            index_page(std::slice::from_ref(&row)),
            claim_page(&row),
            game_page(&v, &[]),
        ] {
            assert!(!page.contains("<script>alert"), "{page}");
            assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"));
            assert!(!page.contains("g<1>"));
        }
        assert_eq!(error_page(404, "no <game>").matches("<game>").count(), 0);
    }
}
