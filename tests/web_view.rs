//! The referee's live view in a real browser: Debian's `chromium`, headless,
//! against a referee while a defender and a challenger play (as separate
//! processes). The rendered DOM of the dispute's page must show the moves
//! and the bisection, the page must update itself as moves come in, and screenshots are written
//! to `web-view/` of cargo's test scratch directory (`target/tmp/`) as test artifacts.
//!
//! Without `chromium` on the PATH the test fails, unless
//! `MSWAP_SKIP_CHROMIUM=1` (tests/support/tools.rs).

mod support;

use mswap::referee::client::Client;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::procs::{challenge, defend, referee};
use support::scratch;
use support::tools;

/// Runs headless chromium with `args` (a fresh profile, nothing fetched
/// but the page) and returns its standard output.
fn browse(chromium: &Path, profile: &Path, args: &[&str]) -> String {
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut { out }, &mut s);
        s
    });
    support::cli::wait(&mut child, 120);
    reader.join().unwrap()
}

/// The number in `name="N"` in `html`.
fn attr(html: &str, name: &str) -> Option<u64> {
    let from = html.find(&format!("{name}=\""))? + name.len() + 2;
    html[from..].split('"').next()?.parse().ok()
}

fn is_png(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.len() > 2000 && b.starts_with(b"\x89PNG\r\n\x1a\n"))
}

/// A screenshot of `page` in a window of `size` (`W,H`) to `to`, checked
/// to be a PNG image.
fn screenshot(chromium: &Path, profile: &Path, page: &str, size: &str, to: &Path) {
    browse(
        chromium,
        profile,
        &[
            &format!("--window-size={size}"),
            &format!("--screenshot={}", to.display()),
            page,
        ],
    );
    assert!(is_png(to), "a screenshot at {}", to.display());
}

#[test]
fn the_live_view_shows_a_game_as_it_is_played() {
    let Some(chromium) = tools::need(
        &tools::CHROMIUM,
        module_path!(),
        "the live view in a browser",
    ) else {
        return;
    };
    // Cargo's scratch directory for integration tests, wherever the target directory is.
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-view");
    std::fs::create_dir_all(&artifacts).unwrap();
    let dir = scratch("web");
    let profile = dir.join("chromium-profile");
    let (_referee, url) = referee(&dir.join("data"), "127.0.0.1:0", &[]);
    let transcript = dir.join("t.json");
    // Paced players over binary levels (a long game), so that the browser
    // sees the game in the middle.
    let (defender, id) = defend(
        &url,
        &["from:9:40"],
        &transcript,
        &["--delay-ms", "500", "--levels", "two"],
    );
    let challenger = challenge(&url, &id, &[], &["--delay-ms", "500"]);
    let client = Client::new(&url);
    let t = Instant::now();
    let seq = loop {
        // The dispute exists once the challenger has joined.
        if let Ok(v) = client.view(&id, 1, None, 0)
            && v.game.seq >= 4
        {
            break v.game.seq;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the game does not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let page = format!("{url}/games/{id}/disputes/1/view");
    let claim_page = format!("{url}/games/{id}/view");

    // The page as served, rendered: the moves so far, the bisection drawn.
    let dom = browse(&chromium, &profile, &["--dump-dom", &page]);
    let shown = attr(&dom, "data-seq").expect("the game element");
    assert!(
        shown >= seq,
        "the page shows {shown} moves, the game had {seq}"
    );
    assert_eq!(
        dom.matches("<tr class=\"move\"").count() as u64,
        shown,
        "one row per move:\n{dom}"
    );
    assert!(
        dom.contains(">challenge<") && dom.contains(">dissect<"),
        "{dom}"
    );
    assert!(dom.contains("<g class=\"round\""), "the bisection is drawn");
    assert!(
        dom.contains("level 0, A-step ") && dom.contains("data-parts=\""),
        "the first dissection: {dom}"
    );
    let during = artifacts.join("game-during.png");
    screenshot(&chromium, &profile, &page, "1000,1700", &during);

    // Live: the page's script long-polls and swaps in the moves as they come.
    let dom = browse(
        &chromium,
        &profile,
        &["--virtual-time-budget=30000", "--dump-dom", &page],
    );
    let updates = attr(&dom, "data-updates").unwrap_or(0);
    assert!(updates >= 1, "the page never updated itself:\n{dom}");
    let live_seq = attr(&dom, "data-seq").unwrap();
    assert!(live_seq > shown, "{live_seq} moves after {updates} updates");
    assert_eq!(
        dom.matches("<tr class=\"move\"").count() as u64,
        live_seq,
        "the updated page lists every move"
    );

    let c = challenger.finish(120);
    let d = defender.finish(120);
    assert_eq!((c.code, d.code), (0, 1), "{}\n{}", c.stdout, d.stdout);

    // The finished game: the verdict, and the index with the game.
    let dom = browse(&chromium, &profile, &["--dump-dom", &page]);
    assert!(
        dom.contains("the challenger wins.") && dom.contains("data-over=\"1\""),
        "{dom}"
    );
    let last = artifacts.join("game-final.png");
    screenshot(&chromium, &profile, &page, "1000,2200", &last);
    let index = browse(&chromium, &profile, &["--dump-dom", &format!("{url}/")]);
    assert!(
        index.contains(&format!("href=\"/games/{id}/view\""))
            && index.contains(&format!("href=\"/games/{id}/disputes/1/view\""))
            && index.contains("over: the challenger wins by the step proof")
            && index.contains("<td class=\"status refuted\">refuted</td>"),
        "{index}"
    );
    let claim = browse(&chromium, &profile, &["--dump-dom", &claim_page]);
    assert!(
        claim.contains(&format!("<h1>claim {id}</h1>"))
            && claim.contains("<li class=\"dispute\" data-dispute=\"1\">")
            && claim.contains("refuted"),
        "{claim}"
    );
    let shot = artifacts.join("index.png");
    screenshot(&chromium, &profile, &format!("{url}/"), "1000,500", &shot);
    eprintln!("screenshots: {}", artifacts.display());
    let _ = std::fs::remove_dir_all(dir);
}
