//! The players: what each side answers, and the loops that play it
//! against a referee.
//!
//! - [`client`]: the [`client::RefereeApi`] a player talks to, the HTTP
//!   client and the loops that play a [`player::Player`];
//! - [`wire`]: the JSON messages between players and the referee;
//! - [`player`]: strategies, honest and dishonest, and the move they make;
//! - [`timeline`]: the honest player's roots on demand (checkpoints and replay);
//! - [`local`]: a game played in memory (tests, benches);
//! - [`demo`]: a whole dispute in one process, over loopback HTTP.

pub mod client;
pub mod demo;
pub mod local;
pub mod player;
pub mod timeline;
pub mod wire;
