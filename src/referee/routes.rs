//! The referee's JSON endpoints: one request in, `(status, body)` out.

use super::{MAX_PAGE, Referee, Refusal, error_body, refuse};
use crate::players::wire::{Batch, BatchAnswer, CreateGame, DisputeMoves, MoveRequest};
use std::net::IpAddr;

impl Referee {
    /// Answers one HTTP request from `client`: `(status, JSON body)`.
    pub fn handle(
        &self,
        method: &str,
        url: &str,
        body: &[u8],
        client: Option<IpAddr>,
    ) -> (u16, String) {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let param = |name: &str| -> Result<Option<u64>, Refusal> {
            for kv in query.split('&') {
                if let Some(v) = kv.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
                    return v.parse::<u64>().map(Some).map_err(|_| {
                        refuse(
                            400,
                            format!("query parameter {name} must be a number, found {v:?}"),
                        )
                    });
                }
            }
            Ok(None)
        };
        let number = |n: &str| -> Result<u64, Refusal> {
            n.parse::<u64>().map_err(|_| {
                refuse(
                    404,
                    format!("no dispute {n:?}: disputes are numbered 1, 2, ..."),
                )
            })
        };
        let json = |r: Result<String, Refusal>, ok: u16| match r {
            Ok(s) => (ok, s),
            Err(e) => (e.status, error_body(&e.reason)),
        };
        fn to_json<T: serde::Serialize>(v: &T) -> Result<String, Refusal> {
            serde_json::to_string(v).map_err(|e| refuse(500, e.to_string()))
        }
        fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
            crate::rules::strict::from_slice(body)
                .map_err(|e| refuse(400, format!("malformed request: {e}")))
        }
        match (method, parts.as_slice()) {
            ("GET", ["health"]) => (200, "{\"ok\":true}".into()),
            ("GET", ["policy"]) => json(to_json(&self.policy()), 200),
            ("GET", ["games"]) => json(
                param("before").and_then(|before| {
                    let limit = param("limit")?.unwrap_or(MAX_PAGE as u64);
                    to_json(&self.list_page(before, limit.min(MAX_PAGE as u64) as usize))
                }),
                200,
            ),
            ("GET", ["games", id, "events"]) => json(
                param("after").and_then(|after| {
                    param("wait_ms")?;
                    to_json(&self.feed(id, after.unwrap_or(0))?)
                }),
                200,
            ),
            ("POST", ["games", id, "moves"]) => json(
                parse::<Batch>(body)
                    .and_then(|b| self.play_batch(id, b.moves))
                    .and_then(|results| to_json(&BatchAnswer { results })),
                200,
            ),
            ("POST", ["games"]) => json(
                parse::<CreateGame>(body)
                    .and_then(|r| self.create_from(r, client))
                    .and_then(|c| to_json(&c)),
                201,
            ),
            ("GET", ["games", id]) => json(
                param("after_seq")
                    .and_then(|_| param("wait_ms"))
                    .and_then(|_| param("disputes_from"))
                    .and_then(|from| to_json(&self.claim_page(id, from.unwrap_or(1))?)),
                200,
            ),
            ("POST", ["games", id, "join" | "disputes"]) => {
                json(self.join_from(id, client).and_then(|j| to_json(&j)), 201)
            }
            ("GET", ["games", id, "disputes", n]) => json(
                param("after_seq").and_then(|after| {
                    param("wait_ms")?;
                    to_json(&self.view(id, number(n)?, after)?)
                }),
                200,
            ),
            ("GET", ["games", id, "disputes", n, "transcript"]) => json(
                number(n)
                    .and_then(|n| self.transcript(id, n))
                    .and_then(|t| to_json(&t)),
                200,
            ),
            ("GET", ["games", id, "disputes", n, "moves"]) => json(
                number(n)
                    .and_then(|n| {
                        let moves = self.moves(id, n)?;
                        Ok(DisputeMoves { dispute: n, moves })
                    })
                    .and_then(|m| to_json(&m)),
                200,
            ),
            ("POST", ["games", id, "disputes", n, "moves"]) => json(
                parse::<MoveRequest>(body)
                    .and_then(|m| self.play(id, number(n)?, m))
                    .and_then(|v| to_json(&v)),
                200,
            ),
            (
                _,
                ["health" | "games" | "policy"]
                | ["games", _]
                | ["games", _, "join" | "disputes" | "events" | "moves"]
                | ["games", _, "disputes", _]
                | ["games", _, "disputes", _, "transcript" | "moves"],
            ) => json(
                Err(refuse(405, format!("{method} is not allowed on {path}"))),
                200,
            ),
            _ => json(
                Err(refuse(404, format!("no such endpoint: {method} {path}"))),
                200,
            ),
        }
    }
}
