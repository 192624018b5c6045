//! The bisection game that settles a disputed claim.
//!
//! - [`claim`]: what a defender claims about a run;
//! - [`levels`]: the list of bisection levels (A-steps, then micro-steps);
//! - [`rules`]: the game as a pure state machine (turns, hand-overs, the
//!   final proof), shared by the referee and the offline checker;
//! - [`timeline`]: the honest player's roots on demand (checkpoints and replay);
//! - [`player`]: strategies, honest and dishonest, and the move they make;
//! - [`local`]: a game played in memory (tests, benches);
//! - [`transcript`]: the record of a finished game and its offline check;
//! - [`referee`] (with [`store`], its durable log, and [`http`], its HTTP
//!   service), [`wire`], [`client`]: the referee over HTTP/JSON, its
//!   messages and the players' client;
//! - [`demo`]: a whole dispute in one process, over loopback HTTP;
//! - [`strict`]: strict JSON reading (no duplicate keys) of game documents.
//! - [`web`]: the live view, HTML pages of the games for people.

pub mod claim;
pub mod client;
pub mod demo;
pub mod http;
pub mod levels;
pub mod local;
pub mod player;
pub mod policy;
pub mod referee;
pub mod rules;
pub mod store;
pub mod strict;
pub mod timeline;
pub mod transcript;
pub mod web;
pub mod wire;
