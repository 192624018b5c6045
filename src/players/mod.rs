//! The players: what each side answers, and the loops that play it
//! against a referee they know only through [`api::RefereeApi`] (the HTTP
//! service and the chain implement it; nothing here depends on either).
//!
//! - [`api`]: the [`api::RefereeApi`] a player talks to, and its errors;
//! - [`wire`]: the messages between players and the referee, and their limits;
//! - [`player`]: strategies, honest and dishonest, and the move they make;
//! - [`play`]: the loops that play a [`player::Player`] in one dispute, or
//!   in every dispute of a claim through its event feed;
//! - [`narrate`]: one line per move, told from the state it was made in;
//! - [`timeline`]: the honest player's roots on demand (checkpoints and replay);
//! - [`local`]: a game played in memory (tests, benches);
//! - [`demo`]: a whole dispute in one process, on any referee;
//! - [`client`]: re-exports of the interface and loops at their former path.

pub mod api;
pub mod client;
pub mod demo;
pub mod local;
pub mod narrate;
pub mod play;
pub mod player;
pub mod timeline;
pub mod wire;
